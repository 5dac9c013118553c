// Maps a process's cgroup paths to directories of the mounted cgroup hierarchies (v1, v2 or hybrid;
// systemd or cgroupfs driver alike: the path comes from /proc/<pid>/cgroup, not from a naming scheme)
// and lists a cgroup's member processes, nested cgroups included.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CgroupLine } from './procfs.js';
import { parseMountinfo as parseAllMounts } from './mountinfo.js';

export interface CgroupMount {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup. */
  mountPoint: string;
  /** The hierarchy path shown at the mount point (mountinfo field 4), usually "/". */
  fsRoot: string;
  version: 1 | 2;
  /** v1 controllers and named hierarchies ("name=systemd"); empty for v2. */
  controllers: string[];
}

/** The cgroup hierarchies of a mountinfo: where each is mounted, its version and controllers. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const m of parseAllMounts(text)) {
    if (m.fsType !== 'cgroup' && m.fsType !== 'cgroup2') continue;
    out.push({
      mountPoint: m.mountPoint,
      fsRoot: m.root || '/',
      version: m.fsType === 'cgroup2' ? 2 : 1,
      controllers: m.fsType === 'cgroup2' ? [] : m.superOptions.filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent=') && o !== 'noprefix' && o !== 'clone_children' && o !== 'xattr' && o !== 'nsdelegate'),
    });
  }
  // The first mount of a hierarchy wins (bind mounts of the same hierarchy come later).
  const seen = new Set<string>();
  return out.filter((m) => {
    const key = `${m.version}:${[...m.controllers].sort().join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export class CgroupTree {
  constructor(readonly mounts: CgroupMount[]) {}

  static fromProc(procRoot: string): CgroupTree {
    let text = '';
    try {
      text = readFileSync(join(procRoot, 'self', 'mountinfo'), 'utf8');
    } catch {
      // no mountinfo: no cgroup hierarchies known; detection that needs them reports nothing
    }
    return new CgroupTree(parseMountinfo(text));
  }

  get version(): 1 | 2 | 'hybrid' | null {
    const v1 = this.mounts.some((m) => m.version === 1);
    const v2 = this.mounts.some((m) => m.version === 2);
    return v1 && v2 ? 'hybrid' : v1 ? 1 : v2 ? 2 : null;
  }

  v1Mounts(): CgroupMount[] {
    return this.mounts.filter((m) => m.version === 1);
  }

  /** Directories of every hierarchy the process's cgroup lines point into. */
  dirsFor(lines: CgroupLine[]): string[] {
    const dirs: string[] = [];
    for (const l of lines) {
      const mount =
        l.hierarchy === 0
          ? this.mounts.find((m) => m.version === 2)
          : this.mounts.find((m) => m.version === 1 && l.controllers.length > 0 && l.controllers.every((c) => m.controllers.includes(c)));
      if (!mount) continue;
      const rel = posix.relative(mount.fsRoot, l.path);
      // A path outside the mount's root (another cgroup namespace) cannot be resolved from here.
      if (rel.startsWith('..')) continue;
      dirs.push(rel ? join(mount.mountPoint, rel) : mount.mountPoint);
    }
    return [...new Set(dirs)];
  }

  /**
   * Pids in a cgroup directory and every cgroup below it. Missing directories (the container just
   * died) yield nothing.
   */
  members(dir: string, out: Set<number> = new Set()): Set<number> {
    let text: string;
    try {
      // Concatenated, not path.join: `dir` comes from dirsFor() or a directory entry, normalised.
      text = readFileSync(`${dir}/cgroup.procs`, 'utf8');
    } catch {
      return out;
    }
    for (const line of text.split('\n')) if (line) out.add(Number(line));
    // cgroupfs (kernfs) counts a directory's links as 2 + its subdirectories: a container's cgroup
    // has none as a rule, and a stat is much cheaper than listing a v1 controller directory's dozens
    // of files. Any other count (1: a filesystem that does not keep it) lists the directory.
    if (linkCount(dir) === 2) return out;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return out;
    }
    for (const e of entries) if (e.isDirectory()) this.members(`${dir}/${e.name}`, out);
    return out;
  }
}

function linkCount(dir: string): number {
  try {
    return statSync(dir).nlink;
  } catch {
    return 0;
  }
}
