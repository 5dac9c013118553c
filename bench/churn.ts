// Churn: 500 short-lived containers (`docker run --rm busybox true`, 8 at a time) while the daemon
// runs in-process. Reports the daemon's memory before and after (RSS after a forced GC), the
// rootwatch_container_finding series before and after (they must return to the baseline: no leaked
// series of dead containers) and the event counts seen by the engine's stream and by the daemon.
//
//   node --expose-gc --import tsx bench/churn.ts     (or: npm run bench -- churn)
//   BENCH_CHURN=500 BENCH_CHURN_ROUNDS=2 BENCH_CHURN_CONCURRENCY=8 BENCH_CHURN_MAX_S=150 change the size
//   and time cap. Memory and series are taken after each round: growth that continues from round to
//   round (rather than a one-off step to a bounded cache's size) is what a leak looks like.
import { exposedGc } from '../src/runtime/memory.js';
import {
  EventRecorder, TEST_IMAGE, countSeries, isMain, mapLimit, nowMs, printBenchJson, printBlock, progress, r, runCleanups,
  runStandalone, samplesByLabels, scrape, sample, sleep, startBenchDaemon, startBenchEngine, wasInterrupted,
  load1, machine, runRemoved,
} from './lib.js';

const TOTAL = Number(process.env.BENCH_CHURN ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CHURN_CONCURRENCY ?? 8);
const MAX_S = Number(process.env.BENCH_CHURN_MAX_S ?? 150);
const ROUNDS = Math.max(1, Number(process.env.BENCH_CHURN_ROUNDS ?? 2));
const BASELINE_CONTAINERS = 3;
const SERIES = 'rootwatch_container_finding';

/** global.gc when node runs with --expose-gc; otherwise enabled at run time, as the daemon's trimmer does. */
function gcFunction(): { gc: () => void; how: string } {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return { gc: g, how: '--expose-gc' };
  const exposed = exposedGc();
  return { gc: () => exposed(), how: 'v8.setFlagsFromString' };
}

function memory(gc: () => void): { rssMiB: number; heapUsedMiB: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rssMiB: r(m.rss / 2 ** 20, 1), heapUsedMiB: r(m.heapUsed / 2 ** 20, 1) };
}

function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

export async function main(): Promise<Record<string, unknown>> {
  const loadStart = load1();
  try {
    const { gc, how } = gcFunction();
    const engine = await startBenchEngine('churn');
    const rec = await EventRecorder.subscribe(engine.docker);
    const { daemon, base } = await startBenchDaemon(engine);
    const docker = engine.docker;

    progress(`baseline: ${BASELINE_CONTAINERS} long-running containers`);
    for (let i = 0; i < BASELINE_CONTAINERS; i++) {
      const c = await docker.createContainer({ name: `churn-base-${i}`, Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { PidMode: 'host' } });
      await c.start();
    }
    let body = await scrape(base);
    const deadline0 = Date.now() + 15_000;
    while (daemon.monitor.inventory.ids().length < BASELINE_CONTAINERS && Date.now() < deadline0) {
      await sleep(50);
      body = await scrape(base);
    }
    // Warm up code paths (inspect of a vanished container, gone handling) before the "before" figure.
    await mapLimit(Array.from({ length: 16 }, (_, i) => i), CONCURRENCY, (i) => runRemoved(docker, `churn-warm-${i}`));
    await sleep(500);
    body = await scrape(base);
    const seriesBefore = countSeries(body, SERIES);
    const inventoryBefore = daemon.monitor.inventory.ids().length;
    const eventsBefore = samplesByLabels(body, 'rootwatch_docker_events_total');
    const auditErrorsBefore = sample(body, 'rootwatch_audit_errors_total');
    const auditedBefore = sample(body, 'rootwatch_audit_duration_seconds_count');
    const recBefore = { ...rec.counts };
    const memBefore = memory(gc);

    progress(`churn: ${TOTAL} × run --rm true in ${ROUNDS} round(s), ${CONCURRENCY} at a time (cap ${MAX_S} s)`);
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
    const t0 = nowMs();
    let done = 0;
    let failed = 0;
    let capped = false;
    const failures: string[] = [];
    const rounds: { containers: number; series: number; inventory: number; settleMs: number; rssMiB: number; heapUsedMiB: number }[] = [];
    const perRound = Math.ceil(TOTAL / ROUNDS);
    try {
      for (let round = 0; round < ROUNDS && !capped && !wasInterrupted(); round++) {
        const first = round * perRound;
        const indexes = Array.from({ length: Math.max(0, Math.min(perRound, TOTAL - first)) }, (_, i) => first + i);
        await mapLimit(indexes, CONCURRENCY, async (i) => {
          if (wasInterrupted()) return;
          if (nowMs() - t0 > MAX_S * 1000) {
            capped = true;
            return;
          }
          try {
            await runRemoved(docker, `churn-${i}`);
            done++;
          } catch (e) {
            failed++;
            if (failures.length < 3) failures.push((e as Error).message);
          }
          if ((done + failed) % 100 === 0) progress(`  ${done + failed}/${TOTAL} in ${r((nowMs() - t0) / 1000)} s`);
        });
        // Let the last events drain, then wait (bounded) for series and inventory to return to the baseline.
        const settleStart = nowMs();
        const settleDeadline = Date.now() + 20_000;
        for (;;) {
          body = await scrape(base);
          const ok = countSeries(body, SERIES) === seriesBefore && daemon.monitor.inventory.ids().length === inventoryBefore &&
            (rec.counts.destroy ?? 0) - (recBefore.destroy ?? 0) >= done;
          if (ok || Date.now() > settleDeadline) break;
          await sleep(50);
        }
        const settleMs = nowMs() - settleStart;
        await sleep(200);
        body = await scrape(base);
        rounds.push({ containers: done, series: countSeries(body, SERIES), inventory: daemon.monitor.inventory.ids().length, settleMs: r(settleMs), ...memory(gc) });
      }
    } finally {
      clearInterval(sampler);
    }
    const churnS = (nowMs() - t0) / 1000;
    const settleMs = Math.max(...rounds.map((x) => x.settleMs));
    const seriesAfter = countSeries(body, SERIES);
    const inventoryAfter = daemon.monitor.inventory.ids().length;
    const memAfter = memory(gc);
    const leakedInRound = rounds.some((x) => x.series !== seriesBefore || x.inventory !== inventoryBefore);
    const daemonEvents = diffCounts(samplesByLabels(body, 'rootwatch_docker_events_total'), eventsBefore);
    const engineEvents = diffCounts(rec.counts, recBefore);
    const auditErrors = sample(body, 'rootwatch_audit_errors_total') - auditErrorsBefore;
    const audited = sample(body, 'rootwatch_audit_duration_seconds_count') - auditedBefore;
    const leaked = leakedInRound || seriesAfter !== seriesBefore || inventoryAfter !== inventoryBefore;
    const stillRunning = (await docker.listContainers()).length;

    const fmtEvents = (e: Record<string, number>): string =>
      Object.entries(e).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k.replace(/^action="(.*)"$/, '$1')}=${v}`).join(' ');
    const mach = machine(loadStart);
    printBlock(`churn: ${TOTAL} short-lived containers while the daemon runs`, [
      ['containers', `${done} run+removed, ${failed} failed${capped ? `, stopped at the ${MAX_S} s cap` : ''}, in ${r(churnS)} s (${r(done / churnS)} /s, ${CONCURRENCY} in flight)`],
      ...(failures.length ? [['  first failures', failures.join(' | ')] as [string, string]] : []),
      ['baseline', `${BASELINE_CONTAINERS} long-running containers`],
      [`${SERIES} series`, `before ${seriesBefore}, after ${seriesAfter}`],
      ['daemon inventory', `before ${inventoryBefore}, after ${inventoryAfter} containers; running on the engine now: ${stillRunning}`],
      ['leak', leaked ? 'LEAKED: series/inventory did not return to the baseline' : `none: back to the baseline at most ${r(settleMs)} ms after a round's last container`],
      ['RSS after GC', `before ${memBefore.rssMiB} MiB, after ${memAfter.rssMiB} MiB (${r(memAfter.rssMiB - memBefore.rssMiB)} MiB), peak during churn ${r(peakRss / 2 ** 20)} MiB`],
      ...rounds.map((x, i) => [`  after round ${i + 1}`, `${x.containers} containers: series ${x.series}, inventory ${x.inventory}, RSS ${x.rssMiB} MiB, heap ${x.heapUsedMiB} MiB`] as [string, string]),
      ['heap used after GC', `before ${memBefore.heapUsedMiB} MiB, after ${memAfter.heapUsedMiB} MiB (${r(memAfter.heapUsedMiB - memBefore.heapUsedMiB)} MiB)`],
      ['gc', how],
      ['engine events', fmtEvents(engineEvents)],
      ['daemon events_total', fmtEvents(daemonEvents)],
      ['daemon audits / errors', `${audited} containers audited while alive, ${auditErrors} audit errors`],
      ['note', 'memory is this whole process (daemon + bench driver), measured in-process'],
      mach.row,
    ]);
    const result = {
      bench: 'churn',
      machine: { cores: mach.cores, load1Start: mach.load1Start, load1End: mach.load1End },
      requested: TOTAL,
      done,
      failed,
      capped,
      concurrency: CONCURRENCY,
      seconds: r(churnS),
      perSecond: r(done / churnS),
      series: { before: seriesBefore, after: seriesAfter },
      inventory: { before: inventoryBefore, after: inventoryAfter },
      leaked,
      settleMs: r(settleMs),
      rounds,
      memoryMiB: { before: memBefore, after: memAfter, peakRss: r(peakRss / 2 ** 20) },
      gc: how,
      engineEvents,
      daemonEvents: Object.fromEntries(Object.entries(daemonEvents).map(([k, v]) => [k.replace(/^action="(.*)"$/, '$1'), v])),
      audited,
      auditErrors,
    };
    printBenchJson(result);
    return result;

  } finally {
    await runCleanups();
  }
}

if (isMain(import.meta.url)) runStandalone(main);
