// Benign look-alikes: processes of the container runtime itself that sit in a container's cgroup
// while still in the host's namespaces (`runc init` during every container start and `docker exec`).
// Decided from what the process is, never from timing: its executable (a kernel-reported link) must
// be a runtime copy AND its parent must be the runtime or its shim, which live outside the container.

/**
 * How `runc init` shows in /proc/<pid>/exe:
 * - "/memfd:runc_cloned:/proc/self/exe (deleted)": the memfd copy (CVE-2019-5736 mitigation);
 * - "/": runc 1.1's "bindfd" copy, a read-only bind mount that is detached at once, so its path is "/";
 * - the runtime binary itself (older runc, crun, youki).
 */
const RUNTIME_COPY = /^\/memfd:runc_cloned:|^\/memfd:runc|(^|\/)(runc|docker-runc|runc\.amd64|runc\.arm64|crun|youki)( \(deleted\))?$/;

/** Parents a `runc init` legitimately has: the runtime (create/exec) or the shim that reaps it. */
const RUNTIME_PARENT = /(^|\/)(runc|docker-runc|crun|youki|containerd-shim(-runc-v[12])?|conmon)( \(deleted\))?$/;

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

export function isRuntimeCopyExe(exe: string | null): boolean {
  return exe !== null && (exe === '/' || RUNTIME_COPY.test(exe));
}

export function isRuntimeParentExe(exe: string | null): boolean {
  return exe !== null && RUNTIME_PARENT.test(exe);
}

/** A runtime helper: a runtime copy whose parent is the runtime or its shim. */
export function isRuntimeHelper(exe: string | null, parentExe: string | null): boolean {
  return isRuntimeCopyExe(exe) && isRuntimeParentExe(parentExe);
}

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
