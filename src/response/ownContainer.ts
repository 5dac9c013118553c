// rootwatch's own container, never acted on: the container ids /proc/self/cgroup names (rootwatch runs
// in a container), and our ancestors (a container whose init is one of them holds us, whatever its
// cgroup paths look like from here).
import type { ProcFs } from '../proc/procfs.js';
import { parseStatIds } from '../proc/procfs.js';

/** 64-hex container ids in cgroup paths: /docker/<id>, /system.slice/docker-<id>.scope, …/<id>. */
export function containerIdsInCgroupPaths(paths: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const p of paths) for (const m of p.matchAll(/(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?=\/|$)/g)) out.add(m[1] as string);
  return out;
}

export interface OwnContainer {
  /** Container ids in our own cgroup paths. */
  ids: ReadonlySet<string>;
  /** Our pid and our ancestors' pids, up to pid 1. */
  ancestors: ReadonlySet<number>;
}

export function findOwnContainer(proc: ProcFs): OwnContainer {
  const paths = (proc.cgroups('self') ?? []).map((l) => l.path);
  const ancestors = new Set<number>();
  const selfStat = proc.read('self', 'stat');
  let pid = selfStat ? Number(selfStat.slice(0, selfStat.indexOf(' '))) : 0;
  // The chain is short; the bound only guards against a procfs that loops.
  for (let i = 0; i < 256 && pid > 0 && !ancestors.has(pid); i++) {
    ancestors.add(pid);
    const stat = proc.read(pid, 'stat');
    pid = stat ? (parseStatIds(stat)?.ppid ?? 0) : 0;
  }
  return { ids: containerIdsInCgroupPaths(paths), ancestors };
}

/** Whether a container (its id and its init's host pid) is the one rootwatch runs in. */
export function isOwnContainer(own: OwnContainer, id: string, initPid: number | null): boolean {
  return own.ids.has(id) || (initPid !== null && initPid > 0 && own.ancestors.has(initPid));
}
