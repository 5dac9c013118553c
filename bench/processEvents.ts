// Real-time process events (the kernel process connector, native/proc_events.c) against /proc
// polling: what the connector buys and what it costs. One private engine (`benchpe`), four parts:
//
//   1. Detection latency, in process (startDaemon, JSON logs captured with their arrival time):
//      - netlink (process_events auto, breakout.interval 1h, so only events count): 30 breakouts
//        `nsenter -t <dockerd> -m -u -i -n -p sleep 0.2` run with dockerode `exec` + `start({Detach})`
//        in a `--pid=host --cap-add SYS_ADMIN --cap-add SYS_PTRACE --security-opt seccomp=unconfined`
//        container. Latency = first `host_namespace_process` alert line − the moment just before
//        `start` was requested. Interleaved, 30 benign `true` execs measured the same way (request →
//        `start` returned, i.e. the process exists) give the Docker API part, which is subtracted.
//      - catch rate of the few-millisecond breakout `nsenter … true <marker>` (the host's /bin/true
//        ignores the marker; alerts carry the cmdline): 30 attempts, netlink and polling (interval 1 s).
//      - polling only: 10 of the 200 ms breakouts, 1.1 s apart: caught or not, and their latency.
//   2. CPU under load: the real daemon as a child (`node dist/src/main.js … run`, its own session as
//      under systemd, log level debug), 10 idle containers plus the (idle) breakout container;
//      /proc/<pid>/stat utime+stime (and per thread) over an idle window and over 30 s of ~1,000
//      execs/s on the host (paced `sh` loops of /bin/true in one session; their own count and the
//      daemon's exec counter give the real rate), then the same loops inside one container (docker
//      exec -d; every exec is then a container process, copied in full and judged); netlink and poll
//      (process_events: off), interval 1 s. The daemon's config sits in a directory of its own: it
//      watches that directory, and the generator's files there would cost it CPU no host would see.
//   3. Fork storm (netlink daemon of part 2): 20,000 `( : ) &` forks from 4 parallel sh loops in one
//      session; event counter deltas, dropped events, full-scan fallbacks (`full_scan` debug log
//      lines and the scan count), RSS, /healthz every 20 ms throughout, thread states and schedstat
//      (on a CPU vs waiting for one); then 100 execs and one breakout to show events still flow.
//
//   npx tsx bench/processEvents.ts        # or: npm run bench -- processEvents   (~4.5 min)
//   Knobs: BENCH_PE_RUNS=30 BENCH_PE_CATCH=30 BENCH_PE_POLL_LONG=10 BENCH_PE_CONTAINERS=10
//   BENCH_PE_RATE=1000 BENCH_PE_WINDOW_S=30 BENCH_PE_IDLE_S=10 BENCH_PE_FORKS=20000 BENCH_PE_NICE=0
//   (nice value of the child daemons, e.g. -10).
//   dist/ is rebuilt (npm run build) when missing or older than src/; the addon must be built
//   (npm run build:native).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { loadProcConnector } from '../src/proc/procConnector.js';
import type { PrivateEngine } from '../test/harness/privateDockerd.js';
import {
  TEST_IMAGE, diffHistogram, isMain, load1, machine, mapLimit, nowMs, onCleanup, parseHistogram, printBenchJson, printBlock,
  progress, r, roundSummary, runCleanups, runStandalone, sample, samplesByLabels, scrape, sleep, startBenchEngine,
  summarize, type Summary,
  ensureBuilt, freePort, MAIN_JS, startBenchDaemon, spawnDaemon, type ChildDaemon,
  checkpoint, clockTicks, cpuTicks, threadTicks, memory, killGroup, ExecLoad, threadSplit, cpuWindow, type CpuWindow,
} from './lib.js';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  return Number.isFinite(v) && v >= 0 ? v : dflt;
};
const RUNS = num('BENCH_PE_RUNS', 30);
const CATCH = num('BENCH_PE_CATCH', 30);
const POLL_LONG = num('BENCH_PE_POLL_LONG', 10);
const CONTAINERS = num('BENCH_PE_CONTAINERS', 10);
const RATE = num('BENCH_PE_RATE', 1000);
const WINDOW_S = num('BENCH_PE_WINDOW_S', 30);
const IDLE_S = num('BENCH_PE_IDLE_S', 10);
const FORKS = num('BENCH_PE_FORKS', 20000);
/** Nice value for the child daemons (e.g. -10, as a unit's Nice= would set); 0 = as the bench. */
const NICE = Number(process.env.BENCH_PE_NICE ?? 0) || 0;
const LATENCY_GOAL_MS = 50;
const CPU_GOAL_PCT = 10;

const HNP = 'host_namespace_process';
const SCAN_HIST = 'rootwatch_proc_scan_duration_seconds';
const EVENTS = 'rootwatch_process_events_total';
const DROPPED = 'rootwatch_process_events_dropped_total';

/** Per thread, from /proc/<pid>/task/<tid>/schedstat: ns on a CPU, ns waiting on a run queue. */
function threadSched(pid: number): Map<number, { runNs: number; waitNs: number }> {
  const out = new Map<number, { runNs: number; waitNs: number }>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        out.set(Number(tid), { runNs: run ?? 0, waitNs: wait ?? 0 });
      } catch {
        /* thread gone */
      }
    }
  } catch {
    /* process gone */
  }
  return out;
}

function fmtMs(s: Summary): string {
  return s.n ? `median ${r(s.median)} ms, p90 ${r(s.p90)}, max ${r(s.max)} (n=${s.n})` : 'n/a (nothing caught)';
}

// ---------------------------------------------------------------- part 1: in-process daemon, logs with arrival times

interface LogLine {
  at: number;
  rec: Record<string, unknown>;
}

interface LoggedDaemon {
  base: string;
  lines: LogLine[];
  stop(): Promise<void>;
}

/** The daemon in this process (startBenchDaemon), each JSON log line stamped with nowMs() as it is written. */
async function startLoggedDaemon(engine: PrivateEngine, breakout: Record<string, unknown>): Promise<LoggedDaemon> {
  const lines: LogLine[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const at = nowMs();
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        if (!l.trim()) continue;
        try {
          lines.push({ at, rec: JSON.parse(l) as Record<string, unknown> });
        } catch {
          /* not a JSON line */
        }
      }
      cb();
    },
  });
  const { base, stop } = await startBenchDaemon(engine, { breakout }, { level: 'debug', stream });
  return { base, lines, stop };
}

const isHnp = (l: LogLine): boolean => l.rec.event === 'alert' && l.rec.rule === HNP;

function cmdlineOf(l: LogLine): string {
  const ev = l.rec.evidence as { cmdline?: unknown } | undefined;
  return Array.isArray(ev?.cmdline) ? ev.cmdline.join(' ') : '';
}

function pidOf(l: LogLine): number {
  return Number((l.rec.evidence as { pid?: unknown } | undefined)?.pid ?? NaN);
}

/** First line from index `from` on matching `pred`, polling the array every millisecond (the time is the line's own). */
async function waitForLine(lines: LogLine[], from: number, pred: (l: LogLine) => boolean, timeoutMs: number): Promise<LogLine | null> {
  const deadline = nowMs() + timeoutMs;
  let i = from;
  for (;;) {
    for (; i < lines.length; i++) if (pred(lines[i] as LogLine)) return lines[i] as LogLine;
    if (nowMs() > deadline) return null;
    await sleep(1);
  }
}

interface ExecTiming {
  /** Just before `start` was requested. */
  t0: number;
  /** `start({Detach: true})` returned: the process exists. */
  started: number;
  exec: Docker.Exec;
}

async function execDetached(container: Docker.Container, cmd: string[]): Promise<ExecTiming> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: false, AttachStderr: false });
  const t0 = nowMs();
  await exec.start({ Detach: true });
  return { t0, started: nowMs(), exec };
}

/** Wait until a detached exec has exited; its exit code (null on timeout). */
async function execDone(exec: Docker.Exec, timeoutMs = 5000): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    if (Date.now() > deadline) return null;
    await sleep(10);
  }
}

interface CatchResult {
  attempts: number;
  caught: number;
  /** Distinct escaped processes alerted on (each attempt has nsenter and its child). */
  processes: number;
  /** How long one attempt's process lived, from start requested to exec seen exited (upper bound). */
  execMs: Summary;
}

/** `nsenter … true <marker>`: a breakout of a few milliseconds, attempts one after the other. */
async function catchRate(engine: PrivateEngine, d: LoggedDaemon, container: Docker.Container, attempts: number, settleMs: number, tag: string): Promise<CatchResult> {
  const from = d.lines.length;
  const execMs: number[] = [];
  for (let i = 0; i < attempts; i++) {
    checkpoint();
    const t = await execDetached(container, ['nsenter', '-t', String(engine.pid()), '-m', '-u', '-i', '-n', '-p', 'true', `rwpe-${tag}-${i}`]);
    const code = await execDone(t.exec);
    execMs.push(nowMs() - t.t0);
    if (code !== 0) throw new Error(`nsenter … true exited ${code}: the breakout did not run`);
    await sleep(100);
  }
  await sleep(settleMs);
  const caughtAttempts = new Set<string>();
  const pids = new Set<number>();
  for (const l of d.lines.slice(from)) {
    if (!isHnp(l)) continue;
    const m = /rwpe-(\w+)-(\d+)/.exec(cmdlineOf(l));
    if (!m || m[1] !== tag) continue;
    caughtAttempts.add(m[2] as string);
    pids.add(pidOf(l));
  }
  return { attempts, caught: caughtAttempts.size, processes: pids.size, execMs: roundSummary(summarize(execMs)) };
}

interface NetlinkLatency {
  /** Alert − start requested. */
  alertMs: Summary;
  /** Alert − start returned (negative: the alert came before Docker's answer). */
  afterStartedMs: Summary;
  /** Alert − start requested − median benign round trip: the daemon's part. */
  daemonMs: Summary;
  /** Benign `true`: start requested → start returned. */
  baselineMs: Summary;
  /** The breakout execs' own start round trip. */
  breakoutStartMs: Summary;
  missed: number;
  source: number;
}

async function netlinkPart(engine: PrivateEngine, container: Docker.Container, name: string): Promise<{ latency: NetlinkLatency; catch: CatchResult }> {
  progress(`part 1: in-process daemon, process_events auto, interval 1h: ${RUNS} breakouts (nsenter … sleep 0.2) interleaved with ${RUNS} benign execs`);
  const d = await startLoggedDaemon(engine, { interval: '1h', process_events: 'auto' });
  try {
    const source = sample(await scrape(d.base), 'rootwatch_process_source{source="netlink"}');
    if (source !== 1) throw new Error('the daemon is not using the process connector (rootwatch_process_source{source="netlink"} != 1)');
    // Warm-up: the first exec and the first examination pay for JIT and connections.
    for (let i = 0; i < 3; i++) await execDone((await execDetached(container, ['true'])).exec);
    const alert: number[] = [];
    const afterStarted: number[] = [];
    const baseline: number[] = [];
    const breakoutStart: number[] = [];
    let missed = 0;
    for (let i = 0; i < RUNS; i++) {
      checkpoint();
      const b = await execDetached(container, ['true']);
      baseline.push(b.started - b.t0);
      await execDone(b.exec);
      await sleep(20);
      const from = d.lines.length;
      const t = await execDetached(container, ['nsenter', '-t', String(engine.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '0.2']);
      breakoutStart.push(t.started - t.t0);
      const hit = await waitForLine(d.lines, from, isHnp, 3000);
      if (hit) {
        const who = (hit.rec.container as { name?: string } | null)?.name;
        if (who !== name) throw new Error(`alert names container ${who}, expected ${name}`);
        alert.push(hit.at - t.t0);
        afterStarted.push(hit.at - t.started);
      } else missed++;
      const code = await execDone(t.exec);
      if (code !== 0) throw new Error(`nsenter … sleep 0.2 exited ${code}: the breakout did not run`);
      await sleep(100);
    }
    const base = summarize(baseline).median;
    const latency: NetlinkLatency = {
      alertMs: roundSummary(summarize(alert)),
      afterStartedMs: roundSummary(summarize(afterStarted)),
      daemonMs: roundSummary(summarize(alert.map((a) => a - base))),
      baselineMs: roundSummary(summarize(baseline)),
      breakoutStartMs: roundSummary(summarize(breakoutStart)),
      missed,
      source,
    };
    progress(`part 1: netlink catch rate, ${CATCH} × nsenter … true`);
    const c = await catchRate(engine, d, container, CATCH, 500, 'n');
    return { latency, catch: c };
  } finally {
    await d.stop();
  }
}

interface PollPart {
  catch: CatchResult;
  long: { runs: number; caught: number; alertMs: Summary };
}

async function pollPart(engine: PrivateEngine, container: Docker.Container): Promise<PollPart> {
  progress(`part 1: in-process daemon, process_events off, interval 1s: ${CATCH} × nsenter … true, ${POLL_LONG} × nsenter … sleep 0.2`);
  const d = await startLoggedDaemon(engine, { interval: '1s', process_events: 'off' });
  try {
    if (sample(await scrape(d.base), 'rootwatch_process_source{source="poll"}') !== 1) throw new Error('polling daemon does not report source poll');
    const c = await catchRate(engine, d, container, CATCH, 1200, 'p');
    const alert: number[] = [];
    for (let i = 0; i < POLL_LONG; i++) {
      checkpoint();
      const from = d.lines.length;
      const t = await execDetached(container, ['nsenter', '-t', String(engine.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '0.2']);
      // A 200 ms process against a 1 s poll: seen by the scan that falls in its life, or never.
      const hit = await waitForLine(d.lines, from, isHnp, 1100);
      if (hit) alert.push(hit.at - t.t0);
      await execDone(t.exec);
      await sleep(Math.max(0, t.t0 + 1100 - nowMs()));
    }
    return { catch: c, long: { runs: POLL_LONG, caught: alert.length, alertMs: roundSummary(summarize(alert)) } };
  } finally {
    await d.stop();
  }
}

// ---------------------------------------------------------------- parts 2 and 3: the daemon as a child process

async function startChildDaemon(engine: PrivateEngine, workDir: string, mode: 'netlink' | 'poll', expected: number): Promise<ChildDaemon> {
  const port = await freePort();
  const configYaml = `log:\n  level: debug\ndocker:\n  host: ${engine.dockerHost}\nmetrics:\n  listen: 127.0.0.1:${port}\n`
    + `breakout:\n  host_reference_pid: ${engine.pid()}\n  process_events: ${mode === 'netlink' ? 'auto' : 'off'}\n`;
  // The config in a directory of its own (spawnDaemon): the daemon watches it, and the load generator's files sit elsewhere.
  const d = await spawnDaemon({
    mainJs: MAIN_JS, configYaml, configDir: join(workDir, `config-${mode}`), logFile: join(workDir, `daemon-${mode}.log`), port, expected, label: mode, nice: NICE,
  });
  if (sample(await scrape(d.base), `rootwatch_process_source{source="${mode}"}`) !== 1) throw new Error(`the child daemon's process source is not ${mode}`);
  return d;
}

interface LoadResult {
  mode: 'netlink' | 'poll';
  where: 'host' | 'container';
  /** Measured before the host load only. */
  idle: CpuWindow | null;
  load: CpuWindow;
  /** Execs per second by the generator's own count. */
  generatorRate: number;
  /** Execs per second by the daemon's rootwatch_process_events_total{type="exec"} (netlink only). */
  daemonExecRate: number | null;
  eventRates: Record<string, number>;
  scans: number;
  scanMeanMs: number;
  droppedDelta: number;
  detections: number;
  rssMiB: number;
  load1: number;
}

function eventCounts(body: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(samplesByLabels(body, EVENTS))) out[k.replace(/^type="(.*)"$/, '$1')] = v;
  return out;
}

function detectionsTotal(body: string): number {
  return body.split('\n').filter((l) => l.startsWith('rootwatch_breakout_detections_total{')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function loadPhase(d: ChildDaemon, mode: 'netlink' | 'poll', workDir: string, hz: number, engine: PrivateEngine, where: 'host' | 'container'): Promise<LoadResult> {
  let idle: CpuWindow | null = null;
  if (where === 'host') {
    await sleep(3000);
    progress(`${mode}: idle CPU for ${IDLE_S} s`);
    idle = await cpuWindow(d, IDLE_S, hz);
  }
  checkpoint();
  progress(`${mode}: ${RATE} execs/s ${where === 'host' ? 'on the host' : 'inside a container'} (3 s ramp, then ${WINDOW_S} s measured)`);
  const loadDir = join(workDir, `load-${where}`);
  mkdirSync(loadDir, { recursive: true });
  const name = `rwpe-load-${mode}`;
  if (where === 'container') {
    await engine.cli('run', '-d', '--name', name, '-v', `${loadDir}:/load`, TEST_IMAGE, 'sleep', '3600');
    onCleanup(async () => void (await engine.cli('rm', '-f', name).catch(() => '')));
  }
  const gen = new ExecLoad(loadDir, RATE, where === 'container' ? { engine, container: name } : null);
  try {
    gen.start();
    await sleep(3000);
    const before = await scrape(d.base);
    const g0 = gen.counts().execs;
    const t0 = nowMs();
    const load = await cpuWindow(d, WINDOW_S, hz);
    const g1 = gen.counts().execs;
    const t1 = nowMs();
    const after = await scrape(d.base);
    gen.stop();
    const secs = (t1 - t0) / 1000;
    const evBefore = eventCounts(before);
    const evAfter = eventCounts(after);
    const eventRates: Record<string, number> = {};
    for (const [k, v] of Object.entries(evAfter)) eventRates[k] = r((v - (evBefore[k] ?? 0)) / secs, 0);
    const scans = diffHistogram(parseHistogram(after, SCAN_HIST), parseHistogram(before, SCAN_HIST));
    return {
      mode,
      where,
      idle,
      load,
      generatorRate: r((g1 - g0) / secs, 0),
      daemonExecRate: mode === 'netlink' ? (eventRates.exec ?? 0) : null,
      eventRates,
      scans: scans.count,
      scanMeanMs: scans.count ? r((scans.sum / scans.count) * 1000, 2) : NaN,
      droppedDelta: sample(after, DROPPED) - sample(before, DROPPED),
      detections: detectionsTotal(after) - detectionsTotal(before),
      rssMiB: memory(d.pid).rssMiB,
      load1: r(load1(), 2),
    };
  } finally {
    await gen.stopCleanup();
    if (where === 'container') await engine.cli('rm', '-f', name).catch(() => '');
  }
}

interface StormResult {
  forks: number;
  loops: number;
  stormMs: number;
  forksPerSecond: number;
  eventDeltas: Record<string, number>;
  droppedDelta: number;
  fullScanLogs: number;
  scans: number;
  scanMeanMs: number;
  scanMaxBucketMs: number;
  cpuSeconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  peakRssMiB: number;
  peakReset: boolean;
  healthz: { requests: number; failed: number; medianMs: number; p90Ms: number; maxMs: number; slowestAtMs: number; over100ms: number };
  threads: CpuWindow['threads'];
  /** Share of 10 ms samples of each thread's state (R running, S sleeping, D uninterruptible) during the storm, and the top D wait channel. */
  threadStates: { main: Record<string, number>; reader: Record<string, number>; mainWchanD: string; readerWchanD: string };
  /** From schedstat over the storm (until its end): ms on a CPU and ms runnable but waiting for one. */
  sched: { mainRunMs: number; mainWaitMs: number; readerRunMs: number; readerWaitMs: number; stormMs: number };
  detections: number;
  /** After the storm: 100 execs on the host, how many the daemon counted; a 200 ms breakout, caught and how fast. */
  after: { execsCounted: number; breakoutAlertMs: number | null };
}

function logSince(logFile: string, fromByte: number): string {
  return readFileSync(logFile).subarray(fromByte).toString('utf8');
}

function fullScanLines(logFile: string, fromByte: number): number {
  const text = logSince(logFile, fromByte);
  return text.split('\n').filter((l) => l.includes('"event":"full_scan"')).length;
}

/** Samples every thread's state (and wait channel when in D) every 10 ms until stopped. */
class ThreadStates {
  private readonly states = new Map<number, Map<string, number>>();
  private readonly wchans = new Map<number, Map<string, number>>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 10);
  }

  private sample(): void {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return;
    }
    for (const t of tids) {
      const tid = Number(t);
      try {
        const st = readFileSync(`/proc/${this.pid}/task/${t}/stat`, 'utf8');
        const state = st.charAt(st.lastIndexOf(')') + 2);
        const m = this.states.get(tid) ?? new Map<string, number>();
        m.set(state, (m.get(state) ?? 0) + 1);
        this.states.set(tid, m);
        if (state === 'D') {
          const w = readFileSync(`/proc/${this.pid}/task/${t}/wchan`, 'utf8').trim() || '?';
          const wm = this.wchans.get(tid) ?? new Map<string, number>();
          wm.set(w, (wm.get(w) ?? 0) + 1);
          this.wchans.set(tid, wm);
        }
      } catch {
        /* thread gone */
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Percent of samples by state. */
  of(tid: number): Record<string, number> {
    const m = this.states.get(tid) ?? new Map<string, number>();
    const total = [...m.values()].reduce((a, b) => a + b, 0) || 1;
    return Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, r((v / total) * 100, 0)]));
  }

  topWchan(tid: number): string {
    const top = [...(this.wchans.get(tid) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1])[0];
    return top ? `${top[0]} (${top[1]} samples)` : 'none';
  }
}

/** After the storm: are events still flowing, and is a breakout still caught? */
async function afterStorm(d: ChildDaemon, engine: PrivateEngine, esc: Docker.Container): Promise<StormResult['after']> {
  const before = eventCounts(await scrape(d.base)).exec ?? 0;
  await new Promise<void>((res) => {
    spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done'], { stdio: 'ignore' }).once('exit', () => res());
  });
  await sleep(300);
  const execsCounted = (eventCounts(await scrape(d.base)).exec ?? 0) - before;
  const from = statSync(d.logFile).size;
  const t = await execDetached(esc, ['nsenter', '-t', String(engine.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '0.2']);
  let breakoutAlertMs: number | null = null;
  for (const deadline = nowMs() + 3000; nowMs() < deadline; await sleep(5)) {
    if (logSince(d.logFile, from).includes(`"rule":"${HNP}"`)) {
      breakoutAlertMs = r(nowMs() - t.t0, 0);
      break;
    }
  }
  await execDone(t.exec);
  return { execsCounted, breakoutAlertMs };
}

async function stormPhase(d: ChildDaemon, hz: number, engine: PrivateEngine, esc: Docker.Container): Promise<StormResult> {
  await sleep(2000);
  const loops = 4;
  const per = Math.ceil(FORKS / loops);
  progress(`netlink: fork storm, ${per * loops} forks from ${loops} parallel sh loops`);
  let peakReset = true;
  try {
    writeFileSync(`/proc/${d.pid}/clear_refs`, '5'); // reset VmHWM: the peak is then the storm's
  } catch {
    peakReset = false;
  }
  const rssBefore = memory(d.pid).rssMiB;
  const before = await scrape(d.base);
  const logFrom = statSync(d.logFile).size;
  const ticks0 = cpuTicks(d.pid);
  const threads0 = threadTicks(d.pid);
  await fetch(`${d.base}/healthz`).then((x) => x.arrayBuffer(), () => undefined); // warm the connection

  let stormOver = false;
  const health: number[] = [];
  const healthAt: number[] = [];
  let failed = 0;
  let t0 = nowMs();
  const poller = (async () => {
    while (!stormOver) {
      const t = nowMs();
      healthAt.push(t - t0);
      try {
        const res = await fetch(`${d.base}/healthz`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status !== 200) failed++;
      } catch {
        failed++;
      }
      health.push(nowMs() - t);
      await sleep(20);
    }
  })();

  // `( : ) &` forks a subshell that exits at once; `wait` every 500 keeps zombies (and pids) bounded.
  // The loops share one session (one autogroup), as one job on a host would.
  const script = 'n=$1; L=$2; storm() { i=0; while [ $i -lt $n ]; do ( : ) & i=$((i+1)); if [ $((i % 500)) -eq 0 ]; then wait; fi; done; wait; }; '
    + 'j=0; while [ $j -lt $L ]; do storm & j=$((j+1)); done; wait';
  const sampler = new ThreadStates(d.pid);
  const sched0 = threadSched(d.pid);
  t0 = nowMs();
  const gens = [spawn('/bin/sh', ['-c', script, 'rwpe-storm', String(per), String(loops)], { stdio: 'ignore', detached: true })];
  const killGens = onCleanup(async () => gens.forEach(killGroup));
  await Promise.all(gens.map((g) => new Promise<void>((res) => (g.exitCode !== null ? res() : g.once('exit', () => res())))));
  const stormMs = nowMs() - t0;
  const sched1 = threadSched(d.pid);
  sampler.stop();
  await killGens();
  // Let the daemon drain and run a pending full scan (at most one per 250 ms).
  await sleep(1500);
  stormOver = true;
  await poller;
  d.alive();
  const after = await scrape(d.base);
  const ticks1 = cpuTicks(d.pid);
  const threads1 = threadTicks(d.pid);
  const wall = (nowMs() - t0) / 1000;
  const mem = memory(d.pid);
  const evBefore = eventCounts(before);
  const eventDeltas: Record<string, number> = {};
  for (const [k, v] of Object.entries(eventCounts(after))) eventDeltas[k] = v - (evBefore[k] ?? 0);
  const scans = diffHistogram(parseHistogram(after, SCAN_HIST), parseHistogram(before, SCAN_HIST));
  const maxBucket = scans.buckets.find((b) => b.count === scans.count)?.le ?? NaN;
  const hs = summarize(health);
  const slowest = health.indexOf(Math.max(...health));
  const threads = threadSplit(d.pid, threads0, threads1, hz, wall);
  let readerTid = 0;
  let readerTicks = -1;
  for (const [tid, t] of threads1) {
    const dt = t - (threads0.get(tid) ?? 0);
    if (tid !== d.pid && dt > readerTicks) [readerTid, readerTicks] = [tid, dt];
  }
  const detections = detectionsTotal(after) - detectionsTotal(before);
  const schedMs = (tid: number, k: 'runNs' | 'waitNs'): number => r(((sched1.get(tid)?.[k] ?? 0) - (sched0.get(tid)?.[k] ?? 0)) / 1e6, 0);
  progress('netlink: after the storm: 100 execs and one breakout');
  const afterCheck = await afterStorm(d, engine, esc);
  return {
    forks: per * loops,
    loops,
    stormMs: r(stormMs, 0),
    forksPerSecond: r((per * loops) / (stormMs / 1000), 0),
    eventDeltas,
    droppedDelta: sample(after, DROPPED) - sample(before, DROPPED),
    fullScanLogs: fullScanLines(d.logFile, logFrom),
    scans: scans.count,
    scanMeanMs: scans.count ? r((scans.sum / scans.count) * 1000, 1) : NaN,
    scanMaxBucketMs: maxBucket * 1000,
    cpuSeconds: r((ticks1 - ticks0) / hz, 2),
    rssBeforeMiB: rssBefore,
    rssAfterMiB: mem.rssMiB,
    peakRssMiB: mem.hwmMiB,
    peakReset,
    healthz: {
      requests: health.length, failed, medianMs: r(hs.median, 1), p90Ms: r(hs.p90, 1), maxMs: r(hs.max, 1),
      slowestAtMs: r(healthAt[slowest] ?? NaN, 0), over100ms: health.filter((x) => x > 100).length,
    },
    threads,
    threadStates: { main: sampler.of(d.pid), reader: sampler.of(readerTid), mainWchanD: sampler.topWchan(d.pid), readerWchanD: sampler.topWchan(readerTid) },
    sched: { mainRunMs: schedMs(d.pid, 'runNs'), mainWaitMs: schedMs(d.pid, 'waitNs'), readerRunMs: schedMs(readerTid, 'runNs'), readerWaitMs: schedMs(readerTid, 'waitNs'), stormMs: r(stormMs, 0) },
    detections,
    after: afterCheck,
  };
}

// ---------------------------------------------------------------- main

export async function main(): Promise<Record<string, unknown>> {
  const loadStart = load1();
  if (process.getuid?.() !== 0) throw new Error('processEvents needs root (private dockerd, process connector)');
  const { addon, reason } = loadProcConnector();
  if (!addon) throw new Error(`the process-connector addon is unavailable: ${reason} (run npm run build:native)`);
  try {
    const dist = ensureBuilt();
    const hz = clockTicks();
    const engine = await startBenchEngine('pe');
    const workDir = mkdtempSync(join(tmpdir(), 'rootwatch-pe-'));
    onCleanup(async () => rmSync(workDir, { recursive: true, force: true }));

    // ---- part 1
    const name = 'pe-escape';
    const esc = await engine.docker.createContainer({
      name, Image: TEST_IMAGE, Cmd: ['sleep', '600'],
      HostConfig: { NetworkMode: 'none', PidMode: 'host', CapAdd: ['SYS_ADMIN', 'SYS_PTRACE'], SecurityOpt: ['seccomp=unconfined'] },
    });
    await esc.start();
    const netlink = await netlinkPart(engine, esc, name);
    checkpoint();
    const poll = await pollPart(engine, esc);
    const load1AfterPart1 = r(load1(), 2);
    checkpoint();

    // ---- parts 2 and 3
    progress(`starting ${CONTAINERS} idle containers (the breakout container stays too)`);
    await mapLimit(Array.from({ length: CONTAINERS }, (_, i) => i), 5, async (i) => {
      const c = await engine.docker.createContainer({ name: `pe-idle-${i}`, Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } });
      await c.start();
    });
    // The breakout container stays (idle) for the check after the storm: CONTAINERS + 1 in all.
    const dn = await startChildDaemon(engine, workDir, 'netlink', CONTAINERS + 1);
    const loadN = await loadPhase(dn, 'netlink', workDir, hz, engine, 'host');
    checkpoint();
    const loadNc = await loadPhase(dn, 'netlink', workDir, hz, engine, 'container');
    checkpoint();
    const storm = await stormPhase(dn, hz, engine, esc);
    const stoppedN = await dn.stop();
    checkpoint();
    const dp = await startChildDaemon(engine, workDir, 'poll', CONTAINERS + 1);
    const loadP = await loadPhase(dp, 'poll', workDir, hz, engine, 'host');
    checkpoint();
    const loadPc = await loadPhase(dp, 'poll', workDir, hz, engine, 'container');
    const stoppedP = await dp.stop();

    // ---- figures
    const mach = machine(loadStart);
    const L = netlink.latency;
    const col = (a: string, b: string): string => `${a.padEnd(58)} | ${b}`;
    const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
    const catchStr = (c: CatchResult): string => `${c.caught}/${c.attempts} attempts, ${c.processes} escaped processes`;
    const idleStr = (w: CpuWindow | null): string => (w ? `${cpuStr(w)} over ${w.seconds} s` : 'n/a');
    const cpuStr = (w: CpuWindow): string => `${w.cpuPercent} % (per-second median ${w.perSecond.median}, max ${w.perSecond.max})`;
    const thr = (t: CpuWindow['threads']): string => `${t.mainPercent} / ${t.busiestOtherPercent} / ${t.restPercent} %`;
    const states = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${k} ${v}%`).join(' ');
    const ev = (l: LoadResult): string => Object.entries(l.eventRates).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'none (no connector)';
    printBlock('processEvents: kernel process connector (netlink) vs /proc polling', [
      ['', col('netlink (process_events auto)', 'poll (process_events off, interval 1 s)')],
      ['alert latency, nsenter … sleep 0.2', col(`${fmtMs(L.alertMs)}, missed ${L.missed}`, `${poll.long.caught}/${poll.long.runs} caught; ${fmtMs(poll.long.alertMs)}`)],
      ['  (from just before exec start)', col(`interval 1h: events only`, 'a 200 ms process against a 1 s poll')],
      ['  benign `true` exec start round trip', col(fmtMs(L.baselineMs), '')],
      ['  breakout exec start round trip', col(fmtMs(L.breakoutStartMs), '')],
      ['  alert − start returned', col(fmtMs(L.afterStartedMs), '')],
      ['  daemon part (alert − request − baseline median)', col(`${fmtMs(L.daemonMs)}: ${pass(L.daemonMs.median < LATENCY_GOAL_MS)} (< ${LATENCY_GOAL_MS} ms)`, '')],
      ['catch rate, nsenter … true (few ms)', col(catchStr(netlink.catch), catchStr(poll.catch))],
      ['  one attempt, start → exec exited', col(fmtMs(netlink.catch.execMs), fmtMs(poll.catch.execMs))],
      [`daemon CPU, ${CONTAINERS}+1 idle containers, idle`, col(idleStr(loadN.idle), idleStr(loadP.idle))],
      [`daemon CPU, ${RATE} execs/s target`, col(`${cpuStr(loadN.load)}: ${pass(loadN.load.cpuPercent < CPU_GOAL_PCT)}`, `${cpuStr(loadP.load)}: ${pass(loadP.load.cpuPercent < CPU_GOAL_PCT)}`)],
      ['  by thread: JS main / busiest other / rest', col(thr(loadN.load.threads), thr(loadP.load.threads))],
      ['  exec rate: generator / daemon counter', col(`${loadN.generatorRate} / ${loadN.daemonExecRate} per s`, `${loadP.generatorRate} / (no counter)`)],
      ['  events per second (daemon counter)', col(ev(loadN), ev(loadP))],
      ['  breakout scans, mean duration', col(`${loadN.scans} scans, ${loadN.scanMeanMs} ms`, `${loadP.scans} scans, ${loadP.scanMeanMs} ms`)],
      ['  dropped / detections / RSS / load1', col(`${loadN.droppedDelta} / ${loadN.detections} / ${loadN.rssMiB} MiB / ${loadN.load1}`, `${loadP.droppedDelta} / ${loadP.detections} / ${loadP.rssMiB} MiB / ${loadP.load1}`)],
      [`daemon CPU, ${RATE} execs/s inside one container`, col(cpuStr(loadNc.load), cpuStr(loadPc.load))],
      ['  by thread: JS main / busiest other / rest', col(thr(loadNc.load.threads), thr(loadPc.load.threads))],
      ['  exec rate: generator / daemon counter', col(`${loadNc.generatorRate} / ${loadNc.daemonExecRate} per s`, `${loadPc.generatorRate} / (no counter)`)],
      ['  breakout scans, mean duration', col(`${loadNc.scans} scans, ${loadNc.scanMeanMs} ms`, `${loadPc.scans} scans, ${loadPc.scanMeanMs} ms`)],
      ['  dropped / detections / RSS / load1', col(`${loadNc.droppedDelta} / ${loadNc.detections} / ${loadNc.rssMiB} MiB / ${loadNc.load1}`, `${loadPc.droppedDelta} / ${loadPc.detections} / ${loadPc.rssMiB} MiB / ${loadPc.load1}`)],
      ['fork storm (netlink daemon)', `${storm.forks} forks from ${storm.loops} sh loops in ${storm.stormMs} ms (${storm.forksPerSecond}/s)`],
      ['  events counted (delta)', `${Object.entries(storm.eventDeltas).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')}; ${storm.forks - (storm.eventDeltas.fork ?? 0) > 0 ? `at least ${storm.forks - (storm.eventDeltas.fork ?? 0)} forks never counted` : 'every fork counted'}`],
      ['  dropped / full-scan fallbacks', `${storm.droppedDelta} dropped; ${storm.fullScanLogs} full_scan log events; ${storm.scans} scans in all (mean ${storm.scanMeanMs} ms, all ≤ ${storm.scanMaxBucketMs} ms)`],
      ['  daemon CPU during storm + 1.5 s', `${storm.cpuSeconds} s (by thread: JS main / busiest other / rest ${thr(storm.threads)})`],
      ['  RSS before / after / peak', `${storm.rssBeforeMiB} / ${storm.rssAfterMiB} / ${storm.peakRssMiB} MiB${storm.peakReset ? ' (peak since storm start)' : ' (peak since daemon start)'}`],
      ['  /healthz every 20 ms', `${storm.healthz.requests} answered, ${storm.healthz.failed} failed, median ${storm.healthz.medianMs} ms, p90 ${storm.healthz.p90Ms}, max ${storm.healthz.maxMs} ms (at +${storm.healthz.slowestAtMs} ms), ${storm.healthz.over100ms} over 100 ms`],
      ['  thread states (10 ms samples)', `JS main ${states(storm.threadStates.main)}, D in ${storm.threadStates.mainWchanD}; reader ${states(storm.threadStates.reader)}, D in ${storm.threadStates.readerWchanD}`],
      ['  on a CPU / waiting for one (schedstat)', `JS main ${storm.sched.mainRunMs} / ${storm.sched.mainWaitMs} ms, reader ${storm.sched.readerRunMs} / ${storm.sched.readerWaitMs} ms, over the ${storm.sched.stormMs} ms storm`],
      ['  breakout detections during storm', String(storm.detections)],
      ['  after the storm', `100 host execs: ${storm.after.execsCounted} exec events counted; nsenter … sleep 0.2: ${storm.after.breakoutAlertMs === null ? 'NOT caught within 3 s' : `alert after ${storm.after.breakoutAlertMs} ms`}`],
      ['daemons stopped', `netlink ${stoppedN}, poll ${stoppedP}; dist/ ${dist}; CLK_TCK ${hz}; child daemons' nice ${NICE}`],
      ['load average after part 1', String(load1AfterPart1)],
      mach.row,
    ]);
    const result = {
      bench: 'processEvents',
      machine: { cores: mach.cores, load1Start: mach.load1Start, load1End: mach.load1End, load1AfterPart1 },
      goals: { latencyMedianMs: LATENCY_GOAL_MS, cpuPercent: CPU_GOAL_PCT },
      latency: { netlink: L, poll: poll.long },
      catchRate: { netlink: netlink.catch, poll: poll.catch },
      cpu: { containers: CONTAINERS, targetRate: RATE, windowS: WINDOW_S, nice: NICE, netlink: loadN, poll: loadP },
      cpuInContainer: { netlink: loadNc, poll: loadPc },
      storm,
      dist,
    };
    printBenchJson(result);
    return result;
  } finally {
    await runCleanups();
  }
}

if (isMain(import.meta.url)) runStandalone(main);
