// /proc/<pid>/mountinfo (proc(5)), parsed once for every reader: the cgroup tree (which hierarchies
// are mounted where) and the breakout mount check (which filesystems a container holds).

export interface MountLine {
  id: number;
  /** "major:minor" of the filesystem. */
  device: string;
  /** The directory of the filesystem that is mounted (field 4), relative to the filesystem's root. */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-superblock options after the source ("rw,memory" for a v1 memory hierarchy). */
  superOptions: string[];
}

/** proc(5) mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountLine[] {
  const out: MountLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0) continue;
    out.push({
      id: Number(f[0]), device: f[2] as string, root: unescape(f[3] as string), mountPoint: unescape(f[4] as string),
      fsType: f[sep + 1] as string, source: unescape(f[sep + 2] ?? ''), superOptions: (f[sep + 3] ?? '').split(','),
    });
  }
  return out;
}
