// Evidence bundles: one JSON file per acted-on detection in a 0700 directory, written before the action.
// Names sort by time, so the oldest go first when the count or the total size is over its bound.
import { mkdir, readdir, readFile, readlink, rename, stat, unlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActiveDetection } from '../breakout/processScanner.js';
import type { CgroupTree } from '../proc/cgroupTree.js';
import { NS_KINDS, parseCgroupFile, type ProcFs } from '../proc/procfs.js';

/** Most processes recorded per bundle (a fork bomb must not make a bundle unbounded). */
const MAX_PROCESSES = 2000;
/** Most bytes kept of one /proc text (status, mountinfo). */
const MAX_TEXT = 256 * 1024;

export interface ProcessRecord {
  pid: number;
  /** The detection's own process (the offending one). */
  offending: boolean;
  start_time: string | null;
  status: string | null;
  cmdline: string[] | null;
  exe: string | null;
  namespaces: Record<string, string>;
  /** Only for the offending process. */
  mountinfo?: string | null;
}

export interface EvidenceBundle {
  written_at: string;
  detection: { reason: string; message: string; evidence: unknown; container: unknown; pid: number | null; start_time: string | null };
  action: { name: string; mode: string };
  /** `docker inspect` as asked just before the action; the inventory's copy when Docker did not answer. */
  inspect: { source: 'docker' | 'inventory'; error?: string; data: unknown };
  /** Every process of the container's cgroup, and the offending one. */
  processes: ProcessRecord[];
  processes_truncated: boolean;
  /** Kernel escape hook files and their values at capture time. */
  tripwires: Record<string, string | null>;
}

export interface EvidenceLimits {
  dir: string;
  maxBundles: number;
  maxBytes: number;
}

async function readText(path: string, max = MAX_TEXT): Promise<string | null> {
  try {
    const t = await readFile(path, 'utf8');
    return t.length > max ? t.slice(0, max) : t;
  } catch {
    return null;
  }
}

async function readLink(path: string): Promise<string | null> {
  try {
    return await readlink(path);
  } catch {
    return null;
  }
}

export async function processRecord(proc: ProcFs, pid: number, offending: boolean): Promise<ProcessRecord> {
  const stat = await readText(proc.path(pid, 'stat'));
  const close = stat?.lastIndexOf(')') ?? -1;
  const startTime = stat && close > 0 ? (stat.slice(close + 2).split(' ')[19] ?? null) : null;
  const rawCmd = await readText(proc.path(pid, 'cmdline'), 64 * 1024);
  const namespaces: Record<string, string> = {};
  for (const k of NS_KINDS) {
    const l = await readLink(proc.path(pid, 'ns', k));
    if (l !== null) namespaces[k] = l;
  }
  const rec: ProcessRecord = {
    pid,
    offending,
    start_time: startTime,
    status: await readText(proc.path(pid, 'status')),
    cmdline: rawCmd === null ? null : rawCmd.split('\0').filter((s, i, a) => i < a.length - 1 || s !== ''),
    exe: await readLink(proc.path(pid, 'exe')),
    namespaces,
  };
  if (offending) rec.mountinfo = await readText(proc.path(pid, 'mountinfo'));
  return rec;
}

/** Pids of the cgroup the container's init is in (every hierarchy, nested cgroups included). */
export async function containerPids(proc: ProcFs, tree: CgroupTree, initPid: number | null): Promise<number[]> {
  if (!initPid || initPid <= 0) return [];
  const text = await readText(proc.path(initPid, 'cgroup'));
  if (text === null) return [];
  const pids = new Set<number>();
  for (const dir of tree.dirsFor(parseCgroupFile(text))) tree.members(dir, pids);
  return [...pids].sort((a, b) => a - b);
}

export class EvidenceStore {
  private seq = 0;

  constructor(private limits: EvidenceLimits) {}

  setLimits(l: EvidenceLimits): void {
    this.limits = l;
  }

  /** The path the next bundle for this detection will have; no I/O (the alert names it before it exists). */
  allocate(d: ActiveDetection, now: Date): string {
    const ts = now.toISOString().replace(/[:.]/g, '-');
    const who = d.hit.container ? d.hit.container.id.slice(0, 12) : 'host';
    this.seq = (this.seq + 1) % 1_000_000;
    return join(this.limits.dir, `${ts}-${String(this.seq).padStart(6, '0')}-${who}-${d.hit.reason}.json`);
  }

  /** Write a bundle (atomically, 0600) into its 0700 directory, then drop the oldest over the bounds. */
  async write(path: string, bundle: EvidenceBundle): Promise<void> {
    const dir = this.limits.dir;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const tmp = `${path}.tmp`;
    await writeFile(tmp, `${JSON.stringify(bundle, null, 1)}\n`, { mode: 0o600 });
    await rename(tmp, path);
    await this.prune(path);
  }

  /** Oldest first out until both bounds hold; the bundle just written always stays. */
  private async prune(keep: string): Promise<void> {
    const dir = this.limits.dir;
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    const sizes = new Map<string, number>();
    for (const n of names) {
      try {
        sizes.set(n, (await stat(join(dir, n))).size);
      } catch {
        // removed meanwhile
      }
    }
    let count = sizes.size;
    let total = [...sizes.values()].reduce((a, b) => a + b, 0);
    for (const n of names) {
      if (count <= this.limits.maxBundles && total <= this.limits.maxBytes) break;
      if (join(dir, n) === keep || !sizes.has(n)) continue;
      await unlink(join(dir, n)).catch(() => undefined);
      count--;
      total -= sizes.get(n) ?? 0;
    }
  }
}

export { MAX_PROCESSES };
