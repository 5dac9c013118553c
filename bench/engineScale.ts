// Scale: the daemon (a child process, as in production) against a fake Engine API that lists 1,000
// and 10,000 running containers (recorded inspect JSON; init pids that do not exist here, as for
// containers whose processes rootwatch cannot read). For each size it reports the first reconcile,
// /healthz latency while it runs (an event-loop stall shows here), /metrics scrape time and size,
// idle CPU afterwards, RSS, and how long SIGTERM takes.
//
//   npx tsx bench/engineScale.ts        (or: npm run bench -- engineScale)
//   BENCH_SCALE_SIZES=1000,10000 BENCH_SCALE_IDLE_S=20 change the sizes and the idle window.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeEngine } from '../test/harness/fakeEngine.js';
import {
  MAIN_JS, NODE_FLAGS, clockTicks, ensureBuilt, fmtSummary, freePort, isMain, load1, machine, nowMs, onCleanup, printBenchJson, printBlock, r, roundSummary,
  runStandalone, sleep, stopChild, summarize,
} from './lib.js';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000,10000').split(',').map(Number).filter((n) => n > 0);
const IDLE_S = Number(process.env.BENCH_SCALE_IDLE_S ?? 20);

interface SizeFigures {
  containers: number;
  reconcileS: number;
  healthz: ReturnType<typeof summarize>;
  healthzMaxMs: number;
  healthzSamples: number;
  scrapeMs: number[];
  scrapeBytes: number;
  idleCpuPct: number;
  /** RSS 10 s after the first reconcile, and again after the idle window: bounded memory stays put. */
  rssAfterReconcileMb: number;
  rssMb: number;
  sigtermMs: number;
  exit: string;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : NaN;
}

async function timed(url: string): Promise<{ ms: number; body: string; status: number }> {
  const t0 = nowMs();
  const res = await fetch(url);
  const body = await res.text();
  return { ms: nowMs() - t0, body, status: res.status };
}

async function measure(size: number): Promise<SizeFigures> {
  const fake = await new FakeEngine().start();
  const stopFake = onCleanup(() => fake.stop());
  fake.addContainers(size);
  const dir = mkdtempSync(join(tmpdir(), 'rw-bench-scale-'));
  const config = join(dir, 'rootwatch.yaml');
  writeFileSync(config, `docker:\n  host: ${fake.dockerHost}\nlog:\n  level: info\n`);
  const port = await freePort();
  const t0 = nowMs();
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN_JS, '--config', config, 'run', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stopDaemon = onCleanup(async () => void (await stopChild(child)));
  let reconciledAt = 0;
  let partial = '';
  child.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (!reconciledAt && l.includes('"event":"reconciled"')) reconciledAt = nowMs();
  });
  const base = `http://127.0.0.1:${port}`;
  // /healthz every 50 ms from start until 10 s after the first reconcile: the longest answer is the
  // longest stall of the daemon's event loop (plus HTTP).
  const latencies: number[] = [];
  const deadline = t0 + 120_000;
  while (nowMs() < deadline && (!reconciledAt || nowMs() < reconciledAt + 10_000)) {
    const h = await timed(`${base}/healthz`).catch(() => null);
    if (h && h.status === 200) latencies.push(h.ms);
    await sleep(50);
  }
  if (!reconciledAt) throw new Error(`no reconcile within 120 s at ${size} containers`);
  const scrapes: number[] = [];
  let scrapeBytes = 0;
  for (let i = 0; i < 3; i++) {
    const s = await timed(`${base}/metrics`);
    scrapes.push(s.ms);
    scrapeBytes = s.body.length;
  }
  const pid = child.pid as number;
  const rssAfterReconcile = rssMb(pid);
  const c0 = cpuSeconds(pid);
  const w0 = nowMs();
  await sleep(IDLE_S * 1000);
  const idleCpuPct = ((cpuSeconds(pid) - c0) / ((nowMs() - w0) / 1000)) * 100;
  const rss = rssMb(pid);
  const s0 = nowMs();
  const exit = await stopChild(child, 10_000);
  const sigtermMs = nowMs() - s0;
  await stopDaemon();
  await stopFake();
  rmSync(dir, { recursive: true, force: true });
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    containers: size,
    reconcileS: (reconciledAt - t0) / 1000,
    healthz: roundSummary(summarize(sorted)),
    healthzMaxMs: sorted[sorted.length - 1] ?? NaN,
    healthzSamples: sorted.length,
    scrapeMs: scrapes.map((x) => r(x)),
    scrapeBytes,
    idleCpuPct,
    rssAfterReconcileMb: rssAfterReconcile,
    rssMb: rss,
    sigtermMs,
    exit,
  };
}

export async function main(): Promise<SizeFigures[]> {
  ensureBuilt();
  const m = machine(load1());
  const out: SizeFigures[] = [];
  for (const size of SIZES) {
    const f = await measure(size);
    out.push(f);
    printBlock(`engine scale: ${size} containers (fake Engine API, daemon as a child process)`, [
      ['start → first reconcile logged', `${r(f.reconcileS, 2)} s`],
      [`/healthz while reconciling (${f.healthzSamples} samples)`, `${fmtSummary(f.healthz)}; max ${r(f.healthzMaxMs)} ms`],
      ['/metrics scrape, 3 in a row', `${f.scrapeMs.join(', ')} ms (${r(f.scrapeBytes / 1024)} KiB)`],
      [`idle CPU over ${IDLE_S} s after reconcile`, `${r(f.idleCpuPct, 2)} % of a core`],
      ['RSS after reconcile, after the idle window', `${r(f.rssAfterReconcileMb)} MB, ${r(f.rssMb)} MB`],
      ['SIGTERM → exit', `${r(f.sigtermMs)} ms (${f.exit})`],
      m.row,
    ]);
  }
  printBenchJson({ bench: 'engineScale', sizes: out });
  return out;
}

if (isMain(import.meta.url)) runStandalone(main);
