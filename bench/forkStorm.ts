// Issue 13: load is no cover. A 50,000-fork storm in an ordinary container (static fork-storm.c, 4
// workers) with 20 nsenter escapes from a --pid=host SYS_ADMIN container, one every 100 ms, each an
// nsenter whose child writes its pid into a host file and exits (a few milliseconds of life). The
// daemon runs in-process with the process connector and the default 1 s poll.
// Prints, per reader mode (real-time SCHED_RR 1, or nice -10 without: ROOTWATCH_READER_REALTIME=0):
// escapes caught (an alert naming the escape container and the escape's pid), losses by why, the
// storm's own duration (what the reader's work costs the storm), and the benign exec loop's losses.
//   Knobs: BENCH_STORM_RUNS=5 BENCH_STORM_FORKS=50000 BENCH_STORM_MODES=realtime,nice
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { engine, destroyEngines } from '../test/harness/engines.js';
import { TEST_IMAGE } from '../test/harness/privateDockerd.js';
import { sample, startTestDaemon } from '../test/harness/testDaemon.js';
import { waitFor } from '../test/harness/waitFor.js';
import { BREAKOUT_REASONS } from '../src/breakout/types.js';
import { LOSS_REASONS } from '../src/breakout/processEvents.js';
import { buildForkStorm, printBlock, sleep } from './lib.js';

const num = (k: string, d: number): number => Number(process.env[k] ?? d) || d;
const RUNS = num('BENCH_STORM_RUNS', 5);
const FORKS = num('BENCH_STORM_FORKS', 50_000);
const MODES = (process.env.BENCH_STORM_MODES ?? 'realtime,nice').split(',');
const ESCAPES = 20;
const RECHECK_PROCS = num('BENCH_STORM_RECHECK_PROCS', 200);
const RECHECK_S = num('BENCH_STORM_RECHECK_S', 20);

export async function main(): Promise<Record<string, unknown>> {
  const bin = mkdtempSync('/var/tmp/rw-storm-bin-');
  const hostDir = mkdtempSync('/var/tmp/rw-storm-host-');
  const stormBin = buildForkStorm(bin);
  const eng = await engine('default');
  const out: Record<string, unknown> = {};
  try {
    await eng.cli('run', '-d', '--name', 'bench-escaper', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
      '--security-opt', 'seccomp=unconfined', '-v', `${hostDir}:${hostDir}`, TEST_IMAGE, 'sleep', '3600');
    for (const mode of MODES) {
      process.env.ROOTWATCH_READER_REALTIME = mode === 'realtime' ? '1' : '0';
      const d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', host_reference_pid: eng.pid(), process_events: 'auto' } });
      const rows: [string, string][] = [];
      const caughtAll: number[] = [];
      try {
        await waitFor(async () => (await d.metrics()).includes('bench-escaper'), 'escape container audited', 15_000).catch(() => undefined);
        for (let run = 1; run <= RUNS; run++) {
          const m0 = await d.metrics();
          const dir = mkdtempSync(join(hostDir, 'run-'));
          await eng.cli('rm', '-f', 'bench-storm').catch(() => undefined);
          await eng.cli('create', '--name', 'bench-storm', '-v', `${stormBin}:/fork-storm:ro`, TEST_IMAGE, '/fork-storm', String(FORKS), '4');
          await eng.cli('start', 'bench-storm');
          await sleep(300);
          const script = `for i in $(seq 1 ${ESCAPES}); do nsenter -t ${eng.pid()} -m -u -i -n -p /bin/sh -c "echo \\$\\$ \\$PPID > ${dir}/esc-$i.pid" & sleep 0.1; done; wait`;
          await eng.cli('exec', 'bench-escaper', 'sh', '-c', script);
          await eng.cli('wait', 'bench-storm');
          const stormLog = (await eng.cli('logs', 'bench-storm')).trim();
          await sleep(3000);
          const m1 = await d.metrics();
          const alerts = d.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule)) && (a.container as { name?: string } | null)?.name === 'bench-escaper');
          let caught = 0;
          for (const f of readdirSync(dir)) {
            const pids = readFileSync(join(dir, f), 'utf8').trim().split(' ').map(Number);
            if (alerts.some((a) => pids.includes(Number((a.evidence as { pid?: number }).pid)))) caught++;
          }
          caughtAll.push(caught);
          const lost = LOSS_REASONS.map((why) => `${why} ${(sample(m1, 'rootwatch_process_events_lost_total', { why }) ?? 0) - (sample(m0, 'rootwatch_process_events_lost_total', { why }) ?? 0)}`).join(', ');
          rows.push([`run ${run}`, `caught ${caught}/${readdirSync(dir).length}; ${stormLog}; lost: ${lost}`]);
        }
        const rt = d.logs.find((l) => l.event === 'process_source');
        rows.push(['caught (min / median / max)', `${Math.min(...caughtAll)} / ${[...caughtAll].sort((a, b) => a - b)[Math.floor(caughtAll.length / 2)]} / ${Math.max(...caughtAll)} of ${ESCAPES}`]);
        rows.push(['source', String(rt?.source ?? '?')]);
        out[mode] = caughtAll;
      } finally {
        await d.stop();
      }
      if (mode === MODES[0]) {
        // The namespace re-check's cost: an idle container with RECHECK_PROCS sleeping processes, the
        // reader thread's CPU over RECHECK_S seconds, against the processes it re-read.
        const d2 = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1h', host_reference_pid: eng.pid(), process_events: 'auto' } });
        try {
          await eng.cli('rm', '-f', 'bench-idle').catch(() => undefined);
          await eng.cli('run', '-d', '--name', 'bench-idle', TEST_IMAGE, 'sh', '-c', `for i in $(seq 1 ${RECHECK_PROCS}); do sleep 3600 & done; wait`);
          await sleep(3000);
          const m0 = await d2.metrics();
          const reads0 = sample(m0, 'rootwatch_process_namespace_rechecks_total', { outcome: 'read' }) ?? 0;
          const rc0 = sample(m0, 'rootwatch_process_namespace_recheck_cpu_seconds_total') ?? 0;
          const cpu0 = threadCpuSeconds('rw-proc-events');
          await sleep(RECHECK_S * 1000);
          const m1 = await d2.metrics();
          const reads = (sample(m1, 'rootwatch_process_namespace_rechecks_total', { outcome: 'read' }) ?? 0) - reads0;
          // The re-check's own CPU (measured in the addon), and the reader thread's whole CPU, which
          // also handles every process event on the host (on a shared machine, other work's too).
          const rc = (sample(m1, 'rootwatch_process_namespace_recheck_cpu_seconds_total') ?? 0) - rc0;
          const cpu = threadCpuSeconds('rw-proc-events') - cpu0;
          rows.push([`re-check, ${RECHECK_PROCS} idle container processes`, `${reads} re-reads in ${RECHECK_S} s (${Math.round(reads / RECHECK_S)}/s); re-check CPU ${(rc * 100 / RECHECK_S).toFixed(2)} % of a core, ${reads > 0 ? ((rc / reads) * 1e6).toFixed(1) : '?'} µs per re-read; reader thread in all ${(cpu * 100 / RECHECK_S).toFixed(2)} %`]);
          out.recheck = { procs: RECHECK_PROCS, readsPerS: reads / RECHECK_S, recheckCpuPct: (rc * 100) / RECHECK_S, readerCpuPct: (cpu * 100) / RECHECK_S };
        } finally {
          await eng.cli('rm', '-f', 'bench-idle').catch(() => undefined);
          await d2.stop();
        }
      }
      printBlock(`fork storm (${FORKS} forks, 4 workers) + ${ESCAPES} nsenter escapes, reader ${mode === 'realtime' ? 'SCHED_RR 1' : 'nice -10, no real-time'}`, rows);
    }
  } finally {
    await eng.cli('rm', '-f', 'bench-storm', 'bench-escaper').catch(() => undefined);
    rmSync(bin, { recursive: true, force: true });
    rmSync(hostDir, { recursive: true, force: true });
    delete process.env.ROOTWATCH_READER_REALTIME;
    if (process.argv[1]?.endsWith('forkStorm.ts')) await destroyEngines();
  }
  return out;
}

if (process.argv[1]?.endsWith('forkStorm.ts')) await main();

/** CPU seconds of this process's threads named `name` (utime + stime from /proc/self/task/<tid>/stat). */
export function threadCpuSeconds(name: string): number {
  let ticks = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch { /* gone */ }
  }
  return ticks / 100; // USER_HZ
}
