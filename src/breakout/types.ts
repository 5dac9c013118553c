// What the breakout detectors look at and what they return. Reason ids and everything about them
// live in the catalogue (reasons.ts).
import type { Evidence } from '../model/finding.js';
import type { FileId, Namespaces, NsKind } from '../proc/procfs.js';

export { BREAKOUT_REASONS, type BreakoutReason } from './reasons.js';
import type { BreakoutReason } from './reasons.js';

/** One process as read from /proc at one moment. */
export interface ProcessSnapshot {
  pid: number;
  ppid: number;
  /** Clock-tick start time: with the pid, identifies the process across scans (pids are reused). */
  startTime: string;
  name: string;
  exe: string | null;
  /**
   * The task was in do_exit() when read (PF_EXITING): read only when its executable could not be, to
   * tell a process whose memory is already gone from a live one (see isExiting()).
   */
  exiting?: boolean;
  /** The parent's executable, read only when the decision needs it (runtime helper check). */
  parentExe?: string | null;
  /**
   * Device and inode of the executable (stat of /proc/<pid>/exe, which the kernel follows to the file
   * even for a memfd, a deleted file or a detached mount), and of the parent's: read when the runtime
   * helper check needs them. Identity, not a name: a container cannot give its file the host's runc's.
   */
  exeId?: FileId | null;
  parentExeId?: FileId | null;
  /** Seconds since the process started, when the runtime helper check needs it. */
  ageSeconds?: number;
  /**
   * The parent is a container's process (a cgroup member or its lineage): a process a container
   * started can never be the runtime's helper, whatever it runs.
   */
  parentInContainer?: boolean;
  /** How the process was tied to its container: still a member of its cgroups, or by lineage. */
  attributedBy?: 'cgroup' | 'lineage';
  cmdline: string[];
  /** Device (st_dev) of the executable, stat of /proc/<pid>/exe: read for new host processes when polling. */
  exeDevice?: string | null;
  /**
   * The container whose storage directory (upper, lower, merged…) holds the executable, found by the
   * identities (device and inode) of the directories on its path, whatever the path is called (a bind
   * mount of an upper directory elsewhere, say).
   */
  exeStorageOf?: string | null;
  uids: [number, number, number, number];
  capEff: bigint;
  ns: Namespaces;
  /** Container processes, when polled: the root directory (stat of /proc/<pid>/root). */
  root?: FileId | null;
  /** Container processes, when polled: the working directory when it lies outside the process's root. */
  cwdOutsideRoot?: string | null;
}

export interface ContainerIdentity {
  id: string;
  name: string;
  image: string;
}

/** What the detectors need to know about one running container. */
export interface ContainerScope extends ContainerIdentity {
  /** Namespaces of the container's init process. */
  initNs: Namespaces;
  /** Namespaces the container was configured to share with the host (pid=host, network=host…). */
  sharesHost: ReadonlySet<NsKind>;
  /** Container root should be an unprivileged host uid (userns-remap or rootless, not --userns=host). */
  rootRemapped: boolean;
  privileged: boolean;
  /** Capability mask the container was given (kernel bit order). */
  allowedCaps: bigint;
  /** Host paths of the container's filesystem (overlay upper and merged dirs…), no trailing slash. */
  storagePaths: string[];
  /** Device and inode of those directories, when read (in the host reference's mount namespace). */
  storageIds?: FileId[];
  /**
   * Device (st_dev) of the container init's root filesystem, when it has one of its own (overlay and
   * the like; not a plain directory of the host's root filesystem, as with the vfs driver).
   */
  rootDevice?: string;
  /** The container init's root directory (stat of /proc/<init>/root), when read. */
  root?: FileId;
  /** The container init's parent: the container's shim (containerd-shim, conmon), when read. */
  shimPid?: number;
  /** Host paths the container was given: its Mounts' sources, and resolv.conf, hostname and hosts. */
  declaredSources: string[];
  /** The container was given binds or volumes (Mounts): directories of host filesystems it may chroot into. */
  mountsGiven: boolean;
}

export interface HostReference {
  pid: number;
  ns: Namespaces;
  /** The reference process's root directory (the host's "/"), when read. */
  root?: FileId | null;
  /**
   * Device and inode of the host's OCI runtime binaries (runc and the like), found outside every
   * container: what a real `runc init` runs (or is a copy of) and is started by.
   */
  runtimeBinaries?: readonly FileId[];
  /** The same for the shims (containerd-shim, conmon): what reaps a container's init. */
  shimBinaries?: readonly FileId[];
}

export interface BreakoutHit {
  reason: BreakoutReason;
  message: string;
  evidence: Evidence;
  container: ContainerIdentity | null;
}
