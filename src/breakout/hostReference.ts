// The host's reference namespaces: those of a process known to run in the host's namespaces. pid 1's
// are not always readable (some sandboxes hide them), and rootwatch's own may be private (systemd's
// ProtectSystem gives the service its own mount namespace), so by default the Docker daemon's are used
// (on a Podman host, the Podman API service's).
import { readFileSync } from 'node:fs';
import type { ProcFs } from '../proc/procfs.js';
import type { HostReference } from './types.js';

export interface HostReferenceOptions {
  /** An explicit pid (tests, unusual setups). */
  pid?: number | undefined;
  /** The Docker daemon's pidfile. */
  pidfile: string;
  /** Process name to look for when the pidfile is absent. */
  processName: string;
}

export function resolveHostReference(proc: ProcFs, opts: HostReferenceOptions): { ref: HostReference; source: string } | null {
  const tryPid = (pid: number, source: string): { ref: HostReference; source: string } | null => {
    const ns = proc.namespaces(pid);
    return ns && ns.mnt && ns.pid ? { ref: { pid, ns }, source } : null;
  };
  if (opts.pid) return tryPid(opts.pid, `configured pid ${opts.pid}`);
  try {
    const pid = Number(readFileSync(opts.pidfile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) {
      const r = tryPid(pid, `pidfile ${opts.pidfile}`);
      if (r) return r;
    }
  } catch {
    // no pidfile: look the daemon up by name
  }
  // By name: the configured daemon (dockerd), else a Podman API service (`podman system service`,
  // there is no dockerd on a Podman host). A process whose cgroup names a container is never taken: a
  // container could name a process "dockerd" to make its own namespaces the reference.
  const names = [opts.processName, 'podman'];
  const found = new Map<string, number>();
  for (const pid of proc.pids()) {
    const comm = proc.read(pid, 'comm')?.trim();
    if (!comm || !names.includes(comm) || found.has(comm)) continue;
    if (/[0-9a-f]{64}/.test(proc.read(pid, 'cgroup') ?? '')) continue;
    found.set(comm, pid);
  }
  for (const name of names) {
    const pid = found.get(name);
    const r = pid === undefined ? null : tryPid(pid, `process ${name} (pid ${pid})`);
    if (r) return r;
  }
  return tryPid(1, 'pid 1');
}
