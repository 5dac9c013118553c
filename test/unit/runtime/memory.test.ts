// The daemon's memory measures (src/runtime): when the heap trimmer trims, that a memory-reducing
// collection really gives heap back on this node, and that the lean V8 flags take effect when set at
// run time, before the CLI is loaded.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { HeapTrimmer, TRIM_GROWTH_BYTES, TRIM_MIN_GAP_MS, memoryReducingCollect } from '../../../src/runtime/memory.js';

const MiB = 2 ** 20;

/** A heap of `committed` bytes that a collection brings to `after`. */
function fakeHeap(start: number) {
  const h = { committed: start, after: start, now: 0, collections: 0 };
  const trimmer = new HeapTrimmer({
    committed: () => h.committed,
    collect: () => {
      h.collections++;
      h.committed = h.after;
    },
    now: () => h.now,
  });
  return { h, trimmer };
}

describe('HeapTrimmer', () => {
  it('trims once after start-up (start-up is a burst), then not while the heap stays put', () => {
    const { h, trimmer } = fakeHeap(30 * MiB);
    h.after = 20 * MiB;
    assert.equal(trimmer.check(), true);
    assert.equal(h.collections, 1);
    for (let i = 1; i <= 20; i++) {
      h.now = i * 10_000;
      h.committed = 20 * MiB + (TRIM_GROWTH_BYTES - 1);
      assert.equal(trimmer.check(), false, `check ${i}`);
    }
    assert.equal(h.collections, 1);
  });

  it('trims when the heap has grown by TRIM_GROWTH_BYTES since the last trim, at most once per TRIM_MIN_GAP_MS', () => {
    const { h, trimmer } = fakeHeap(20 * MiB);
    trimmer.check();
    h.now = 10_000;
    h.committed = 20 * MiB + TRIM_GROWTH_BYTES;
    assert.equal(trimmer.check(), false, 'within the gap');
    h.now = TRIM_MIN_GAP_MS;
    assert.equal(trimmer.check(), true, 'gap passed');
    assert.equal(h.collections, 2);
  });

  it('measures growth from the lowest size since the last trim (the heap shrank by itself)', () => {
    const { h, trimmer } = fakeHeap(30 * MiB);
    h.after = 30 * MiB;
    trimmer.check();
    h.now = TRIM_MIN_GAP_MS;
    h.committed = 18 * MiB;
    assert.equal(trimmer.check(), false);
    h.now = 2 * TRIM_MIN_GAP_MS;
    h.committed = 18 * MiB + TRIM_GROWTH_BYTES;
    assert.equal(trimmer.check(), true);
  });
});

describe('memoryReducingCollect on this node', () => {
  const oldSpace = (): number => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')?.space_size ?? NaN;

  it('gives back the pages of a fragmented old generation and runs the native trim', function () {
    this.timeout(60_000);
    // 600,000 objects that live long enough to be promoted, then 19 in 20 dropped: every old page
    // keeps a few live objects, so only a collection that compacts them can free the pages.
    let all: object[] | null = [];
    for (let i = 0; i < 600_000; i++) all.push({ i, s: `object ${i}`, a: [i, i + 1, i + 2] });
    const keep = all.filter((_, i) => i % 20 === 0);
    all = null;
    const before = oldSpace();
    let native = 0;
    memoryReducingCollect(() => native++);
    const after = oldSpace();
    assert.equal(native, 1);
    assert.equal(keep.length, 30_000);
    assert.ok(before - after > 32 * MiB, `old generation ${(before / MiB).toFixed(1)} → ${(after / MiB).toFixed(1)} MiB`);
  });
});

describe('lean V8 flags (src/runtime/leanV8.ts)', () => {
  const leanV8 = fileURLToPath(new URL('../../../src/runtime/leanV8.ts', import.meta.url));
  /** V8's optimization status of a function made hot after `setup` ran (bit 16: optimized, by any tier). */
  const optimizedAfter = (setup: string): boolean => {
    const code = `${setup}
      function hot(x) { return (x * 2 + 1) % 7; }
      let s = 0;
      for (let i = 0; i < 3e6; i++) s += hot(i);
      process.stdout.write(String((%GetOptimizationStatus(hot) & 16) !== 0));`;
    return execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' }) === 'true';
  };

  it('a hot function is optimized without them (the test can see it)', () => {
    assert.equal(optimizedAfter(''), true);
  });

  it('set at run time, they keep a hot function from being optimized', () => {
    assert.equal(optimizedAfter(`await import(${JSON.stringify(leanV8)});`), false);
  });

  it('src/main.ts sets them before it loads anything else, and loads the CLI only then', () => {
    const main = readFileSync(fileURLToPath(new URL('../../../src/main.ts', import.meta.url)), 'utf8');
    const imports = [...main.matchAll(/^(?:import|await import)\b.*$/gm)].map((m) => m[0]);
    assert.deepEqual(imports, ["import './runtime/leanV8.js';", "await import('./cli/main.js');"]);
  });
});
