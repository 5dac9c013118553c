// Loads the native process-connector addon (native/proc_events.c). It is optional: when it was not
// built, cannot load, or the kernel/capabilities refuse the socket, rootwatch polls /proc instead and
// says why. The addon only receives and decodes; this module only names what it delivers.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Event types the addon counts one by one (linux/cn_proc.h `enum what`); the rest are `other`. */
export const PROC_EVENT_TYPES = ['fork', 'exec', 'uid', 'gid', 'sid', 'ptrace', 'comm', 'coredump', 'exit', 'other'] as const;

export type ProcEventName = (typeof PROC_EVENT_TYPES)[number];

/** Raw facts the addon copied at event time, for processes that may be gone when JS looks. */
export interface RawProcessCapture {
  pid: number;
  /**
   * The event the copy was taken at: a fork (the new child), an exec, a uid change, or `recheck`: the
   * periodic re-read of a container process's namespaces found it moved (setns sends no event), or
   * `audit`: a syscall record of rootwatch's audit rules (src/breakout/auditEvents.ts).
   */
  event: 'fork' | 'exec' | 'uid' | 'recheck' | 'audit';
  /** Namespace inode numbers in NS_KINDS order (mnt, pid, net, ipc, uts, cgroup, user); 0 = unreadable. */
  ns: number[];
  status: string;
  cgroup: string;
  stat: string;
  exe: string;
  parentExe: string;
  /**
   * Device and inode ("dev:ino", decimal) of the executable and of the parent's, copied with the
   * parent's exe (runtime-looking executables only); empty or absent when not read.
   */
  exeId?: string;
  parentExeId?: string;
  /**
   * A host process only: the container storage directory ("dev:ino") found on its executable's path
   * by identity (a bind mount of an upper or lower directory elsewhere), when that is why it was copied.
   */
  storageDir?: string;
  /** NUL-separated, as in /proc/<pid>/cmdline (possibly cut). */
  cmdline: string;
}

export interface ProcEventBatch {
  /** Copies of processes a detector could flag, taken at event time; handed over once. */
  snapshots: RawProcessCapture[];
  /** Cumulative events by type. */
  counts: Record<ProcEventName, number>;
  /** Cumulative: copies the snapshot ring had no room for (those events were not judged). */
  snapshotsDropped: number;
  /** Cumulative: ENOBUFS from the socket (the kernel dropped events; how many is in `lost`). */
  overruns: number;
  /** Cumulative: events the kernel dropped, from the socket's drop counter (at least one per overrun). */
  lost: number;
  received: number;
  /** Cumulative fork/exec/uid outcomes: copied, host processes with nothing to judge, gone before read. */
  copied: number;
  skipped: number;
  /** Cumulative: container fork children in the namespaces of their parent's last copy (not copied). */
  unchanged: number;
  gone: number;
  /**
   * Cumulative, among `gone`: container-side processes (a container's, a runtime's child, a kernel
   * helper's descendant) that exited before they were read and whose namespaces nothing vouches for
   * (no read of them, nor a live parent still in the namespaces it was copied in). A loss.
   */
  lostExited: number;
  /**
   * Cumulative, apart from `lostExited`: execs and uid changes of container processes that were read
   * in their container before, gone before the event was read (a busy container's short execs; also
   * an nsenter without -p whose setns and exec both came after that read).
   */
  lostExecUnread: number;
  /** Cumulative: passes of the periodic namespace re-check, processes it read, processes it found moved (and copied). */
  recheckPasses: number;
  recheckReads: number;
  recheckMoved: number;
  /**
   * Container processes already running when the subscription started, read once and added to the
   * namespace re-check (at the first filter that knows the host's namespaces).
   */
  seeded?: number;
  /** Cumulative: the reader thread's CPU time spent in re-checks, in seconds. */
  recheckCpuSeconds: number;
  /**
   * Now: container processes in the namespace cache after the last re-check pass (live ones, and
   * exited ones kept until their queued events are handled). Absent from an addon built before it.
   */
  namespaceCacheEntries?: number;
  /** The reader thread got real-time priority (SCHED_RR 1); false: nice -10 or the default. */
  realtimeReader: boolean;
  /** Exit events are subscribed (kernels before 6.6, which cannot filter them out). */
  exitEvents: boolean;
}

export interface ProcConnectorAddon {
  /**
   * Subscribe; `onCopies` runs when there are copies to judge or losses to recover from. A small
   * receive buffer is only for tests of the overrun path (default 4 MiB). `realtime` (default true):
   * the reader thread asks for SCHED_RR 1, falling back to nice -10; tests of the overrun path turn
   * it off, since a real-time reader keeps up with a storm even through the smallest buffer.
   * `procRoot` (default /proc): where the host's procfs is mounted (`paths.procfs`); every process
   * the addon reads, it reads through it.
   */
  open(onCopies: () => void, receiveBufferBytes?: number, realtime?: boolean, procRoot?: string): void;
  drain(): ProcEventBatch;
  close(): void;
  /**
   * Host processes are copied only when their exe or command line contains one of the storage
   * prefixes; processes started by an executable with one of the runtime names (basenames) are
   * always read in full, since a runtime moves its children into containers; a container process's
   * fork child in its parent's namespaces, none of them among the host's (inode numbers in NS_KINDS
   * order, 0 = unknown), is not copied again.
   */
  setFilter(storagePrefixes: string[], runtimeNames: string[], hostNamespaces: number[], containerDevices?: string[], storageDirs?: string[]): void;
  /**
   * Watch the mount tables of these processes (containers' inits) with poll(): the kernel marks an
   * open /proc/<pid>/mountinfo when its namespace's table changed. Returns how many are watched.
   * Absent from an addon built before it.
   */
  watchMounts?(pids: number[]): number;
  /** The watched pids whose mount table changed since the last call. */
  mountsChanged?(): number[];
  /** glibc malloc_trim(0): free arena pages back to the system; whether any were. Absent from an addon built before it. */
  trimNativeHeap?(): boolean;
}

/** Mount-table change notification (see ProcConnectorAddon.watchMounts). */
export interface MountWatch {
  watch(pids: readonly number[]): void;
  changed(): Set<number>;
}

/** The addon, or why it is unavailable. Built by `npm run build:native` (node-gyp). */
export function loadProcConnector(): { addon: ProcConnectorAddon | null; reason: string } {
  const candidates = ['../../native/build/Release/proc_events.node', '../../../native/build/Release/proc_events.node'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const path = candidates.find((p) => existsSync(p));
  if (!path) return { addon: null, reason: 'native addon not built (npm run build:native needs g++, make, python3 and Node headers)' };
  try {
    const addon = createRequire(import.meta.url)(path) as Partial<ProcConnectorAddon>;
    // An addon built from older sources (an upgrade without a rebuild) must not be half used.
    const missing = (['open', 'drain', 'close', 'setFilter'] as const).filter((f) => typeof addon[f] !== 'function');
    if (missing.length > 0) return { addon: null, reason: `native addon ${path} is out of date (no ${missing.join(', ')}): run npm run build:native` };
    return { addon: addon as ProcConnectorAddon, reason: `loaded ${path}` };
  } catch (e) {
    return { addon: null, reason: `native addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}
