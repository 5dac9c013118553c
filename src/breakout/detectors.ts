// Pure breakout detectors: a process snapshot (plus what we know of containers and of the host's
// reference namespaces) in, hits out. No I/O here; the scanner reads /proc and calls these.
import { NS_KINDS, sameFile, type FileId, type NsKind } from '../proc/procfs.js';
import { capabilityNames } from './capabilityMask.js';
import { isEngineHelper, isRuntimeHelper } from './runtimeHelpers.js';
import type { BreakoutHit, ContainerIdentity, ContainerScope, HostReference, ProcessSnapshot } from './types.js';

/** Namespaces compared against the host's; `user` is handled by host_root_process. */
const COMPARED: readonly NsKind[] = ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'];

/** A kernel helper already flagged, parent of the process being judged. */
export interface HelperParent {
  pid: number;
  container: ContainerScope;
  /** The container path the helper ran. */
  containerPath: string;
}

/** What the evidence says for a fact that could not be read (a copy taken at event time, a process gone). */
export const UNREADABLE = 'unreadable';

/** kthreadd: the kernel's thread spawner, parent of user-mode helpers (core_pattern, release_agent…). */
export const KTHREADD_PID = 2;

function identity(c: ContainerIdentity): ContainerIdentity {
  return { id: c.id, name: c.name, image: c.image };
}

/**
 * What was read of a process, for the responder. A fact that could not be read (a copy the process
 * connector took of a host process carries no status or namespaces; a process gone mid-read) says
 * "unreadable", never -1 or an empty list that would read like a real value.
 */
export function processEvidence(p: ProcessSnapshot): Record<string, string | number | string[]> {
  const known = NS_KINDS.filter((k) => p.ns[k] !== undefined);
  return {
    pid: p.pid,
    ppid: p.ppid,
    comm: p.name,
    exe: p.exe ?? UNREADABLE,
    cmdline: p.cmdline.length > 0 ? p.cmdline.slice(0, 16).map((a) => a.slice(0, 256)) : UNREADABLE,
    uids: p.uids.some((u) => u < 0) ? UNREADABLE : p.uids.join(' '),
    namespaces: known.length > 0 ? NS_KINDS.map((k) => `${k}=${p.ns[k] ?? UNREADABLE}`) : UNREADABLE,
  };
}

/**
 * A process past exit_mm(): no executable any more and, past exit_task_namespaces(), no mount
 * namespace; or, between the two, flagged PF_EXITING in its stat. It runs no more user code, and what
 * is left of it says nothing about where it ran (runc's short-lived `runc:[1:CHILD]`, read as it
 * exits, still shows the host's pid namespace and runc's full capabilities). A live process always
 * has an executable (rootwatch holds CAP_SYS_PTRACE, so it can read every one).
 */
export function isExiting(p: ProcessSnapshot): boolean {
  return p.exe === null && (p.ns.mnt === undefined || p.exiting === true);
}

/**
 * Checks for one process of a container: a member of one of its cgroups, or attributed to it by
 * lineage (it was a member, or descends from one, and left). Where it moved does not matter.
 */
export function judgeContainerProcess(p: ProcessSnapshot, c: ContainerScope, host: HostReference): BreakoutHit[] {
  if (isExiting(p) || isRuntimeHelper(p, c, host)) return [];
  const hits = judgeContainerFacts(p, c, host);
  // The evidence says how the process was tied to the container when it no longer is a member.
  return p.attributedBy === 'lineage' ? hits.map((h) => ({ ...h, evidence: { ...h.evidence, attributed_by: 'lineage' } })) : hits;
}

function judgeContainerFacts(p: ProcessSnapshot, c: ContainerScope, host: HostReference): BreakoutHit[] {
  const hits: BreakoutHit[] = [];
  const who = identity(c);

  const inHost = COMPARED.filter(
    // Whatever the init's namespaces are now: an init that moved into the host's (setns without exec,
    // before rootwatch first saw it) is the escape, not the reference. What the container shares on
    // purpose comes from its configuration.
    (k) => !c.sharesHost.has(k) && p.ns[k] !== undefined && p.ns[k] === host.ns[k],
  );
  if (inHost.length > 0) {
    hits.push({
      reason: 'host_namespace_process',
      message: `process ${p.pid} (${p.name}) of container ${c.name} is in the host's ${inHost.join(', ')} namespace${inHost.length > 1 ? 's' : ''}`,
      evidence: { ...processEvidence(p), host_namespaces: inHost, host_reference_pid: host.pid, cgroup_of: c.id },
      container: who,
    });
  }

  const rootUid = p.uids[0] === 0 || p.uids[1] === 0;
  if (c.rootRemapped && rootUid && p.ns.user !== undefined && p.ns.user === host.ns.user) {
    hits.push({
      reason: 'host_root_process',
      message: `process ${p.pid} (${p.name}) in container ${c.name} runs as root in the host's user namespace, although the container's root is remapped`,
      evidence: { ...processEvidence(p), host_user_namespace: host.ns.user ?? '', container_user_namespace: c.initNs.user ?? '' },
      container: who,
    });
  }

  const root = judgeRoot(p, c, host);
  if (root) {
    hits.push({
      reason: 'host_root_filesystem',
      message: `process ${p.pid} (${p.name}) of container ${c.name} has ${root === 'host_root' ? 'the host\'s root directory' : 'a directory of the host\'s root filesystem'} as its root, not the container's`,
      evidence: { ...processEvidence(p), root: fileIdText(p.root), container_root: fileIdText(c.root), host_root: fileIdText(host.root), root_is: root, cgroup_of: c.id },
      container: who,
    });
  }

  if (p.cwdOutsideRoot) {
    hits.push({
      reason: 'cwd_outside_root',
      message: `process ${p.pid} (${p.name}) of container ${c.name} works in a directory outside its own root (${p.cwdOutsideRoot}): a leaked host directory (CVE-2024-21626 shape)`,
      evidence: { ...processEvidence(p), cwd: p.cwdOutsideRoot.slice(0, 512), root: fileIdText(p.root), cgroup_of: c.id },
      container: who,
    });
  }

  const extra = c.privileged ? 0n : p.capEff & ~c.allowedCaps;
  if (extra !== 0n) {
    hits.push({
      reason: 'capability_escalation',
      message: `process ${p.pid} (${p.name}) in container ${c.name} holds capabilities the container was not given: ${capabilityNames(extra).join(', ')}`,
      evidence: { ...processEvidence(p), extra_capabilities: capabilityNames(extra), cap_eff: `0x${p.capEff.toString(16)}` },
      container: who,
    });
  }
  return hits;
}

function fileIdText(f: FileId | null | undefined): string {
  return f ? `${f.dev}:${f.ino}` : UNREADABLE;
}

/**
 * Is the process rooted in the host's filesystem rather than its container's? `host_root`: its root
 * is the host's "/" (chroot /proc/<host pid>/root). `host_root_device`: another directory of the
 * host's root filesystem, for a container that was given no binds or volumes (it has no host
 * directory to chroot into). A chroot inside the container's own filesystem is neither.
 */
export function judgeRoot(p: ProcessSnapshot, c: ContainerScope, host: HostReference): 'host_root' | 'host_root_device' | null {
  if (!p.root || !host.root || !c.root || sameFile(p.root, c.root) || sameFile(c.root, host.root)) return null;
  if (sameFile(p.root, host.root)) return 'host_root';
  if (!c.mountsGiven && p.root.dev === host.root.dev && c.root.dev !== host.root.dev) return 'host_root_device';
  return null;
}

/** The container whose filesystem holds `path`, by longest storage-path prefix. */
export function containerOwningPath(path: string, containers: readonly ContainerScope[]): ContainerScope | null {
  let best: ContainerScope | null = null;
  let bestLen = 0;
  for (const c of containers) {
    for (const s of c.storagePaths) {
      if (s.length > bestLen && (path === s || path.startsWith(`${s}/`))) {
        best = c;
        bestLen = s.length;
      }
    }
  }
  return best;
}

/** First of the executable and command-line arguments that lies in a container's filesystem. */
function containerPathIn(p: ProcessSnapshot, containers: readonly ContainerScope[]): { path: string; container: ContainerScope } | null {
  const candidates = [p.exe ?? '', ...p.cmdline].map(undeleted).filter((s) => s.startsWith('/'));
  for (const path of candidates) {
    const c = containerOwningPath(path, containers);
    if (c) return { path, container: c };
  }
  return null;
}

function undeleted(path: string): string {
  return path.replace(/ \(deleted\)$/, '');
}

/**
 * Script interpreters. A host process running one whose first argument is a file in container storage
 * runs container code (a `#!` script is executed as `<interpreter> <script> …`). Any other program
 * that merely names a container path (ls, du, cat, find, tar, docker-untar) reads files; it runs none.
 */
const INTERPRETER = /^(sh|ash|bash|dash|zsh|ksh|mksh|yash|busybox|python[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node(js)?|php[0-9.]*|lua[0-9.]*|tclsh[0-9.]*)$/;
/** Shell names busybox answers to when it runs as an interpreter (argv[0]). */
const BUSYBOX_SHELL = /^(sh|ash|hush)$/;

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** How a host process runs code from a container filesystem, if it does. */
function containerCodeRun(
  p: ProcessSnapshot, containers: readonly ContainerScope[],
): { path: string; container: ContainerScope; how: 'executable' | 'executable_device' | 'storage_directory' | 'script' } | null {
  const exe = undeleted(p.exe ?? '');
  // 1. The executable the kernel reports lies in a container's storage (upper, merged… dirs).
  const byPath = exe.startsWith('/') ? containerOwningPath(exe, containers) : null;
  if (byPath) return { path: exe, container: byPath, how: 'executable' };
  // 2. Or on a container's root filesystem, whatever path the kernel shows (run through
  //    /proc/<container pid>/root/…, which reads like a host path): device and inode do not lie.
  if (p.exeDevice) {
    const byDev = containers.find((c) => c.rootDevice !== undefined && c.rootDevice === p.exeDevice);
    if (byDev) return { path: exe, container: byDev, how: 'executable_device' };
  }
  // 2b. Or under one of a container's storage directories by their identities (a bind mount of an
  //     upper or lower directory elsewhere on the host).
  if (p.exeStorageOf) {
    const byDir = containers.find((c) => c.id === p.exeStorageOf);
    if (byDir) return { path: exe, container: byDir, how: 'storage_directory' };
  }
  // 3. An interpreter whose script is a container file. The engine's own helpers never run scripts.
  if (isEngineHelper(p.exe, p.parentExe ?? null)) return null;
  // Both the executable and argv[0] must be an interpreter: a copy taken at a fork may pair the
  // parent shell's executable with the command line of the program it is about to run (cat <path>).
  const interp = basename(exe);
  const argv0 = basename(p.cmdline[0] ?? '');
  if (!INTERPRETER.test(interp) || !(interp === 'busybox' ? BUSYBOX_SHELL : INTERPRETER).test(argv0)) return null;
  const script = p.cmdline[1];
  if (script === undefined || !script.startsWith('/')) return null;
  const c = containerOwningPath(script, containers);
  return c ? { path: script, container: c, how: 'script' } : null;
}

/**
 * Checks for a new host process outside every container cgroup. `helperParent` says the process
 * descends from a kernel user-mode helper already flagged (a release_agent script's children): it is
 * flagged too, for the helper's container.
 *
 * A kernel helper (kthreadd's child) is judged by everything it names: the kernel runs the hook's
 * program with fixed arguments, so a container path anywhere in its command line is the escape. Any
 * other host process is judged by the code it runs (its executable, or the script its interpreter
 * runs), never by arguments that merely name a container path: `docker cp`, `docker export` and an
 * administrator's `ls` of an upper dir name such paths and run nothing from them.
 */
export function judgeHostProcess(p: ProcessSnapshot, containers: readonly ContainerScope[], helperParent: HelperParent | null = null): BreakoutHit[] {
  if (p.exe === null) return []; // kernel threads have no executable
  if (p.ppid === KTHREADD_PID || helperParent) {
    const found = containerPathIn(p, containers);
    if (found) {
      return [{
        reason: 'kernel_helper_from_container',
        message: `the kernel ran ${found.path} from container ${found.container.name}'s filesystem as a host process (pid ${p.pid}): release_agent, core_pattern or uevent_helper escape`,
        evidence: { ...processEvidence(p), container_path: found.path, ...(helperParent ? { helper_parent: helperParent.pid } : {}) },
        container: identity(found.container),
      }];
    }
    // A child of a flagged helper runs the helper's (the container's) code whatever it names: the
    // payload's `sleep`, its reverse shell. Same reason, the helper's container.
    if (helperParent) {
      return [{
        reason: 'kernel_helper_from_container',
        message: `host process ${p.pid} (${p.name}) was started by kernel helper ${helperParent.pid}, which ran code from container ${helperParent.container.name}'s filesystem`,
        evidence: { ...processEvidence(p), container_path: helperParent.containerPath, helper_parent: helperParent.pid },
        container: identity(helperParent.container),
      }];
    }
    return [];
  }
  const ran = containerCodeRun(p, containers);
  if (!ran) return [];
  return [{
    reason: 'container_binary_on_host',
    message: `host process ${p.pid} (${p.name}) runs ${ran.path} from container ${ran.container.name}'s filesystem`,
    evidence: { ...processEvidence(p), container_path: ran.path, matched_by: ran.how },
    container: identity(ran.container),
  }];
}

/**
 * A host process (outside every container cgroup) traced by a process of a container: ptrace
 * injection from a `--pid=host` container with SYS_PTRACE. `tracer` is the tracing process (the
 * thread group of the tracer thread named by the tracee's TracerPid).
 */
export function judgeTracedHostProcess(tracee: ProcessSnapshot, tracer: ProcessSnapshot, c: ContainerScope): BreakoutHit {
  return {
    reason: 'host_process_traced',
    message: `host process ${tracee.pid} (${tracee.name}) is traced by process ${tracer.pid} (${tracer.name}) of container ${c.name}: process injection from the container`,
    evidence: {
      ...processEvidence(tracee),
      tracer_pid: tracer.pid, tracer_exe: tracer.exe ?? UNREADABLE, tracer_cmdline: processEvidence(tracer).cmdline as string[] | string,
      tracer_uids: processEvidence(tracer).uids as string, cgroup_of: c.id,
    },
    container: identity(c),
  };
}
