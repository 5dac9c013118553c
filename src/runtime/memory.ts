// The daemon's memory after bursts. rootwatch runs on every host of a fleet, so its resident size is
// multiplied by the fleet (issue 14: under 80 MB, flat across container churn and fork storms); see
// also leanV8.ts. Measured with bench/budget.ts on the 2-core reference machine.
//
// V8 keeps the heap pages a burst grew it to, and glibc its freed arenas: after a 500-container churn
// RSS stayed ~10 MiB above where it started, for good. When the committed heap has grown by
// TRIM_GROWTH_BYTES since the last trim, the trimmer asks V8 for one compacting collection that
// releases the freed pages, then glibc's malloc_trim() (through the process-event addon). A collection
// of this heap takes 10–20 ms; it runs at most once per TRIM_MIN_GAP_MS, and an idle daemon's heap
// does not grow that much (leanV8's --optimize-for-size keeps V8's own headroom at ~2 MiB).
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Heap growth since the last trim that calls for the next one. */
export const TRIM_GROWTH_BYTES = 4 * 2 ** 20;
/** Minimum time between two trims, so that a long storm costs at most one collection per period. */
export const TRIM_MIN_GAP_MS = 30_000;
/** How often the trimmer looks at the heap's size (one getHeapStatistics() call). */
export const TRIM_CHECK_MS = 10_000;

export interface HeapTrimmerDeps {
  /** Bytes of heap V8 holds from the system now (committed), e.g. getHeapStatistics().total_heap_size. */
  committed(): number;
  /** One memory-reducing collection and native trim (memoryReducingCollect in the daemon). */
  collect(): void;
  now(): number;
}

/**
 * Decides when to trim. The first check trims (start-up and the first reconciliation are a burst);
 * after that, a trim needs TRIM_GROWTH_BYTES of growth over the size the last trim left (or the
 * lowest size seen since, when the heap shrank by itself) and TRIM_MIN_GAP_MS since the last trim.
 */
export class HeapTrimmer {
  private floor = 0;
  private lastTrim = -Infinity;

  constructor(private readonly deps: HeapTrimmerDeps, private readonly growthBytes = TRIM_GROWTH_BYTES, private readonly minGapMs = TRIM_MIN_GAP_MS) {}

  /** One look at the heap: trims when due. Returns whether it trimmed. */
  check(): boolean {
    const committed = this.deps.committed();
    this.floor = Math.min(this.floor, committed);
    const now = this.deps.now();
    if (committed - this.floor < this.growthBytes || now - this.lastTrim < this.minGapMs) return false;
    this.deps.collect();
    this.lastTrim = now;
    this.floor = this.deps.committed();
    return true;
  }
}

type GcOptions = { type: 'major'; execution: 'sync'; flavor?: 'last-resort' };
let gcFn: ((o?: GcOptions) => void) | null = null;

/**
 * V8's gc(), without starting node with --expose-gc: the extension is installed in contexts made after
 * the flag. (bench/churn.ts uses it too.)
 */
export function exposedGc(): (o?: GcOptions) => void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as (o?: GcOptions) => void;
  }
  return gcFn;
}

/** V8 12 (Node 22) and later take gc({flavor: 'last-resort'}); V8 11 (Node 20) ignores it. */
const V8_MAJOR = Number(process.versions.v8.split('.')[0]);

/**
 * One collection that gives memory back. Compaction of every page is forced for that one collection
 * (an ordinary full collection compacts only the emptiest pages, and left ~6 MiB of holes here); on
 * V8 ≥ 12 it is the "last resort" collection, what V8 runs itself when memory is short, which also
 * releases the emptied pages at once (without the forced compaction it kept all of them about one time
 * in five on Node 22). Then `trimNative` (glibc malloc_trim).
 */
export function memoryReducingCollect(trimNative?: () => void): void {
  const gc = exposedGc();
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    if (V8_MAJOR >= 12) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    else gc();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
  trimNative?.();
}

/** The committed heap, for HeapTrimmerDeps.committed. */
export function committedHeapBytes(): number {
  return v8.getHeapStatistics().total_heap_size;
}

/** What one trim did, for the log. */
export interface TrimInfo {
  heapBeforeBytes: number;
  heapAfterBytes: number;
  ms: number;
}

/**
 * The daemon's trimmer: checks every TRIM_CHECK_MS (an unref'd timer: it never keeps the process up).
 * A failure (not expected: these are V8 and libc calls) is reported once and stops the trimming, never
 * the daemon.
 */
export function startHeapTrimmer(hooks: { trimNative?: () => void; onTrim(t: TrimInfo): void; onError(e: Error): void }): { stop(): void } {
  let before = 0;
  let t0 = 0;
  const trimmer = new HeapTrimmer({
    committed: committedHeapBytes,
    collect: () => {
      before = committedHeapBytes();
      t0 = performance.now();
      memoryReducingCollect(hooks.trimNative);
    },
    now: () => performance.now(),
  });
  const timer = setInterval(() => {
    try {
      if (trimmer.check()) hooks.onTrim({ heapBeforeBytes: before, heapAfterBytes: committedHeapBytes(), ms: performance.now() - t0 });
    } catch (e) {
      clearInterval(timer);
      hooks.onError(e as Error);
    }
  }, TRIM_CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
