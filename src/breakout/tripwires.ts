// Escape hooks of the kernel: files naming a program the kernel runs as host root. Escapes rewrite
// them to point into container storage (core_pattern "|/var/lib/docker/overlay2/…/diff/x",
// release_agent, uevent_helper, modprobe). Also new kernel modules. Pure judging here; the scanner reads.
import { containerOwningPath } from './detectors.js';
import type { BreakoutHit, ContainerScope } from './types.js';

/** Values read in one pass; null when the file does not exist on this kernel. */
export type TripwireValues = Map<string, string | null>;

/** The program path a hook value names ("|/path args" for core_pattern pipes). */
export function hookProgram(file: string, value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  if (file.endsWith('core_pattern')) {
    if (!v.startsWith('|')) return null; // a file name pattern, not a program
    return v.slice(1).trim().split(/\s+/)[0] ?? null;
  }
  return v.split(/\s+/)[0] ?? null;
}

/**
 * Compare current hook values with the baseline. `storagePrefixes` are container storage roots not
 * tied to a running container (e.g. <DockerRootDir>/overlay2) so a hook into a dead container still counts.
 */
export function judgeTripwires(
  current: TripwireValues,
  baseline: TripwireValues,
  containers: readonly ContainerScope[],
  storagePrefixes: readonly string[],
): BreakoutHit[] {
  const hits: BreakoutHit[] = [];
  for (const [file, value] of current) {
    if (value === null) continue;
    const before = baseline.get(file);
    const program = hookProgram(file, value);
    if (program) {
      const owner = containerOwningPath(program, containers);
      const inStorage = owner !== null || storagePrefixes.some((p) => program === p || program.startsWith(`${p}/`));
      if (inStorage) {
        hits.push({
          reason: 'tripwire_container_path',
          message: `${file} points into container storage: ${value.trim()}${owner ? ` (container ${owner.name})` : ''}`,
          evidence: { file, value: value.trim().slice(0, 512), program },
          container: owner ? { id: owner.id, name: owner.name, image: owner.image } : null,
        });
      }
    }
    if (before !== undefined && before !== null && before !== value) {
      hits.push({
        reason: 'tripwire_changed',
        message: `${file} changed from "${before.trim()}" to "${value.trim()}"`,
        evidence: { file, before: before.trim().slice(0, 512), after: value.trim().slice(0, 512) },
        container: null,
      });
    }
  }
  return hits;
}

/** Module names from /proc/modules text. */
export function parseModules(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.split(' ')[0];
    if (name) out.add(name);
  }
  return out;
}

export function judgeModules(current: ReadonlySet<string>, baseline: ReadonlySet<string>): BreakoutHit[] {
  const hits: BreakoutHit[] = [];
  for (const m of current) {
    if (baseline.has(m)) continue;
    hits.push({
      reason: 'kernel_module_loaded',
      message: `kernel module ${m} was loaded after rootwatch started`,
      evidence: { module: m },
      container: null,
    });
  }
  return hits;
}

/**
 * The hooks whose program is one of `paths` (a kernel helper's executable or script): which file made
 * the kernel run it, and that file's value, for the helper's evidence.
 */
export function hooksNaming(values: TripwireValues, paths: readonly string[]): { file: string; value: string }[] {
  const out: { file: string; value: string }[] = [];
  for (const [file, value] of values) {
    if (value === null) continue;
    const program = hookProgram(file, value);
    if (program && paths.includes(program)) out.push({ file, value: value.trim().slice(0, 512) });
  }
  return out;
}
