// Reads the few /proc files rootwatch needs, through a configurable root (`paths.procfs`) so it works
// from a container with the host's /proc mounted at /host/proc. Processes vanish mid-read all the
// time: ENOENT/ESRCH (and EACCES on a dying process) mean "gone" and return null, never throw.
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const NS_KINDS = ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'user'] as const;
export type NsKind = (typeof NS_KINDS)[number];
export type Namespaces = Partial<Record<NsKind, string>>;

/** A file's identity: st_dev and st_ino as decimal strings. */
export interface FileId {
  dev: string;
  ino: string;
}

export function sameFile(a: FileId | null | undefined, b: FileId | null | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino;
}

export interface ProcStatus {
  pid: number;
  ppid: number;
  /** comm, as the process set it: attacker-controlled, for evidence only. */
  name: string;
  /** real, effective, saved, filesystem uid as seen from the reader's user namespace. */
  uids: [number, number, number, number];
  capEff: bigint;
  /** Pid in each nested pid namespace, outermost first (NSpid). */
  nspid: number[];
  /** The thread group (process) id. */
  tgid: number;
  /** Thread id of the tracer (ptrace), 0 when not traced. */
  tracerPid: number;
}

const GONE = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM', 'EINVAL']);

function gone(e: unknown): boolean {
  return GONE.has((e as NodeJS.ErrnoException).code ?? '');
}

export class ProcFs {
  /** The root, normalised once ("/proc", "/host/proc"): paths are then joined by concatenation. */
  private readonly base: string;

  constructor(readonly root = '/proc') {
    this.base = join(root, '.').replace(/\/$/, '');
  }

  /**
   * A path below the root. The parts are rootwatch's own (pids, fixed file names), never a path a
   * process controls, so a concatenation is enough: path.join's normalisation was a tenth of the
   * idle daemon's CPU (issue 14).
   */
  path(...parts: (string | number)[]): string {
    let out = this.base;
    for (const p of parts) out += `/${p}`;
    return out;
  }

  /** Numeric entries of /proc: the pids of all processes (thread group leaders). */
  pids(): number[] {
    const out: number[] = [];
    for (const name of readdirSync(this.root)) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) out.push(Number(name));
    }
    return out;
  }

  read(pid: number | 'self', file: string): string | null {
    try {
      return readFileSync(this.path(pid, file), 'utf8');
    } catch (e) {
      if (gone(e)) return null;
      throw e;
    }
  }

  status(pid: number): ProcStatus | null {
    const text = this.read(pid, 'status');
    return text === null ? null : parseStatus(pid, text);
  }

  /** Namespace inode links ("mnt:[4026531832]"); kinds that cannot be read are left out. */
  namespaces(pid: number | 'self', kinds: readonly NsKind[] = NS_KINDS): Namespaces | null {
    const out: Namespaces = {};
    let any = false;
    for (const k of kinds) {
      try {
        out[k] = readlinkSync(this.path(pid, 'ns', k));
        any = true;
      } catch (e) {
        if (!gone(e)) throw e;
      }
    }
    return any ? out : null;
  }

  exe(pid: number): string | null {
    return this.link(pid, 'exe');
  }

  /** Where a /proc/<pid> link ("exe", "cwd", "root") points, as the kernel prints it. */
  link(pid: number, name: string): string | null {
    try {
      return readlinkSync(this.path(pid, name));
    } catch (e) {
      if (gone(e)) return null;
      throw e;
    }
  }

  cmdline(pid: number): string[] | null {
    const text = this.read(pid, 'cmdline');
    if (text === null) return null;
    const parts = text.split('\0');
    if (parts.length && parts[parts.length - 1] === '') parts.pop();
    return parts;
  }

  /** Field 22 of /proc/<pid>/stat: start time in clock ticks; with the pid it identifies a process. */
  startTime(pid: number): string | null {
    const text = this.read(pid, 'stat');
    return text === null ? null : parseStartTime(text);
  }

  /** Lines of /proc/<pid>/cgroup as [hierarchy id, controllers, path]. */
  cgroups(pid: number | 'self'): CgroupLine[] | null {
    const text = this.read(pid, 'cgroup');
    return text === null ? null : parseCgroupFile(text);
  }

  /** The host uid that uid 0 in the process's user namespace maps to; null when unreadable or unmapped. */
  rootHostUid(pid: number): number | null {
    const t = this.read(pid, 'uid_map');
    return t === null ? null : rootHostUidOf(t);
  }

  /**
   * Device and inode (decimal strings) of what a /proc/<pid> link points at ("root", "cwd", "exe"),
   * followed by the kernel, whatever path it would print. Null when the process is gone.
   */
  fileId(pid: number | 'self', link: string): FileId | null {
    try {
      // Not path.join: "cwd/.." must stay, the kernel resolves it from where the link leads.
      const st = statSync(`${this.path(pid)}/${link}`, { bigint: true });
      return { dev: String(st.dev), ino: String(st.ino) };
    } catch (e) {
      if (gone(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw e;
    }
  }
}

/**
 * From a uid_map ("inside outside count" per line, outside relative to the reader's user namespace):
 * the uid that uid 0 inside maps to. The kernel's view, whatever the engine's API says: userns-remap,
 * rootless Docker or Podman, --userns=auto, or none (0 0 4294967295).
 */
export function rootHostUidOf(uidMap: string): number | null {
  for (const line of uidMap.split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined || [inside, outside, count].some((n) => !Number.isInteger(n))) continue;
    if (inside <= 0 && 0 < inside + count) return outside - inside;
  }
  return null;
}

/** ppid and comm from /proc/<pid>/stat (fields 4 and 2). */
export function parseStatIds(statText: string): { ppid: number; name: string } | null {
  const open = statText.indexOf('(');
  const close = statText.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const ppid = Number(statText.slice(close + 2).split(' ')[1]);
  return Number.isFinite(ppid) ? { ppid, name: statText.slice(open + 1, close) } : null;
}

/** PF_EXITING in the flags of /proc/<pid>/stat (field 9): the task is in do_exit(), running no user code. */
const PF_EXITING = 0x4;

/** Whether a /proc/<pid>/stat text shows the task exiting (PF_EXITING); false when it cannot be read. */
export function statShowsExiting(statText: string): boolean {
  const close = statText.lastIndexOf(')');
  if (close < 0) return false;
  const flags = Number(statText.slice(close + 2).split(' ')[6]);
  return Number.isFinite(flags) && (flags & PF_EXITING) !== 0;
}

export function parseStartTime(statText: string): string | null {
  // comm (field 2) may contain spaces and parentheses: fields restart after the last ')'.
  const close = statText.lastIndexOf(')');
  if (close < 0) return null;
  return statText.slice(close + 2).split(' ')[19] ?? null;
}

export interface CgroupLine {
  hierarchy: number;
  controllers: string[];
  path: string;
}

export function parseCgroupFile(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    out.push({ hierarchy: Number(line.slice(0, a)), controllers: line.slice(a + 1, b).split(',').filter(Boolean), path: line.slice(b + 1) });
  }
  return out;
}

export function parseStatus(pid: number, text: string): ProcStatus {
  let ppid = 0;
  let name = '';
  let uids: [number, number, number, number] = [-1, -1, -1, -1];
  let capEff = 0n;
  let nspid: number[] = [pid];
  let tgid = pid;
  let tracerPid = 0;
  for (const line of text.split('\n')) {
    const tab = line.indexOf(':');
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    const val = line.slice(tab + 1).trim();
    switch (key) {
      case 'Name':
        name = val;
        break;
      case 'PPid':
        ppid = Number(val);
        break;
      case 'Uid': {
        const u = val.split(/\s+/).map(Number);
        uids = [u[0] ?? -1, u[1] ?? -1, u[2] ?? -1, u[3] ?? -1];
        break;
      }
      case 'CapEff':
        capEff = BigInt(`0x${val}`);
        break;
      case 'Tgid':
        tgid = Number(val);
        break;
      case 'TracerPid':
        tracerPid = Number(val);
        break;
      case 'NSpid':
        nspid = val.split(/\s+/).map(Number);
        break;
      default:
        break;
    }
  }
  return { pid, ppid, name, uids, capEff, nspid, tgid, tracerPid };
}

/** The inode number in a namespace link ("mnt:[4026531841]"); 0 when there is none. */
export function namespaceInode(link: string | undefined): number {
  const m = link ? /\[(\d+)\]$/.exec(link) : null;
  return m ? Number(m[1]) : 0;
}
