// Shared helpers for the benchmarks: a private engine and an in-process daemon that are always torn
// down (finally blocks and SIGINT/SIGTERM), an event recorder on the engine's own event stream, a
// /metrics poller, histogram parsing, percentiles and the printed figures block.
// Benchmarks never touch the host's Docker engine: they use the test harness's private dockerd.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { startDaemon, type Daemon } from '../src/cli/run.js';
import { validateConfig } from '../src/config/load.js';
import { parseEndpoint } from '../src/docker/endpoint.js';
import { createLogger, type LogLevel } from '../src/log/logger.js';
import { TEST_IMAGE, ensureTestImage, startPrivateDockerd, type PrivateEngine } from '../test/harness/privateDockerd.js';

export { TEST_IMAGE };

// ---------------------------------------------------------------- time, stats, printing

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with Docker's timeNano). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Summary {
  n: number;
  min: number;
  median: number;
  mean: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    min: s[0] ?? NaN,
    median: percentile(s, 50),
    mean: s.length ? mean : NaN,
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
  };
}

/** Round for printing and for the BENCH JSON line. */
export function r(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function roundSummary(s: Summary, digits = 1): Summary {
  return { n: s.n, min: r(s.min, digits), median: r(s.median, digits), mean: r(s.mean, digits), p90: r(s.p90, digits), p99: r(s.p99, digits), max: r(s.max, digits) };
}

export function fmtSummary(s: Summary, unit = 'ms'): string {
  return `median ${r(s.median)} ${unit}, p90 ${r(s.p90)}, p99 ${r(s.p99)}, max ${r(s.max)} (min ${r(s.min)}, mean ${r(s.mean)}, n=${s.n})`;
}

/** Machine context for the figures: cores and 1-minute load averages (other work skews them). */
export function machine(loadAtStart: number): { cores: number; load1Start: number; load1End: number; row: [string, string] } {
  const end = r(loadavg()[0] ?? NaN, 2);
  const cores = availableParallelism();
  return { cores, load1Start: r(loadAtStart, 2), load1End: end, row: ['machine', `${cores} cores; 1-min load average ${r(loadAtStart, 2)} at start, ${end} at end; node ${process.version}`] };
}

export function load1(): number {
  return loadavg()[0] ?? NaN;
}

/** The human-readable figures block. */
export function printBlock(title: string, rows: [string, string][]): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = '='.repeat(Math.max(title.length, 60));
  console.log(`\n${line}\n${title}\n${line}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
  console.log(line);
}

/** The machine-readable line: `BENCH {...}`. */
export function printBenchJson(obj: Record<string, unknown>): void {
  console.log(`BENCH ${JSON.stringify(obj)}`);
}

export function progress(msg: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Run fn over items with at most `concurrency` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------- cleanup and signals

const cleanups: (() => Promise<void>)[] = [];
let signalsHooked = false;
let interrupted = false;

export function wasInterrupted(): boolean {
  return interrupted;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn().catch((e) => console.error(`cleanup failed: ${(e as Error).message}`)));
}

/** Register an idempotent cleanup; run in reverse order by runCleanups() and on SIGINT/SIGTERM. */
export function onCleanup(fn: () => Promise<void>): () => Promise<void> {
  const f = once(fn);
  cleanups.push(f);
  return f;
}

let draining: Promise<void> | null = null;

/**
 * Run the registered cleanups, last first. One drain at a time: a second caller (the SIGINT handler
 * while a bench's `finally` is already cleaning up, or the other way round) waits for the same drain,
 * so nobody calls process.exit() while another caller is still tearing down an engine.
 */
export function runCleanups(): Promise<void> {
  draining ??= (async () => {
    try {
      while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
    } finally {
      draining = null;
    }
  })();
  return draining;
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (interrupted) {
        console.error(`${sig} again while cleaning up; still cleaning up (engines live under /tmp/rwt-bench*)`);
        return;
      }
      interrupted = true;
      console.error(`\n${sig}: stopping the daemon and destroying the private engine…`);
      // Work still in flight fails once the engine is gone; do not let that crash the cleanup.
      process.on('unhandledRejection', () => undefined);
      void runCleanups().finally(() => process.exit(130));
    });
  }
}

// ---------------------------------------------------------------- engine and daemon

/** A private dockerd named `bench<suffix>` with the busybox test image, destroyed on cleanup. */
export async function startBenchEngine(suffix: string, extraArgs: string[] = []): Promise<PrivateEngine> {
  hookSignals();
  const name = `bench${suffix}`;
  progress(`starting private dockerd "${name}" (/tmp/rwt-${name}-*)`);
  const starting = startPrivateDockerd(name, { extraArgs });
  // Registered before it is up, so an interrupt during start-up still tears it down.
  onCleanup(async () => {
    const e = await starting.catch(() => null);
    if (e) {
      progress(`destroying private dockerd ${e.dir}`);
      await e.destroy();
    }
  });
  const engine = await starting;
  await ensureTestImage(engine);
  return engine;
}

export interface BenchDaemon {
  daemon: Daemon;
  base: string;
  stop(): Promise<void>;
}

/**
 * The rootwatch daemon in this process, default config, metrics on 127.0.0.1:<ephemeral>, logs discarded.
 * The breakout scanner's host reference is the private engine's dockerd. `overrides` are merged into
 * the (otherwise empty) YAML config; BENCH_BREAKOUT_INTERVAL (e.g. `1h`) sets breakout.interval.
 */
export async function startBenchDaemon(
  engine: PrivateEngine,
  overrides: Record<string, unknown> = {},
  /** Where its JSON log lines go, and from which level (default: nowhere). */
  log: { level: LogLevel; stream: Writable } = { level: 'emerg', stream: new Writable({ write: (_c, _e, cb) => cb() }) },
): Promise<BenchDaemon> {
  const breakout: Record<string, unknown> = { host_reference_pid: engine.pid() };
  if (process.env.BENCH_BREAKOUT_INTERVAL) breakout.interval = process.env.BENCH_BREAKOUT_INTERVAL;
  const extra = (overrides.breakout ?? {}) as Record<string, unknown>;
  const daemon = await startDaemon({
    config: validateConfig({ ...overrides, breakout: { ...breakout, ...extra } }, 'bench'),
    endpoints: [parseEndpoint(engine.dockerHost, {})],
    configFile: '/dev/null',
    configExplicit: false,
    listen: '127.0.0.1:0',
    logger: createLogger({ level: log.level, stream: log.stream }),
  });
  const stop = onCleanup(() => daemon.stop());
  const base = `http://127.0.0.1:${daemon.address.port}`;
  const deadline = Date.now() + 30_000;
  while ((await fetch(`${base}/ready`).then((x) => x.status, () => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error('daemon not ready after 30 s');
    await sleep(20);
  }
  return { daemon, base, stop };
}

// ---------------------------------------------------------------- /metrics

export async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

const FINDING_ID = /^rootwatch_container_finding\{container_id="([0-9a-f]{12})"/gm;

/** Short ids of containers that have at least one rootwatch_container_finding series. */
export function findingIds(body: string): Set<string> {
  const ids = new Set<string>();
  for (const m of body.matchAll(FINDING_ID)) ids.add(m[1] as string);
  return ids;
}

/** Sum of every series of a metric (with or without labels), e.g. rootwatch_containers of each engine. */
export function sumSeries(body: string, metric: string): number {
  let n = 0;
  for (const line of body.split('\n')) if (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

export function countSeries(body: string, metric: string): number {
  let n = 0;
  for (const line of body.split('\n')) if (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) n++;
  return n;
}

/** Value of one sample, e.g. sample(body, 'rootwatch_docker_events_total{action="start"}'). */
export function sample(body: string, series: string): number {
  for (const line of body.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** All samples of a metric by label set text, e.g. {'action="start"': 12}. */
export function samplesByLabels(body: string, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const m of body.matchAll(re)) out[m[1] as string] = Number(m[2]);
  return out;
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, +Inf last. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/**
 * A histogram from a scrape: the series whose labels (besides `le`) include `labels` (e.g.
 * `pass="full"`), summed over the rest (all of them when `labels` is empty).
 */
export function parseHistogram(body: string, name: string, labels = ''): Histogram {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  const wanted = (set: string): boolean => labels === '' || set.split(',').includes(labels);
  for (const line of body.split('\n')) {
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || !m[1]?.startsWith(name)) continue;
    const all = (m[2] ?? '').split(',').filter((x) => x !== '');
    const le = all.find((x) => x.startsWith('le='));
    const rest = all.filter((x) => x !== le).join(',');
    if (!wanted(rest)) continue;
    const v = Number(m[3]);
    if (m[1] === `${name}_bucket` && le) {
      const bound = le === 'le="+Inf"' ? Infinity : Number(le.slice(4, -1));
      byLe.set(bound, (byLe.get(bound) ?? 0) + v);
    } else if (m[1] === `${name}_sum`) sum += v;
    else if (m[1] === `${name}_count`) count += v;
  }
  const buckets = [...byLe].map(([le, n]) => ({ le, count: n })).sort((a, b) => a.le - b.le);
  return { buckets, sum, count };
}

/** Observations between two scrapes of the same histogram. */
export function diffHistogram(after: Histogram, before: Histogram): Histogram {
  return {
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Quantile estimated from cumulative buckets by linear interpolation, like PromQL histogram_quantile. */
export function histogramQuantile(h: Histogram, q: number): number {
  const total = h.buckets[h.buckets.length - 1]?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe; // as PromQL: the highest finite bound
      const inBucket = b.count - prevCount;
      return inBucket === 0 ? b.le : prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** "p50 ≈ … ms" figures of the daemon's own rootwatch_audit_duration_seconds over an interval. */
export function auditDurationFigures(h: Histogram): { count: number; meanMs: number; p50Ms: number; p90Ms: number; p99Ms: number } {
  return {
    count: h.count,
    meanMs: h.count ? r((h.sum / h.count) * 1000, 2) : NaN,
    p50Ms: r(histogramQuantile(h, 0.5) * 1000, 2),
    p90Ms: r(histogramQuantile(h, 0.9) * 1000, 2),
    p99Ms: r(histogramQuantile(h, 0.99) * 1000, 2),
  };
}

/**
 * Polls /metrics every `intervalMs` (one scrape in flight at a time, only while something is awaited)
 * and resolves each awaited short id with the wall time of the first scrape that showed it.
 * The time taken is the scrape's completion, so a figure includes up to one interval plus one scrape.
 */
export class MetricsPoller {
  private readonly pending = new Map<string, (t: number) => void>();
  private running = false;
  readonly scrapeMs: number[] = [];

  constructor(private readonly base: string, private readonly intervalMs = 2) {}

  waitFor(shortId: string): Promise<number> {
    return new Promise<number>((resolveSeen) => {
      this.pending.set(shortId, resolveSeen);
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.size > 0 && !interrupted) {
        const t0 = nowMs();
        let body: string;
        try {
          body = await scrape(this.base);
        } catch {
          await sleep(this.intervalMs);
          continue;
        }
        const t1 = nowMs();
        this.scrapeMs.push(t1 - t0);
        for (const id of findingIds(body)) {
          const done = this.pending.get(id);
          if (done) {
            this.pending.delete(id);
            done(t1);
          }
        }
        await sleep(this.intervalMs);
      }
    } finally {
      this.running = false;
    }
  }
}

// ---------------------------------------------------------------- the engine's own event stream

/** Subscribes to the engine's container events and records start times (Docker's timeNano) and counts. */
export class EventRecorder {
  private readonly abort = new AbortController();
  private readonly startWaiters = new Map<string, (t: number) => void>();
  /** Full id → engine timestamp (ms, from timeNano) of its start event. */
  readonly startAt = new Map<string, number>();
  /** Full id → when this process received that start event (ms). */
  readonly startReceivedAt = new Map<string, number>();
  readonly counts: Record<string, number> = {};

  private constructor() {}

  static async subscribe(docker: Docker): Promise<EventRecorder> {
    const rec = new EventRecorder();
    const opts: Docker.GetEventsOptions & { abortSignal?: AbortSignal } = { filters: { type: ['container'] }, abortSignal: rec.abort.signal };
    const stream = await docker.getEvents(opts);
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      const received = nowMs();
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) rec.onLine(line, received);
      }
    });
    stream.on('error', () => undefined);
    onCleanup(async () => rec.close());
    return rec;
  }

  private onLine(line: string, received: number): void {
    let e: { Action?: string; id?: string; Actor?: { ID?: string }; timeNano?: number; time?: number };
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    const action = (e.Action ?? '').split(':')[0] ?? '';
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    const id = e.Actor?.ID ?? e.id;
    if (action !== 'start' || !id) return;
    // timeNano (~1.7e18) loses a few hundred ns as a double: irrelevant at millisecond scale.
    const at = typeof e.timeNano === 'number' ? e.timeNano / 1e6 : (e.time ?? 0) * 1000;
    this.startAt.set(id, at);
    this.startReceivedAt.set(id, received);
    this.startWaiters.get(id)?.(at);
    this.startWaiters.delete(id);
  }

  /** The engine time of a container's start event (waits for it if needed). */
  startTime(id: string, timeoutMs = 30_000): Promise<number> {
    const known = this.startAt.get(id);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolveStart, reject) => {
      const t = setTimeout(() => reject(new Error(`no start event for ${id.slice(0, 12)} within ${timeoutMs} ms`)), timeoutMs);
      this.startWaiters.set(id, (at) => {
        clearTimeout(t);
        resolveStart(at);
      });
    });
  }

  close(): void {
    this.abort.abort();
  }
}

// ---------------------------------------------------------------- containers

/** `docker run --rm busybox true`: create with AutoRemove, wait for removal, start. */
export async function runRemoved(docker: Docker, name: string): Promise<void> {
  const c = await docker.createContainer({ name, Image: TEST_IMAGE, Cmd: ['true'], HostConfig: { AutoRemove: true } });
  // Issued before start, as the docker CLI does; a 404 means it was already removed.
  const removed = c.wait({ condition: 'removed' }).catch((e: { statusCode?: number }) => {
    if (e?.statusCode !== 404) throw e;
  });
  try {
    await c.start();
  } catch (e) {
    await c.remove({ force: true }).catch(() => undefined);
    throw e;
  }
  await removed;
}

/** Remove containers (force), a few at a time. */
export async function removeAll(engine: PrivateEngine, ids: string[], concurrency = 8): Promise<void> {
  await mapLimit(ids, concurrency, (id) => engine.docker.getContainer(id).remove({ force: true }).catch(() => undefined));
}

// ---------------------------------------------------------------- running a bench

/** True when this module file is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  return !!process.argv[1] && resolve(process.argv[1]) === fileURLToPath(metaUrl);
}

/** Run a bench as a script: clean up whatever happens, exit non-zero on failure. */
export function runStandalone(main: () => Promise<unknown>): void {
  main()
    .then(
      async () => {
        await runCleanups();
        if (!interrupted) process.exit(0);
      },
      async (e) => {
        if (interrupted) return;
        console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
        await runCleanups();
        process.exit(1);
      },
    );
}

// ---------------------------------------------------------------- child-daemon helpers (shared)

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MAIN_JS = join(ROOT, 'dist', 'src', 'main.js');
/** The node flags every launcher gives the daemon (systemd unit, package wrapper, scripts/run.sh): measure what ships. */
export const NODE_FLAGS = ['--max-semi-space-size=1'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** dist/ is (re)built when missing, older than src/, or BENCH_BUILD=1: a child daemon must run the current code. */
export function ensureBuilt(): string {
  if (existsSync(MAIN_JS) && newestMtime(join(ROOT, 'src')) <= statSync(MAIN_JS).mtimeMs && process.env.BENCH_BUILD !== '1') return 'up to date';
  progress('building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return 'built now';
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
export function stopChild(child: ChildProcess, graceMs = 6000): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(`already exited (${child.exitCode ?? child.signalCode})`);
  return new Promise((resolveStop) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolveStop(code !== null ? `exit ${code}` : `signal ${signal}`);
    });
    child.kill('SIGTERM');
  });
}

/** After Ctrl-C the cleanups are running: start nothing new (no daemon would be left to stop it). */
export function checkpoint(): void {
  if (wasInterrupted()) throw new Error('interrupted');
}

/** Clock ticks per second, for utime/stime in /proc/<pid>/stat. */
export function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

// ---------------------------------------------------------------- a child process's CPU and memory (/proc)

/** utime+stime of a process (all its threads, the addon's reader included), in clock ticks. */
export function cpuTicks(pid: number, task?: number): number {
  const text = readFileSync(task === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${task}/stat`, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** utime+stime per thread (tid → ticks). */
export function threadTicks(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), cpuTicks(pid, Number(tid)));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** test/fixtures/breakout/fork-storm.c built static into `dir` (to bind-mount into a busybox container); its path. */
export function buildForkStorm(dir: string): string {
  const out = join(dir, 'fork-storm');
  execFileSync('gcc', ['-static', '-O2', '-o', out, join(ROOT, 'test', 'fixtures', 'breakout', 'fork-storm.c')]);
  return out;
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memory(pid: number): { rssMiB: number; hwmMiB: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMiB: r(kb('VmRSS') / 1024, 1), hwmMiB: r(kb('VmHWM') / 1024, 1) };
}

/** Kill a child started with detached: true and everything in its process group. */
export function killGroup(child: ChildProcess): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

// ---------------------------------------------------------------- paced exec load (on the host or in a container)

/**
 * `loops` sh loops, each running `batch` × /bin/true then `sleep S` (an exec too), where S is read
 * (dash builtin `read`) from a control file the bench rewrites every 500 ms to hold `rate` execs/s.
 * Each batch appends one line, `s` (slept) or `n`, so the generator counts its own execs.
 */
export class ExecLoad {
  private child: ChildProcess | null = null;
  private readonly ctl: string;
  private readonly count: string;
  private timer: NodeJS.Timeout | null = null;
  private sleepS: number;
  private last = { t: 0, batches: 0 };
  readonly stopCleanup: () => Promise<void>;

  /**
   * `inside`: run the loops in this container (started with `dir` bind-mounted at /load) through
   * `docker exec -d`, so every exec is a container process; otherwise on the host.
   */
  constructor(dir: string, private readonly rate: number, private readonly inside: { engine: PrivateEngine; container: string } | null = null,
    private readonly loops = 3, private readonly batch = 20) {
    this.ctl = join(dir, 'load.ctl');
    this.count = join(dir, 'load.count');
    // A first guess of ~1.3 ms per fork+exec; the controller corrects it.
    this.sleepS = Math.max(0, ((batch + 1) * loops) / rate - batch * 0.0013);
    this.stopCleanup = onCleanup(async () => this.stop());
  }

  private writeCtl(): void {
    writeFileSync(`${this.ctl}.tmp`, `${this.sleepS.toFixed(3)}\n`);
    renameSync(`${this.ctl}.tmp`, this.ctl); // atomic: a loop never reads a half-written file
  }

  /** Batches and execs done so far. */
  counts(): { batches: number; execs: number } {
    let text = '';
    try {
      text = readFileSync(this.count, 'utf8');
    } catch {
      return { batches: 0, execs: 0 };
    }
    let batches = 0;
    let slept = 0;
    for (let i = 0; i < text.length; i += 2) {
      batches++;
      if (text[i] === 's') slept++;
    }
    return { batches, execs: batches * this.batch + slept };
  }

  start(): void {
    writeFileSync(this.count, '');
    this.writeCtl();
    // One session and process group (detached: setsid) for all loops: one autogroup, killed as one.
    const script = 'B=$1; C=$2; K=$3; L=$4; loop() { while :; do i=0; while [ $i -lt $B ]; do /bin/true; i=$((i+1)); done; read S < "$C"; '
      + 'if [ "$S" = 0.000 ]; then echo n >> "$K"; else sleep "$S"; echo s >> "$K"; fi; done; }; '
      + 'n=0; while [ $n -lt $L ]; do loop & n=$((n+1)); done; wait';
    if (this.inside) {
      void this.inside.engine.cli('exec', '-d', this.inside.container, 'sh', '-c', script, 'rwpe-load', String(this.batch), '/load/load.ctl', '/load/load.count', String(this.loops));
    } else {
      this.child = spawn('/bin/sh', ['-c', script, 'rwpe-load', String(this.batch), this.ctl, this.count, String(this.loops)], { stdio: 'ignore', detached: true });
    }
    this.last = { t: nowMs(), batches: 0 };
    this.timer = setInterval(() => this.adjust(), 500);
  }

  private adjust(): void {
    const now = nowMs();
    const { batches } = this.counts();
    const dt = (now - this.last.t) / 1000;
    const done = batches - this.last.batches;
    this.last = { t: now, batches };
    if (done <= 0 || dt <= 0) return;
    // Per loop: period = work + sleep. Keep the work as measured, choose the sleep for the target period.
    const period = (dt * this.loops) / done;
    const work = Math.max(0, period - this.sleepS);
    const target = ((this.batch + 1) * this.loops) / this.rate;
    const next = Math.min(0.5, Math.max(0, target - work));
    this.sleepS = 0.5 * this.sleepS + 0.5 * next;
    if (this.sleepS < 0.001) this.sleepS = 0;
    this.writeCtl();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.child) killGroup(this.child);
    this.child = null;
  }
}

export interface CpuWindow {
  seconds: number;
  cpuPercent: number;
  perSecond: { median: number; max: number };
  /** Split by thread: the main (JavaScript) thread, the busiest other one (the addon's reader when events flow), the rest. */
  threads: { mainPercent: number; busiestOtherPercent: number; restPercent: number };
}

export function threadSplit(pid: number, before: Map<number, number>, after: Map<number, number>, hz: number, wall: number): CpuWindow['threads'] {
  const pct = (ticks: number): number => r((ticks / hz / wall) * 100, 1);
  let main = 0;
  const others: number[] = [];
  for (const [tid, t] of after) {
    const d = t - (before.get(tid) ?? 0);
    if (tid === pid) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const busiest = others[0] ?? 0;
  return { mainPercent: pct(main), busiestOtherPercent: pct(busiest), restPercent: pct(others.slice(1).reduce((a, b) => a + b, 0)) };
}

/** utime+stime over `seconds`, sampled each second (percent of one core). */
export async function cpuWindow(d: { pid: number; alive(): void }, seconds: number, hz: number): Promise<CpuWindow> {
  const threads0 = threadTicks(d.pid);
  const ticks = [cpuTicks(d.pid)];
  const t0 = nowMs();
  const times = [t0];
  for (let s = 1; s <= seconds; s++) {
    await sleep(Math.max(0, t0 + s * 1000 - nowMs()));
    checkpoint();
    d.alive();
    ticks.push(cpuTicks(d.pid));
    times.push(nowMs());
  }
  const threads1 = threadTicks(d.pid);
  const used = ((ticks[ticks.length - 1] as number) - (ticks[0] as number)) / hz;
  const wall = ((times[times.length - 1] as number) - t0) / 1000;
  const per = summarize(ticks.slice(1).map((t, i) => ((t - (ticks[i] as number)) / hz / (((times[i + 1] as number) - (times[i] as number)) / 1000)) * 100));
  return { seconds: r(wall, 1), cpuPercent: r((used / wall) * 100, 2), perSecond: { median: r(per.median, 1), max: r(per.max, 1) }, threads: threadSplit(d.pid, threads0, threads1, hz, wall) };
}

// ---------------------------------------------------------------- host processes


export const SPAWN_BATCH = 200;

/** `ls /proc | grep -c '^[0-9]'`. */
export function procCount(): number {
  let n = 0;
  for (const name of readdirSync('/proc')) if (/^\d+$/.test(name)) n++;
  return n;
}

/** Plain `sleep <seconds>` children of the bench (same process group), killed and reaped by killAll(). */
export class Sleepers {
  private readonly children: ChildProcess[] = [];
  /** Set by killAll: a batch still in flight kills what it spawns, and no further batch starts. */
  private stopped = false;

  constructor(private readonly seconds = 600) {}

  get count(): number {
    return this.children.length;
  }

  async spawn(n: number): Promise<void> {
    for (let done = 0; done < n && !this.stopped; ) {
      const batch = Math.min(SPAWN_BATCH, n - done);
      await Promise.all(
        Array.from({ length: batch }, () => new Promise<void>((resolveSpawn, reject) => {
          const c = spawn('sleep', [String(this.seconds)], { stdio: 'ignore', detached: false });
          c.once('error', reject);
          if (this.stopped) {
            c.kill('SIGKILL');
            resolveSpawn();
            return;
          }
          this.children.push(c);
          c.once('spawn', () => resolveSpawn());
        })),
      );
      done += batch;
    }
    if (this.stopped) throw new Error('interrupted while spawning host processes');
  }

  async killAll(): Promise<void> {
    this.stopped = true;
    const live = this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(live.map((c) => new Promise<void>((resolveExit) => {
      c.once('exit', () => resolveExit());
      if (!c.kill('SIGKILL')) resolveExit();
    })));
    this.children.length = 0;
  }
}

// ---------------------------------------------------------------- one-shot node processes

/**
 * Preloaded into each child (`node --import`): reports the child's own CPU time and peak RSS on exit,
 * so the figures stay meaningful when other work competes for the CPUs (wall time does not).
 */
export const CPU_HOOK = 'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();' +
  'process.stderr.write("\\nRWBENCH_CPU "+JSON.stringify({cpuMs:(u.userCPUTime+u.systemCPUTime)/1000,maxRssKiB:u.maxRSS})+"\\n")})';

export interface RunResult { ms: number; cpuMs: number; maxRssMiB: number; code: number; stdout: string; stderr: string }

/** `node NODE_FLAGS <args>` with the CPU hook, in `cwd` (default: this checkout): wall time, its own CPU time and peak RSS. */
export function runNode(args: string[], cwd = ROOT, nodeFlags: readonly string[] = NODE_FLAGS): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const t0 = nowMs();
    execFile(process.execPath, [...nodeFlags, '--import', CPU_HOOK, ...args], { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const ms = nowMs() - t0;
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      const m = /^RWBENCH_CPU (.*)$/m.exec(stderr);
      const usage = m ? (JSON.parse(m[1] as string) as { cpuMs: number; maxRssKiB: number }) : { cpuMs: NaN, maxRssKiB: NaN };
      resolveRun({ ms, cpuMs: usage.cpuMs, maxRssMiB: usage.maxRssKiB / 1024, code, stdout, stderr: stderr.replace(/^RWBENCH_CPU .*$/m, '') });
    });
  });
}

// ---------------------------------------------------------------- the daemon as a child process, of any build

export interface ChildDaemon {
  pid: number;
  base: string;
  logFile: string;
  child: ChildProcess;
  /** Throws (with the log's tail) when the daemon has exited. */
  alive(): void;
  stop(): Promise<string>;
}

/**
 * `node NODE_FLAGS <mainJs> --config <dir>/rootwatch.yaml run`, its own session (setsid) as under
 * systemd, stdout and stderr to `logFile`; resolves once /ready answers 200 and the daemon monitors
 * `expected` containers (rootwatch_containers, summed over engines). The config sits in a directory of
 * its own: the daemon watches that directory, and other files there would cost it CPU no host would see.
 */
export async function spawnDaemon(opts: {
  mainJs: string; configYaml: string; configDir: string; logFile: string; port: number; expected: number; label: string;
  /** Nice value of the daemon (e.g. -10, as a unit's Nice= would set); 0 or absent: as the bench. */
  nice?: number;
  readyTimeoutMs?: number;
  /** Node flags instead of NODE_FLAGS (a bench comparing flag sets). */
  nodeFlags?: readonly string[];
}): Promise<ChildDaemon> {
  checkpoint();
  mkdirSync(opts.configDir, { recursive: true });
  const config = join(opts.configDir, 'rootwatch.yaml');
  writeFileSync(config, opts.configYaml);
  const fd = openSync(opts.logFile, 'a');
  const args = [...(opts.nodeFlags ?? NODE_FLAGS), opts.mainJs, '--config', config, 'run'];
  progress(`${opts.label}: ${opts.nice ? `nice -n ${opts.nice} ` : ''}node ${args.join(' ')}`);
  const cmd = opts.nice ? ['nice', '-n', String(opts.nice), process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(cmd[0] as string, cmd.slice(1), { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const stop = onCleanup(async () => {
    await stopChild(child);
  });
  if (!child.pid) throw new Error(`${opts.label}: daemon did not start`);
  const base = `http://127.0.0.1:${opts.port}`;
  const alive = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${opts.label}: daemon exited (${child.exitCode ?? child.signalCode}); log tail:\n${readFileSync(opts.logFile, 'utf8').split('\n').slice(-10).join('\n')}`);
    }
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let monitored = -1;
  for (;;) {
    checkpoint();
    alive();
    if (Date.now() > deadline) throw new Error(`${opts.label}: daemon not ready with ${opts.expected} containers (monitors ${monitored})`);
    if ((await fetch(`${base}/ready`).then((x) => x.status, () => 0)) === 200) {
      monitored = sumSeries(await scrape(base), 'rootwatch_containers');
      if (monitored === opts.expected) break;
    }
    await sleep(100);
  }
  return { pid: child.pid, base, logFile: opts.logFile, child, alive, stop: async () => {
    await stop();
    return child.exitCode !== null ? `exit ${child.exitCode}` : `signal ${child.signalCode}`;
  } };
}

// ---------------------------------------------------------------- another revision, built beside this one

export interface OtherBuild {
  rev: string;
  /** The commit, short. */
  commit: string;
  dir: string;
  mainJs: string;
  /** The build steps that were run. */
  steps: string[];
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${stderr.split('\n').slice(-15).join('\n')}`));
      else resolveRun(stdout);
    });
  });
}

/**
 * `git worktree add -f --detach /tmp/rwt-<name>-XXXX <rev>` of this repository, this checkout's
 * node_modules linked in, built with the revision's own steps: `npm run build`, then
 * `npm run build:native` when its build script does not build the addon itself (older revisions),
 * or `npx node-gyp rebuild` in native/ when it has a binding.gyp but no such script. Removed (worktree
 * and directory) on cleanup.
 */
export async function buildRevision(rev: string, name: string): Promise<OtherBuild> {
  hookSignals();
  const commit = (await run('git', ['rev-parse', '--short', `${rev}^{commit}`], ROOT)).trim();
  const dir = mkdtempSync(join(tmpdir(), `rwt-${name}-${commit}-`));
  onCleanup(async () => {
    progress(`removing the worktree ${dir}`);
    await run('git', ['worktree', 'remove', '--force', dir], ROOT).catch(() => '');
    rmSync(dir, { recursive: true, force: true });
    await run('git', ['worktree', 'prune'], ROOT).catch(() => '');
  });
  progress(`baseline ${rev} (${commit}): git worktree add ${dir}`);
  await run('git', ['worktree', 'add', '-f', '--detach', dir, commit], ROOT);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const scripts = pkg.scripts ?? {};
  const steps: string[] = [];
  const step = async (cmd: string, args: string[], cwd: string): Promise<void> => {
    checkpoint();
    steps.push(`${cmd} ${args.join(' ')}${cwd === dir ? '' : ` (in ${cwd.slice(dir.length + 1)})`}`);
    progress(`baseline: ${steps[steps.length - 1]}`);
    await run(cmd, args, cwd);
  };
  if (!scripts.build) throw new Error(`${rev} has no build script`);
  await step('npm', ['run', 'build'], dir);
  if (existsSync(join(dir, 'native', 'binding.gyp')) && !/build:native|node-gyp/.test(scripts.build)) {
    if (scripts['build:native']) await step('npm', ['run', 'build:native'], dir);
    else await step('npx', ['node-gyp', 'rebuild'], join(dir, 'native'));
  }
  const mainJs = join(dir, 'dist', 'src', 'main.js');
  if (!existsSync(mainJs)) throw new Error(`${rev}: no dist/src/main.js after ${steps.join('; ')}`);
  return { rev, commit, dir, mainJs, steps };
}
