// Idle cost of the real daemon: `node dist/src/main.js … run` as a child process against a private
// engine, default breakout interval (1 s). After /ready and a 5 s settle, its CPU time is read from
// /proc/<pid>/stat (utime+stime, all threads) over a 30 s window and turned into percent of one core;
// RSS comes from /proc/<pid>/status. Two phases on the same engine: 0 containers, then 100 idle ones
// (`sleep 600`), each with a freshly started daemon.
//
//   npx tsx bench/idleCpu.ts
//   BENCH_IDLE_CONTAINERS=100 BENCH_IDLE_WINDOW_S=30 BENCH_IDLE_SETTLE_S=5; BENCH_BUILD=1 rebuilds dist/ first
//   (it is built anyway when dist/src/main.js is missing).
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrivateEngine } from '../test/harness/privateDockerd.js';
import {
  TEST_IMAGE, diffHistogram, isMain, load1, machine, mapLimit, nowMs, onCleanup, parseHistogram, printBenchJson, printBlock,
  progress, r, runCleanups, runStandalone, sample, scrape, sleep, startBenchEngine, summarize, ensureBuilt, freePort, stopChild, ROOT, MAIN_JS, NODE_FLAGS,
  checkpoint, clockTicks, cpuTicks, memory, procCount,
} from './lib.js';

const CONTAINERS = Number(process.env.BENCH_IDLE_CONTAINERS ?? 100);
const WINDOW_S = Number(process.env.BENCH_IDLE_WINDOW_S ?? 30);
const SETTLE_S = Number(process.env.BENCH_IDLE_SETTLE_S ?? 5);
const SCAN_HIST = 'rootwatch_proc_scan_duration_seconds';

interface PhaseResult {
  containers: number;
  monitored: number;
  processes: number;
  cpuPercent: number;
  perSecond: { median: number; p90: number; max: number };
  rssMiB: number;
  hwmMiB: number;
  scans: number;
  scanMeanMs: number;
  scanErrors: number;
  detections: number;
  stopped: string;
}

async function phase(engine: PrivateEngine, workDir: string, containers: number, hz: number): Promise<PhaseResult> {
  const port = await freePort();
  checkpoint();
  const logFile = join(workDir, `daemon-${containers}.log`);
  const fd = openSync(logFile, 'a');
  const args = [...NODE_FLAGS, MAIN_JS, '--config', join(workDir, 'rootwatch.yaml'), '--docker-host', engine.dockerHost, 'run', '--listen', `127.0.0.1:${port}`];
  progress(`phase ${containers} containers: node ${args.map((a) => a.replace(ROOT + '/', '')).join(' ')}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], detached: false });
  closeSync(fd);
  const stop = onCleanup(async () => {
    await stopChild(child);
  });
  const pid = child.pid;
  if (!pid) throw new Error('daemon did not start');
  const base = `http://127.0.0.1:${port}`;
  const exited = (): string => `daemon exited (${child.exitCode ?? child.signalCode}); log tail:\n${readFileSync(logFile, 'utf8').split('\n').slice(-10).join('\n')}`;

  // Ready, and monitoring every container.
  const deadline = Date.now() + 60_000;
  let monitored = -1;
  for (;;) {
    checkpoint();
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(exited());
    if (Date.now() > deadline) throw new Error(`daemon not ready with ${containers} containers after 60 s (monitored ${monitored})`);
    const status = await fetch(`${base}/ready`).then((x) => x.status, () => 0);
    if (status === 200) {
      monitored = sample(await scrape(base), 'rootwatch_containers');
      if (monitored === containers) break;
    }
    await sleep(100);
  }
  const before = await scrape(base);
  progress(`ready; settling ${SETTLE_S} s, then measuring CPU for ${WINDOW_S} s`);
  await sleep(SETTLE_S * 1000);

  const ticks: number[] = [cpuTicks(pid)];
  const t0 = nowMs();
  const times: number[] = [t0];
  for (let s = 1; s <= WINDOW_S; s++) {
    // Sample on the second boundaries of the window, whatever the timer drift.
    await sleep(Math.max(0, t0 + s * 1000 - nowMs()));
    checkpoint();
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(exited());
    ticks.push(cpuTicks(pid));
    times.push(nowMs());
  }
  const mem = memory(pid);
  const after = await scrape(base);
  const used = ((ticks[ticks.length - 1] as number) - (ticks[0] as number)) / hz;
  const wall = ((times[times.length - 1] as number) - t0) / 1000;
  const perSecond = summarize(ticks.slice(1).map((t, i) => ((t - (ticks[i] as number)) / hz / (((times[i + 1] as number) - (times[i] as number)) / 1000)) * 100));
  const scans = diffHistogram(parseHistogram(after, SCAN_HIST), parseHistogram(before, SCAN_HIST));
  const detections = after.split('\n').filter((l) => l.startsWith('rootwatch_breakout_detections_total{')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  const result: PhaseResult = {
    containers,
    monitored,
    processes: procCount(),
    cpuPercent: r((used / wall) * 100, 2),
    perSecond: { median: r(perSecond.median, 1), p90: r(perSecond.p90, 1), max: r(perSecond.max, 1) },
    rssMiB: mem.rssMiB,
    hwmMiB: mem.hwmMiB,
    scans: scans.count,
    scanMeanMs: scans.count ? r((scans.sum / scans.count) * 1000, 2) : NaN,
    scanErrors: sample(after, 'rootwatch_proc_scan_errors_total'),
    detections,
    stopped: '',
  };
  await stop();
  result.stopped = child.exitCode !== null ? `exit ${child.exitCode}` : `signal ${child.signalCode}`;
  return result;
}

function row(p: PhaseResult): [string, string][] {
  return [
    [`${p.containers} containers`, `CPU ${p.cpuPercent} % of one core over ${WINDOW_S} s (per-second median ${p.perSecond.median} %, p90 ${p.perSecond.p90}, max ${p.perSecond.max})`],
    ['  memory', `RSS ${p.rssMiB} MiB (peak ${p.hwmMiB} MiB)`],
    ['  breakout scans in the daemon', `${p.scans} scans, mean ${p.scanMeanMs} ms (rootwatch_proc_scan_duration_seconds); ${p.scanErrors} errors, ${p.detections} detections`],
    ['  context', `${p.monitored} containers monitored, ${p.processes} processes in /proc; daemon stopped: ${p.stopped}`],
  ];
}

export async function main(): Promise<Record<string, unknown>> {
  const loadStart = load1();
  try {
    const dist = ensureBuilt();
    const hz = clockTicks();
    const engine = await startBenchEngine('idle');
    const workDir = mkdtempSync(join(tmpdir(), 'rootwatch-idlecpu-'));
    onCleanup(async () => rmSync(workDir, { recursive: true, force: true }));
    // The engine is not the host's dockerd: point the host reference at it explicitly.
    writeFileSync(join(workDir, 'rootwatch.yaml'), `breakout:\n  host_reference_pid: ${engine.pid()}\n`);

    const empty = await phase(engine, workDir, 0, hz);

    checkpoint();
    progress(`starting ${CONTAINERS} idle containers (sleep 600), 10 at a time`);
    await mapLimit(Array.from({ length: CONTAINERS }, (_, i) => i), 10, async (i) => {
      const c = await engine.docker.createContainer({ name: `idle-${i}`, Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } });
      await c.start();
    });
    const running = (await engine.docker.listContainers()).length;
    if (running !== CONTAINERS) throw new Error(`expected ${CONTAINERS} running containers, found ${running}`);
    const loaded = await phase(engine, workDir, CONTAINERS, hz);

    checkpoint();
    const mach = machine(loadStart);
    printBlock(`idleCpu: the daemon (node dist/src/main.js run), breakout interval 1 s, ${WINDOW_S} s window`, [
      ...row(empty),
      ...row(loaded),
      ['dist/', dist],
      ['clock ticks', `${hz} per second (getconf CLK_TCK)`],
      mach.row,
    ]);
    const result = {
      bench: 'idleCpu',
      machine: { cores: mach.cores, load1Start: mach.load1Start, load1End: mach.load1End },
      intervalS: 1,
      windowS: WINDOW_S,
      settleS: SETTLE_S,
      clkTck: hz,
      dist,
      phases: [empty, loaded],
    };
    printBenchJson(result);
    return result;
  } finally {
    await runCleanups();
  }
}

if (isMain(import.meta.url)) runStandalone(main);
