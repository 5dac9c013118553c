// Benign look-alikes: processes of the container runtime itself that sit in a container's cgroup
// while still in the host's namespaces (`runc init` during every container start and `docker exec`).
// Exempt only on facts a container cannot produce for itself (issue 13): names, comm, argv and memfd
// names are the process's own choice, and a container can bring a static program renamed `runc`,
// exec from a memfd called "runc_cloned:…", or exec through a detached mount so that its exe reads "/".
import { NS_KINDS, sameFile, type NsKind } from '../proc/procfs.js';
import type { ContainerScope, HostReference, ProcessSnapshot } from './types.js';

/**
 * How long a real `runc init` may sit in the host's namespaces. It lives milliseconds to a few
 * seconds (a loaded host, a slow hook); past this it is judged like any other process.
 */
export const RUNC_INIT_MAX_AGE_S = 10;

/**
 * A real runtime helper, all of:
 * 1. it runs the host's runtime binary, by device and inode: the binary itself (older runc, crun) or
 *    runc 1.1's "bindfd" copy, a detached read-only bind mount of it (exe reads "/", but stat follows
 *    to the binary's inode); or a memfd copy ("/memfd:runc_cloned:…", CVE-2019-5736 mitigation), whose
 *    content cannot be identified, so everything below must hold for it as for the others;
 * 2. its parent is the runtime, not a container's process: no process of any container (cgroup member
 *    or lineage: a container can exec the host's runc binary through /proc/<pid>/root, but what it
 *    starts stays its own), and either the host's runtime binary by device and inode (runc create or
 *    exec, while init sets up) or the container's shim (the shim binary, or its init's parent as the
 *    engine started it), which reaps a `runc init` once runc create has returned;
 * 3. it is young (RUNC_INIT_MAX_AGE_S);
 * 4. its namespaces are where that stage of runc init can be: started by runc, each the host's or the
 *    container's (joining or creating them); reaped by the shim, all the container's (runc create
 *    returns only once init is in every one of them; the shim is the parent of every `docker exec`
 *    process too, so a process it reaps in a host namespace is no runc init).
 * Its comm ("runc:[2:INIT]") is not looked at: the process names itself.
 */
export function isRuntimeHelper(p: ProcessSnapshot, c: ContainerScope, host: HostReference): boolean {
  const runtimes = host.runtimeBinaries ?? [];
  const runsRuntime = runtimes.some((b) => sameFile(b, p.exeId));
  const memfdCopy = (p.exe ?? '').startsWith('/memfd:');
  if (!runsRuntime && !memfdCopy) return false;
  if (p.parentInContainer !== false) return false;
  if (p.ageSeconds === undefined || p.ageSeconds < 0 || p.ageSeconds > RUNC_INIT_MAX_AGE_S) return false;
  // The container's own namespace of a kind is unknown when its init was read as it exited (only pid
  // and user are left then, see isExiting()): any namespace of that kind may be the container's.
  const containers = (k: NsKind): boolean => p.ns[k] === undefined || c.initNs[k] === undefined || p.ns[k] === c.initNs[k];
  if (runtimes.some((b) => sameFile(b, p.parentExeId))) return NS_KINDS.every((k) => p.ns[k] === host.ns[k] || containers(k));
  const reapedByShim = (host.shimBinaries ?? []).some((b) => sameFile(b, p.parentExeId)) || (c.shimPid !== undefined && p.ppid === c.shimPid);
  return reapedByShim && NS_KINDS.every(containers);
}

/**
 * Executables that may be a runtime's copy, by what the kernel prints: only decides whether the
 * scanner reads the identities isRuntimeHelper() needs (a stat of the exe and of the parent's exe).
 */
const RUNTIME_COPY = /^\/memfd:|(^|\/)(runc|docker-runc|runc\.amd64|runc\.arm64|crun|youki)( \(deleted\))?$/;

export function mayBeRuntimeCopy(exe: string | null): boolean {
  return exe !== null && (exe === '/' || RUNTIME_COPY.test(exe));
}

/** Names of OCI runtime binaries looked for on the host (in the reference process's mount namespace). */
export const RUNTIME_BINARY_NAMES: readonly string[] = [
  'runc', 'docker-runc', 'runc.amd64', 'runc.arm64', 'crun', 'youki', 'runsc', 'sysbox-runc', 'kata-runtime', 'nvidia-container-runtime',
];

/** Names of shim binaries looked for the same way. */
export const SHIM_BINARY_NAMES: readonly string[] = ['containerd-shim', 'containerd-shim-runc-v1', 'containerd-shim-runc-v2', 'conmon'];

/**
 * Executables (basenames) of container runtimes and shims: the processes that start, move into a
 * container's cgroup, or parent container processes. The process-event addon reads every process
 * they start in full. Listing one too many costs a few reads; missing one would let its children
 * pass as plain host processes, so the list is generous.
 */
export const RUNTIME_EXECUTABLES: readonly string[] = [
  'runc', 'docker-runc', 'runc.amd64', 'runc.arm64', 'crun', 'youki', 'runsc', 'sysbox-runc', 'kata-runtime',
  'nvidia-container-runtime', 'containerd-shim', 'containerd-shim-runc-v1', 'containerd-shim-runc-v2',
  'containerd-shim-kata-v2', 'containerd-shim-runsc-v1', 'conmon', 'conmon-rs', 'containerd', 'dockerd',
];

/**
 * The engine's own helpers that work inside container filesystems from the host: dockerd re-executing
 * itself as `docker-untar` / `docker-tar` (docker cp, export, diff) with a container's merged dir as an
 * argument, containerd and its shims. Recognised by what the kernel reports, never by argv or comm:
 * the executable is an engine binary (checked by the caller to lie outside container storage) AND the
 * parent's executable is an engine binary too. A process in a container cannot be started that way.
 */
const ENGINE_BINARY = /(^|\/)(dockerd|containerd|containerd-shim(-runc-v[12])?|runc|docker-runc)$/;

export function isEngineHelper(exe: string | null, parentExe: string | null): boolean {
  return exe !== null && parentExe !== null && ENGINE_BINARY.test(exe) && ENGINE_BINARY.test(parentExe);
}

/** Executables whose executable alone says nothing: the engine binaries (their parent is read too). */
export function isEngineExe(exe: string | null): boolean {
  return exe !== null && ENGINE_BINARY.test(exe);
}
