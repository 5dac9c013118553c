// The host's container runtime binaries by device and inode: what a real `runc init` runs (or is a
// copy of) and what starts it. Found outside every container: in the host reference process's mount
// namespace (/proc/<ref>/root/<dir>/<name>, the paths the engine's /info names), and as the
// executable of each container's shim (its init's parent) when that shim is in no container's cgroup.
// A container can put any file anywhere in its own filesystem; it cannot give one the host's inode.
import { sameFile, type FileId, type ProcFs } from '../proc/procfs.js';
import { RUNTIME_BINARY_NAMES, SHIM_BINARY_NAMES } from './runtimeHelpers.js';

/** Where a runtime named without a path ("runc") is found: dockerd's usual PATH. */
const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/libexec/docker', '/usr/libexec/podman'];

/** Re-read this often at most, and when a look-alike fails the check (an upgrade replaced a binary). */
const MIN_REFRESH_MS = 1000;
/** Re-read at least this often. */
const MAX_AGE_MS = 60_000;

/** A container's 64-hex id in a cgroup path. */
const CONTAINER_ID = /[0-9a-f]{64}/;

export interface RuntimeIdentities {
  runtimes: readonly FileId[];
  shims: readonly FileId[];
}

export class RuntimeBinaries {
  private ids: RuntimeIdentities = { runtimes: [], shims: [] };
  private readAt = -Infinity;
  private key = '';

  constructor(private readonly proc: ProcFs) {}

  /**
   * The identities, read again when older than MAX_AGE_MS, when the inputs changed (reference
   * process, shims), or when `missed` (a look-alike that did not match) and MIN_REFRESH_MS passed.
   * The same object is returned until a read.
   */
  get(hostPid: number | null, runtimePaths: readonly string[], shimPids: readonly number[], now: number, missed = false): RuntimeIdentities {
    const key = `${hostPid}:${[...shimPids].sort((a, b) => a - b).join(',')}:${runtimePaths.join(',')}`;
    const stale = now - this.readAt > MAX_AGE_MS || key !== this.key || (missed && now - this.readAt > MIN_REFRESH_MS);
    if (!stale) return this.ids;
    this.readAt = now;
    this.key = key;
    const runtimes: FileId[] = [];
    const shims: FileId[] = [];
    const add = (to: FileId[], id: FileId | null): void => {
      if (id && !to.some((o) => sameFile(o, id))) to.push(id);
    };
    if (hostPid !== null) {
      const names = new Set(RUNTIME_BINARY_NAMES);
      const paths: string[] = [];
      for (const p of runtimePaths) {
        if (p.startsWith('/')) paths.push(p);
        else if (/^[A-Za-z0-9._-]+$/.test(p)) names.add(p);
      }
      for (const dir of SEARCH_DIRS) for (const n of names) paths.push(`${dir}/${n}`);
      // Resolved in the reference process's mount namespace: rootwatch may run in its own (systemd's
      // ProtectSystem, a container with the host's /proc).
      for (const p of paths) add(runtimes, this.proc.fileId(hostPid, `root${p}`));
      for (const dir of SEARCH_DIRS) for (const n of SHIM_BINARY_NAMES) add(shims, this.proc.fileId(hostPid, `root${dir}/${n}`));
    }
    for (const shim of shimPids) {
      const cgroups = this.proc.read(shim, 'cgroup');
      if (cgroups === null || CONTAINER_ID.test(cgroups)) continue;
      add(shims, this.proc.fileId(shim, 'exe'));
    }
    this.ids = { runtimes, shims };
    return this.ids;
  }
}
