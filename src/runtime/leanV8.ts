// V8 set for a small, steady footprint. Imported first by main.ts, for its side effect: the flags must
// be set before any other module is loaded and run, or the optimizing compiler has already been paged
// in (3 MiB of node's code resident for good) by the start-up's hot loops (config parsing, validation).
//
// rootwatch's JavaScript is glue between the kernel, the addon and Docker; the per-event work is in C.
// Measured with bench/budget.ts on the 2-core reference machine, 100 containers:
// - TurboFan and Maglev off: ~10 MiB less resident memory (their compiler code, background-thread
//   zones, optimized code) and no more CPU: idle and 1,000 execs/s cost the same or less, and
//   `rootwatch audit` is faster (no background compilation to wait for). The interpreter and the
//   Sparkplug baseline compiler stay.
// - --optimize-for-size: V8 lets the old generation grow by 2 MiB between full collections instead of
//   8 MiB, which is the difference between a flat RSS and one that breathes by ~6 MiB.
// Set here rather than by the launchers so that every way of starting rootwatch (unit, package, image,
// scripts/run.sh, npm start, a bare `node dist/src/main.js`) gets them; node takes them on its
// command line too (not in NODE_OPTIONS).
import v8 from 'node:v8';

export const LEAN_V8_FLAGS = ['--no-turbofan', '--no-maglev', '--optimize-for-size'] as const;

for (const f of LEAN_V8_FLAGS) v8.setFlagsFromString(f);
