// Prometheus-style durations ("500ms", "1s", "5m", "1h30m"), as SREs write them in YAML.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Milliseconds for a duration string; throws with a readable message when it is not one. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (!/^(\d+(?:\.\d+)?(ms|s|m|h|d))+$/.test(s)) {
    throw new Error(`"${text}" is not a duration (examples: 500ms, 1s, 5m, 1h30m)`);
  }
  let total = 0;
  for (const m of s.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return total;
}
