// Issue 14's cost table in one run: every row, for this build and (BENCH_BASELINE=<rev>) side by side
// with another revision built in a worktree under /tmp, each row alternating the two builds so that
// machine load hits both alike. One private engine (`benchbudget`); ~3,000 host processes (`sleep`
// children of the bench) for the whole run. The daemons are `node <NODE_FLAGS> <build>/dist/src/main.js
// --config <yaml> run` children with one YAML both builds accept (docker.host = the private engine,
// metrics.listen, breakout interval 1 s, host_reference_pid = the engine, process_events auto).
//
//   1. idle CPU, 100 idle containers (sleep 3600), connector active      goal < 1 % of a core
//   2. idle CPU, no containers                                            goal < 0.3 %
//   3. idle CPU, 20 idle containers                                       goal < 0.5 %
//   4. daemon CPU per 1,000 execs/s inside a container                    goal < 10 %
//   5. breakout scan vs a naive full /proc scan (this build, in process,  goal >= 25x cheaper
//      under the daemon's V8 flags: src/runtime/leanV8.ts)
//   6. daemon RSS with 100 containers, after a 500-container churn, and   goal < 80 MB (76.3 MiB), flat
//      after a 20,000-fork storm in a container
//   7. `rootwatch audit --json` CLI wall time, 50 containers              goal < 0.4 s
//
//   npx tsx bench/budget.ts                       # or: npm run bench -- budget   (~15-20 min with a baseline)
//   BENCH_BASELINE=2b0c88f npx tsx bench/budget.ts
//   BENCH_BUDGET_QUICK=1 (smoke test: 5 containers, 5 s windows, 1,000 processes, 10-container churn)
//   BENCH_BUDGET_ROWS=1,4,7  BENCH_BUDGET_WINDOW_S=60 BENCH_BUDGET_IDLE_SETTLE_S=20 BENCH_BUDGET_SETTLE_S=5 BENCH_BUDGET_PROCS=3000
//   BENCH_BUDGET_CONTAINERS=100 BENCH_BUDGET_CONTAINERS_SMALL=20 BENCH_BUDGET_AUDIT_CONTAINERS=50
//   BENCH_BUDGET_RATE=1000 BENCH_BUDGET_EXEC_WINDOW_S=30 BENCH_BUDGET_CHURN=500 BENCH_BUDGET_CHURN_ROUNDS=2 BENCH_BUDGET_FORKS=20000
//   BENCH_BUDGET_AUDIT_RUNS=5 BENCH_BUDGET_SCAN_STEADY=30 BENCH_BUDGET_SCAN_NAIVE=10; BENCH_BUILD=1 rebuilds dist/.
//   BENCH_BUDGET_NODE_FLAGS="--no-opt;--lite-mode": this checkout again under each flag set (instead of NODE_FLAGS).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrivateEngine } from '../test/harness/privateDockerd.js';
import { measureScan } from './procScan.js';
import {
  TEST_IMAGE, ExecLoad, MAIN_JS, ROOT, Sleepers, buildForkStorm, buildRevision, checkpoint, clockTicks, cpuWindow, diffHistogram, ensureBuilt,
  freePort, isMain, load1, machine, mapLimit, memory, nowMs, onCleanup, parseHistogram, printBenchJson, printBlock, procCount,
  progress, r, runCleanups, runNode, runRemoved, runStandalone, samplesByLabels, scrape, sleep, spawnDaemon,
  startBenchEngine, summarize, sumSeries, type ChildDaemon, type CpuWindow,
} from './lib.js';

const QUICK = process.env.BENCH_BUDGET_QUICK === '1';
/** A knob: the env value, else the full-size default, or the quick one with BENCH_BUDGET_QUICK=1. */
const num = (name: string, full: number, quick: number): number => {
  const v = Number(process.env[name] ?? (QUICK ? quick : full));
  return Number.isFinite(v) && v >= 0 ? v : QUICK ? quick : full;
};
/** Idle rows: the daemon is idle once its start-up tail is over (first full scans, first memory trim, code compiled on first use). */
const WINDOW_S = num('BENCH_BUDGET_WINDOW_S', 60, 5);
const IDLE_SETTLE_S = num('BENCH_BUDGET_IDLE_SETTLE_S', 20, 2);
const SETTLE_S = num('BENCH_BUDGET_SETTLE_S', 5, 2);
const PROCS = num('BENCH_BUDGET_PROCS', 3000, 1000);
const C_LARGE = num('BENCH_BUDGET_CONTAINERS', 100, 5);
const C_SMALL = num('BENCH_BUDGET_CONTAINERS_SMALL', 20, 3);
const C_AUDIT = num('BENCH_BUDGET_AUDIT_CONTAINERS', 50, 5);
const RATE = num('BENCH_BUDGET_RATE', 1000, 200);
const EXEC_WINDOW_S = num('BENCH_BUDGET_EXEC_WINDOW_S', 30, 5);
const CHURN = num('BENCH_BUDGET_CHURN', 500, 10);
const CHURN_ROUNDS = Math.max(1, num('BENCH_BUDGET_CHURN_ROUNDS', 2, 2));
const FORKS = num('BENCH_BUDGET_FORKS', 20_000, 2_000);
const AUDIT_RUNS = Math.max(1, num('BENCH_BUDGET_AUDIT_RUNS', 5, 2));
const SCAN_STEADY = Math.max(1, num('BENCH_BUDGET_SCAN_STEADY', 30, 5));
const SCAN_NAIVE = Math.max(1, num('BENCH_BUDGET_SCAN_NAIVE', 10, 3));
const BASELINE = process.env.BENCH_BASELINE?.trim() || '';
/** Extra runs of this checkout under other node flags: sets separated by ';', flags by spaces (e.g. "--no-opt;--lite-mode"). */
const FLAG_SETS = (process.env.BENCH_BUDGET_NODE_FLAGS ?? '').split(';').map((x) => x.trim().split(/\s+/).filter(Boolean)).filter((x) => x.length > 0);
const ROWS = new Set((process.env.BENCH_BUDGET_ROWS ?? '1,2,3,4,5,6,7').split(',').map((x) => Number(x.trim())).filter((x) => x >= 1 && x <= 7));
const SCAN_HIST = 'rootwatch_proc_scan_duration_seconds';
/** The issue's 80 MB, in the MiB that /proc reports. */
const MB80_MIB = r(80e6 / 2 ** 20, 1);
/** RSS growth over the churn (and over the storm) that still counts as flat. */
const FLAT_MIB = 5;

interface Build {
  /** 'baseline', 'now', or 'now-f<i>' for this checkout under the i-th BENCH_BUDGET_NODE_FLAGS set. */
  label: string;
  /** What was built: a rev and commit, or this checkout. */
  what: string;
  root: string;
  mainJs: string;
  /** Node flags instead of NODE_FLAGS. */
  nodeFlags?: readonly string[];
}

/** A row's figure for one build: the number the goal is about, and the details printed below the table. */
interface Figure {
  value: number;
  text: string;
  detail: Record<string, unknown>;
}

interface Row {
  n: number;
  what: string;
  goal: string;
  unit: string;
  /** True when the figure meets the goal. */
  meets: (f: Figure) => boolean;
  byBuild: Partial<Record<Build['label'], Figure>>;
}

const ROW_DEFS: Omit<Row, 'byBuild'>[] = [
  { n: 1, what: `idle CPU, ${C_LARGE} idle containers, connector active`, goal: '< 1 %', unit: '%', meets: (f) => f.value < 1 },
  { n: 2, what: 'idle CPU, no containers', goal: '< 0.3 %', unit: '%', meets: (f) => f.value < 0.3 },
  { n: 3, what: `idle CPU, ${C_SMALL} idle containers`, goal: '< 0.5 %', unit: '%', meets: (f) => f.value < 0.5 },
  { n: 4, what: `CPU per 1,000 execs/s in a container (${C_SMALL}+1 containers)`, goal: '< 10 %', unit: '%', meets: (f) => f.value < 10 },
  { n: 5, what: `naive /proc scan ÷ breakout scan, ${C_LARGE} containers`, goal: '>= 25x', unit: 'x', meets: (f) => f.value >= 25 },
  {
    n: 6, what: `RSS, ${C_LARGE} containers → after ${CHURN}-container churn → after ${FORKS}-fork storm`, goal: `< 80 MB (76.3 MiB), flat (±${FLAT_MIB})`, unit: 'MiB',
    meets: (f) => f.value < MB80_MIB && Math.abs(Number(f.detail.rssAfterChurnMiB) - Number(f.detail.rssAtStartMiB)) <= FLAT_MIB && Math.abs(Number(f.detail.growthMiB)) <= FLAT_MIB,
  },
  { n: 7, what: `audit CLI wall time, ${C_AUDIT} containers`, goal: '< 0.4 s', unit: 's', meets: (f) => f.value < 0.4 },
];

// ---------------------------------------------------------------- the daemons

class Bench {
  private seq = 0;
  private stormBin: string | null = null;
  constructor(readonly engine: PrivateEngine, readonly workDir: string, readonly hz: number) {}

  /** test/fixtures/breakout/fork-storm.c, built static once (bind-mounted into a busybox container). */
  forkStorm(): string {
    this.stormBin ??= buildForkStorm(this.workDir);
    return this.stormBin;
  }

  /** One daemon of `build`, monitoring `expected` containers; the config both builds accept. */
  async daemon(build: Build, expected: number, tag: string): Promise<ChildDaemon> {
    const port = await freePort();
    const id = `${++this.seq}-${build.label}-${tag}`;
    const yaml = [
      'docker:', `  host: ${this.engine.dockerHost}`,
      'metrics:', `  listen: 127.0.0.1:${port}`,
      'breakout:', '  interval: 1s', `  host_reference_pid: ${this.engine.pid()}`, '  process_events: auto', '',
    ].join('\n');
    const d = await spawnDaemon({
      mainJs: build.mainJs, configYaml: yaml, configDir: join(this.workDir, `config-${id}`), logFile: join(this.workDir, `daemon-${id}.log`),
      port, expected, label: `${build.label} ${tag}`, nodeFlags: build.nodeFlags,
    });
    return d;
  }
}

function sourceOf(body: string): string {
  const s = samplesByLabels(body, 'rootwatch_process_source');
  return Object.entries(s).filter(([, v]) => v === 1).map(([k]) => k.replace(/^source="(.*)"$/, '$1')).join('+') || 'none';
}

function scanFigures(after: string, before: string): { scans: number; scanMeanMs: number } {
  const h = diffHistogram(parseHistogram(after, SCAN_HIST), parseHistogram(before, SCAN_HIST));
  return { scans: h.count, scanMeanMs: h.count ? r((h.sum / h.count) * 1000, 2) : NaN };
}

function cpuDetail(w: CpuWindow): Record<string, unknown> {
  return { seconds: w.seconds, cpuPercent: w.cpuPercent, perSecond: w.perSecond, threads: w.threads };
}

/** Rows 1-3: CPU of an idle daemon over the window, after /ready, every container monitored and a settle. */
async function idleCpu(b: Bench, build: Build, containers: number): Promise<Figure> {
  const d = await b.daemon(build, containers, `idle-${containers}`);
  try {
    await sleep(IDLE_SETTLE_S * 1000);
    const before = await scrape(d.base);
    const w = await cpuWindow(d, WINDOW_S, b.hz);
    const after = await scrape(d.base);
    const mem = memory(d.pid);
    const scans = scanFigures(after, before);
    return {
      value: w.cpuPercent,
      text: `${w.cpuPercent} %`,
      detail: { ...cpuDetail(w), ...mem, ...scans, source: sourceOf(after), processes: procCount() },
    };
  } finally {
    await d.stop();
  }
}

/** Row 4: a container running RATE execs/s (processEvents' paced sh loops, `docker exec -d`), the daemon's CPU over the window. */
async function execCost(b: Bench, build: Build, containers: number): Promise<Figure> {
  const name = `budget-load-${build.label}`;
  const loadDir = join(b.workDir, `load-${build.label}`);
  mkdirSync(loadDir, { recursive: true });
  await b.engine.cli('run', '-d', '--name', name, '--network', 'none', '-v', `${loadDir}:/load`, TEST_IMAGE, 'sleep', '3600');
  const removeLoad = onCleanup(async () => void (await b.engine.cli('rm', '-f', name).catch(() => '')));
  try {
    const d = await b.daemon(build, containers + 1, 'exec');
    const gen = new ExecLoad(loadDir, RATE, { engine: b.engine, container: name });
    try {
      await sleep(SETTLE_S * 1000);
      gen.start();
      await sleep(3000);
      const before = await scrape(d.base);
      const g0 = gen.counts().execs;
      const t0 = nowMs();
      const w = await cpuWindow(d, EXEC_WINDOW_S, b.hz);
      const secs = (nowMs() - t0) / 1000;
      const genRate = (gen.counts().execs - g0) / secs;
      const after = await scrape(d.base);
      const execs = (samplesByLabels(after, 'rootwatch_process_events_total')['type="exec"'] ?? 0) - (samplesByLabels(before, 'rootwatch_process_events_total')['type="exec"'] ?? 0);
      const per1000 = genRate > 0 ? (w.cpuPercent * 1000) / genRate : NaN;
      return {
        value: r(per1000, 2),
        text: `${r(per1000, 2)} %`,
        detail: {
          ...cpuDetail(w), generatorRate: r(genRate, 0), daemonExecRate: r(execs / secs, 0), cpuPerThousandExecs: r(per1000, 2),
          ...scanFigures(after, before), dropped: sumSeries(after, 'rootwatch_process_events_dropped_total') - sumSeries(before, 'rootwatch_process_events_dropped_total'),
          source: sourceOf(after), rssMiB: memory(d.pid).rssMiB,
        },
      };
    } finally {
      gen.stop();
      await gen.stopCleanup();
      await d.stop();
    }
  } finally {
    await removeLoad();
  }
}

/** Row 6: RSS after the settle with `containers` monitored, after each churn round (back to `containers`), then after a fork storm. */
async function rssChurn(b: Bench, build: Build, containers: number): Promise<Figure> {
  const d = await b.daemon(build, containers, 'rss');
  /** Until the daemon monitors `containers` again (at most 20 s). */
  const backTo = async (): Promise<void> => {
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(100)) {
      d.alive();
      if (sumSeries(await scrape(d.base), 'rootwatch_containers') === containers) return;
    }
  };
  try {
    await sleep(SETTLE_S * 1000);
    const start = memory(d.pid);
    const rounds: { done: number; rssMiB: number; settleMs: number }[] = [];
    let done = 0;
    let failed = 0;
    const perRound = Math.ceil(CHURN / CHURN_ROUNDS);
    const t0 = nowMs();
    for (let round = 0; round < CHURN_ROUNDS; round++) {
      const first = round * perRound;
      const idx = Array.from({ length: Math.max(0, Math.min(perRound, CHURN - first)) }, (_, i) => first + i);
      await mapLimit(idx, 8, async (i) => {
        checkpoint();
        try {
          await runRemoved(b.engine.docker, `budget-churn-${build.label}-${i}`);
          done++;
        } catch {
          failed++;
        }
      });
      // Back to the baseline inventory (bounded), then a settle, then RSS.
      const s0 = nowMs();
      await backTo();
      const settleMs = nowMs() - s0;
      await sleep(SETTLE_S * 1000);
      rounds.push({ done, rssMiB: memory(d.pid).rssMiB, settleMs: r(settleMs, 0) });
    }
    const afterChurn = memory(d.pid);
    // The fork storm: FORKS plain forks in one container (4 workers), every one an event the addon
    // reads; then the container is removed and, after the settle, RSS.
    const storm = `budget-storm-${build.label}`;
    await b.engine.cli('run', '--name', storm, '--network', 'none', '-v', `${b.forkStorm()}:/fork-storm:ro`, TEST_IMAGE, '/fork-storm', String(FORKS), '4');
    const stormOut = (await b.engine.cli('logs', storm)).trim();
    await b.engine.cli('rm', '-f', storm);
    await backTo();
    await sleep(SETTLE_S * 1000);
    const end = memory(d.pid);
    const growth = r(end.rssMiB - start.rssMiB, 1);
    const trims = sumSeries(await scrape(d.base), 'rootwatch_memory_trims_total');
    return {
      value: Math.max(start.rssMiB, afterChurn.rssMiB, end.rssMiB),
      text: `${start.rssMiB} → ${afterChurn.rssMiB} → ${end.rssMiB} MiB`,
      detail: {
        rssAtStartMiB: start.rssMiB, rssAfterChurnMiB: afterChurn.rssMiB, rssAfterStormMiB: end.rssMiB, growthMiB: growth, peakMiB: end.hwmMiB, rounds, churned: done, failed,
        churnS: r((nowMs() - t0) / 1000, 1), forks: FORKS, storm: stormOut, memoryTrims: trims,
      },
    };
  } finally {
    await d.stop();
  }
}

/** Row 7, one run: the whole CLI process, `audit --json` against the private engine. */
interface AuditRun {
  ms: number;
  cpuMs: number;
  maxRssMiB: number;
}

async function auditOnce(b: Bench, build: Build, containers: number): Promise<AuditRun> {
  const res = await runNode([build.mainJs, '--config', '/dev/null', '--docker-host', b.engine.dockerHost, 'audit', '--json'], build.root, build.nodeFlags);
  // 0: nothing reaches --fail-on; 1: something does. Both are a completed audit.
  if (res.code !== 0 && res.code !== 1) throw new Error(`${build.label} audit exited ${res.code}: ${res.stderr.trim().slice(-500)}`);
  const audited = (JSON.parse(res.stdout) as { containers: unknown[] }).containers.length;
  if (audited !== containers) throw new Error(`${build.label} audit reported ${audited} containers, expected ${containers}`);
  return { ms: res.ms, cpuMs: res.cpuMs, maxRssMiB: res.maxRssMiB };
}

// ---------------------------------------------------------------- main

export async function main(): Promise<Record<string, unknown>> {
  const loadStart = load1();
  const processesBefore = procCount();
  const sleepers = new Sleepers(3600);
  try {
    if (process.getuid?.() !== 0) throw new Error('budget needs root (private dockerd, process connector)');
    const dist = ensureBuilt();
    const now: Build = { label: 'now', what: `this checkout (${ROOT}), dist/ ${dist}`, root: ROOT, mainJs: MAIN_JS };
    const builds: Build[] = [];
    let baselineInfo: Record<string, unknown> | null = null;
    if (BASELINE) {
      const o = await buildRevision(BASELINE, 'budget-base');
      builds.push({ label: 'baseline', what: `${o.rev} (${o.commit}), built with: ${o.steps.join('; ')}`, root: o.dir, mainJs: o.mainJs });
      baselineInfo = { rev: o.rev, commit: o.commit, steps: o.steps };
    }
    builds.push(now);
    FLAG_SETS.forEach((flags, i) => builds.push({ ...now, label: `now-f${i + 1}`, what: `this checkout, node ${flags.join(' ')}`, nodeFlags: flags }));
    /** Row n runs the builds in this order: alternating from row to row. */
    const order = (n: number): Build[] => (n % 2 ? builds : [...builds].reverse());

    const hz = clockTicks();
    const engine = await startBenchEngine('budget');
    const workDir = mkdtempSync(join(tmpdir(), 'rwt-budget-work-'));
    onCleanup(async () => rmSync(workDir, { recursive: true, force: true }));
    onCleanup(async () => {
      if (sleepers.count) progress(`killing ${sleepers.count} sleep children`);
      await sleepers.killAll();
    });
    const b = new Bench(engine, workDir, hz);

    const rows = new Map<number, Row>(ROW_DEFS.filter((d) => ROWS.has(d.n)).map((d) => [d.n, { ...d, byBuild: {} }]));
    const ids: string[] = [];
    /** Running idle containers up to `n` (they only grow), and /proc topped up to PROCS. */
    const ensure = async (n: number): Promise<void> => {
      if (ids.length < n) progress(`starting ${n - ids.length} idle containers (sleep 3600), 10 at a time`);
      const more = await mapLimit(Array.from({ length: Math.max(0, n - ids.length) }, (_, i) => ids.length + i), 10, async (i) => {
        const c = await engine.docker.createContainer({ name: `budget-idle-${i}`, Image: TEST_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } });
        await c.start();
        return c.id;
      });
      ids.push(...more);
      checkpoint();
      const missing = PROCS - procCount();
      if (missing > 0) {
        progress(`${procCount()} processes in /proc; spawning ${missing} \`sleep 3600\` children`);
        await sleepers.spawn(missing);
      }
      checkpoint();
    };
    const each = async (n: number, containers: number, fn: (b: Bench, build: Build, containers: number) => Promise<Figure>): Promise<void> => {
      const row = rows.get(n);
      if (!row) return;
      await ensure(containers);
      for (const build of order(n)) {
        checkpoint();
        progress(`row ${n} (${row.what}): ${build.label}`);
        row.byBuild[build.label] = await fn(b, build, containers);
      }
    };

    // Stages by container count (containers only ever get added): 0, small, audit, large.
    const stages: { containers: number; run: () => Promise<void> }[] = [
      { containers: 0, run: () => each(2, 0, idleCpu) },
      { containers: C_SMALL, run: async () => {
        await each(3, C_SMALL, idleCpu);
        await each(4, C_SMALL, execCost);
      } },
      { containers: C_AUDIT, run: async () => {
        // Row 7 interleaves single runs of the builds (one warm-up each for the page cache, not counted).
        const row = rows.get(7);
        if (!row) return;
        await ensure(C_AUDIT);
        progress(`row 7 (${row.what}): ${AUDIT_RUNS} runs per build, alternating`);
        const runs = new Map<Build, AuditRun[]>(builds.map((x) => [x, []]));
        for (const x of builds) await auditOnce(b, x, C_AUDIT);
        for (let i = 0; i < AUDIT_RUNS; i++) for (const x of order(i)) runs.get(x)?.push(await auditOnce(b, x, C_AUDIT));
        for (const x of builds) row.byBuild[x.label] = auditFigure(runs.get(x) ?? []);
      } },
      { containers: C_LARGE, run: async () => {
        await each(1, C_LARGE, idleCpu);
        await each(6, C_LARGE, rssChurn);
        const row5 = rows.get(5);
        if (row5) {
          await ensure(C_LARGE);
          progress(`row 5: breakout scan (this build, in process) vs naive full scan, ${SCAN_STEADY} / ${SCAN_NAIVE} scans`);
          const m = await measureScan(engine.docker, engine.pid(), ids.slice(0, C_LARGE), { steady: SCAN_STEADY, naive: SCAN_NAIVE, fresh: 1 });
          // The figure: what the daemon scans per interval with process events (a light pass and a
          // full scan's share), against the naive scan; the full scan alone beside it.
          row5.byBuild.now = {
            value: r(m.periodicRatio, 1),
            text: `${r(m.periodicRatio, 1)}x (full ${r(m.ratio, 1)}x)`,
            detail: {
              lightMedianMs: r(m.light.median, 3), periodicMs: r(m.periodicMs, 3), fullScanRatio: r(m.ratio, 1),
              processes: m.processes, containers: m.containers, containerProcesses: m.containerProcesses, steadyMedianMs: r(m.steady.median, 2),
              steadyP90Ms: r(m.steady.p90, 2), naiveMedianMs: r(m.naive.median, 2), firstScanMs: r(m.first.ms, 1), naiveProcessesRead: m.naiveResult.processes,
            },
          };
        }
      } },
    ];
    stages.sort((a, c) => a.containers - c.containers);
    for (const st of stages) await st.run();

    // ---- figures
    checkpoint();
    const mach = machine(loadStart);
    const withBase = !!BASELINE;
    const col = (a: string, w: number): string => a.padEnd(w);
    const header = withBase ? `${col('goal', 22)} | ${col('baseline', 20)} | ${col('now', 20)} | now ÷ baseline` : `${col('goal', 22)} | now`;
    const table: [string, string][] = [['row', header]];
    const details: [string, string][] = [];
    for (const row of rows.values()) {
      const n = row.byBuild.now;
      const base = row.byBuild.baseline;
      const verdict = n ? (row.meets(n) ? 'PASS' : 'FAIL') : 'n/a';
      const nowText = n ? `${n.text} ${verdict}` : 'n/a';
      const ratio = n && base && base.value ? `${r(n.value / base.value, 2)}` : '—';
      table.push([`${row.n}. ${row.what}`, withBase ? `${col(row.goal, 22)} | ${col(base?.text ?? '—', 20)} | ${col(nowText, 20)} | ${ratio}` : `${col(row.goal, 22)} | ${nowText}`]);
      for (const x of builds.filter((y) => y.nodeFlags)) {
        const f = row.byBuild[x.label];
        table.push([`   ${x.label}`, `${col('', 22)} | ${f ? `${f.text} ${row.meets(f) ? 'PASS' : 'FAIL'}` : 'n/a'}`]);
      }
      for (const [label, f] of Object.entries(row.byBuild)) if (f) details.push([`${row.n}. ${label}`, JSON.stringify(f.detail)]);
    }
    printBlock(`budget: issue 14's cost table${withBase ? ` (baseline ${BASELINE})` : ''}`, [
      ...table,
      ...builds.map((x) => [x.label, x.what] as [string, string]),
      ['host processes', `${processesBefore} in /proc before the bench, target ${PROCS}, ${sleepers.count} \`sleep\` children added; now ${procCount()}`],
      ['knobs', `idle window ${WINDOW_S} s after ${IDLE_SETTLE_S} s (exec ${EXEC_WINDOW_S} s), settle ${SETTLE_S} s, ${RATE} execs/s, churn ${CHURN} in ${CHURN_ROUNDS} rounds, ${AUDIT_RUNS} audit runs${QUICK ? ' (quick mode)' : ''}`],
      mach.row,
    ]);
    printBlock('budget: details per row and build', details);
    const result = {
      bench: 'budget',
      machine: { cores: mach.cores, load1Start: mach.load1Start, load1End: mach.load1End },
      baseline: baselineInfo,
      knobs: { quick: QUICK, windowS: WINDOW_S, idleSettleS: IDLE_SETTLE_S, settleS: SETTLE_S, procs: PROCS, containers: C_LARGE, containersSmall: C_SMALL, auditContainers: C_AUDIT, rate: RATE, execWindowS: EXEC_WINDOW_S, churn: CHURN, churnRounds: CHURN_ROUNDS, auditRuns: AUDIT_RUNS },
      rows: [...rows.values()].map((row) => ({
        row: row.n, what: row.what, goal: row.goal, unit: row.unit,
        baseline: row.byBuild.baseline ? { value: row.byBuild.baseline.value, ...row.byBuild.baseline.detail } : null,
        now: row.byBuild.now ? { value: row.byBuild.now.value, pass: row.meets(row.byBuild.now), ...row.byBuild.now.detail } : null,
        ratio: row.byBuild.now && row.byBuild.baseline?.value ? r(row.byBuild.now.value / row.byBuild.baseline.value, 3) : null,
      })),
    };
    printBenchJson(result);
    return result;
  } finally {
    await runCleanups();
  }
}

function auditFigure(runs: AuditRun[]): Figure {
  const wall = summarize(runs.map((x) => x.ms));
  const cpu = summarize(runs.map((x) => x.cpuMs));
  return {
    value: r(wall.median / 1000, 3),
    text: `${r(wall.median / 1000, 3)} s`,
    detail: { runs: runs.length, wallMedianMs: r(wall.median, 0), wallMinMs: r(wall.min, 0), wallMaxMs: r(wall.max, 0), cpuMedianMs: r(cpu.median, 0), peakRssMiB: r(Math.max(...runs.map((x) => x.maxRssMiB)), 1) },
  };
}

if (isMain(import.meta.url)) runStandalone(main);
