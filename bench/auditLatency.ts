// Latency from a container's `start` event to its findings on /metrics, with the daemon in-process
// against a private engine. (a) sequential: containers started one at a time; (b) burst: 100 started
// concurrently (creation bounded to 10 in flight so the engine copes; the daemon's handling is measured).
//
//   npx tsx bench/auditLatency.ts            (or: npm run bench -- auditLatency)
//   BENCH_SEQ=30 BENCH_BURST=100 BENCH_BURST_CONCURRENCY=10 to change the sizes;
//   BENCH_BREAKOUT_INTERVAL=1h keeps the daemon's breakout scanner (same event loop) out of the way.
import {
  EventRecorder, MetricsPoller, histogramQuantile, type Histogram, TEST_IMAGE, auditDurationFigures, diffHistogram, findingIds, fmtSummary, isMain, mapLimit,
  nowMs, parseHistogram, printBenchJson, printBlock, progress, r, removeAll, roundSummary, runCleanups, runStandalone, scrape,
  sleep, startBenchDaemon, startBenchEngine, summarize,
  load1, machine,
} from './lib.js';

const SEQ = Number(process.env.BENCH_SEQ ?? 30);
const WARMUP = 3;
const BURST = Number(process.env.BENCH_BURST ?? 100);
const BURST_CONCURRENCY = Number(process.env.BENCH_BURST_CONCURRENCY ?? 10);
const POLL_MS = 2;
const SEEN_TIMEOUT_MS = 20_000;
const GOAL_MEDIAN_MS = 100;
const HIST = 'rootwatch_audit_duration_seconds';
const SCAN_HIST = 'rootwatch_proc_scan_duration_seconds';

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolveP, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then((v) => { clearTimeout(t); resolveP(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

/** The daemon's breakout scans during a phase: they run on the same event loop as the audits. */
function scanFigures(h: Histogram): { count: number; meanMs: number; p90Ms: number } {
  return { count: h.count, meanMs: h.count ? r((h.sum / h.count) * 1000, 2) : NaN, p90Ms: r(histogramQuantile(h, 0.9) * 1000, 2) };
}

function scanText(s: { count: number; meanMs: number; p90Ms: number }): string {
  const interval = process.env.BENCH_BREAKOUT_INTERVAL ?? 'default';
  return s.count ? `${s.count} in the phase, mean ${s.meanMs} ms, est. p90 ${s.p90Ms} ms (same event loop; interval ${interval})` : `none in the phase (interval ${interval})`;
}

export async function main(): Promise<Record<string, unknown>> {
  const loadStart = load1();
  try {
    const engine = await startBenchEngine('lat');
    const rec = await EventRecorder.subscribe(engine.docker);
    const { base } = await startBenchDaemon(engine);
    const poller = new MetricsPoller(base, POLL_MS);
    const docker = engine.docker;

    const create = (name: string) =>
      docker.createContainer({ name, Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { PidMode: 'host' } });

    // ---- (a) sequential
    progress(`sequential: ${WARMUP} warm-up + ${SEQ} containers, one at a time`);
    const seqIds: string[] = [];
    const seqFromEvent: number[] = [];
    const seqFromReturn: number[] = [];
    const seqEventToBench: number[] = [];
    let histBefore = parseHistogram(await scrape(base), HIST);
    let scanBefore = parseHistogram(await scrape(base), SCAN_HIST);
    for (let i = 0; i < WARMUP + SEQ; i++) {
      const c = await create(`lat-seq-${i}`);
      seqIds.push(c.id);
      await c.start();
      const returned = nowMs();
      const seenAt = await within(poller.waitFor(c.id.slice(0, 12)), SEEN_TIMEOUT_MS, `findings of ${c.id.slice(0, 12)} on /metrics`);
      const startAt = await rec.startTime(c.id);
      if (i === WARMUP - 1) {
        const body = await scrape(base);
        histBefore = parseHistogram(body, HIST);
        scanBefore = parseHistogram(body, SCAN_HIST);
      }
      if (i < WARMUP) continue;
      seqFromEvent.push(seenAt - startAt);
      seqFromReturn.push(seenAt - returned);
      seqEventToBench.push((rec.startReceivedAt.get(c.id) ?? NaN) - startAt);
      await sleep(20);
    }
    const seqBody = await scrape(base);
    const seqHist = auditDurationFigures(diffHistogram(parseHistogram(seqBody, HIST), histBefore));
    const seqScan = scanFigures(diffHistogram(parseHistogram(seqBody, SCAN_HIST), scanBefore));
    const seqScrape = summarize(poller.scrapeMs.splice(0));

    progress('removing the sequential containers');
    await removeAll(engine, seqIds);
    const drainDeadline = Date.now() + 20_000;
    while (findingIds(await scrape(base)).size > 0 && Date.now() < drainDeadline) await sleep(50);

    // ---- (b) burst
    progress(`burst: ${BURST} containers, create+start with ${BURST_CONCURRENCY} in flight`);
    const burstBodyBefore = await scrape(base);
    const burstHistBefore = parseHistogram(burstBodyBefore, HIST);
    const burstScanBefore = parseHistogram(burstBodyBefore, SCAN_HIST);
    const burstStart = nowMs();
    const seenPromises: Promise<{ id: string; seenAt: number }>[] = [];
    const burstIds = await mapLimit(Array.from({ length: BURST }, (_, i) => i), BURST_CONCURRENCY, async (i) => {
      const c = await create(`lat-burst-${i}`);
      await c.start();
      seenPromises.push(within(poller.waitFor(c.id.slice(0, 12)), SEEN_TIMEOUT_MS * 3, `burst ${c.id.slice(0, 12)}`).then((seenAt) => ({ id: c.id, seenAt })));
      return c.id;
    });
    const startsDone = nowMs();
    const seen = await Promise.all(seenPromises);
    const allVisible = Math.max(...seen.map((s) => s.seenAt));
    const burstLat: number[] = [];
    for (const s of seen) burstLat.push(s.seenAt - (await rec.startTime(s.id)));
    const firstStartEvent = Math.min(...(await Promise.all(burstIds.map((id) => rec.startTime(id)))));
    const lastStartEvent = Math.max(...(await Promise.all(burstIds.map((id) => rec.startTime(id)))));
    const burstBody = await scrape(base);
    const burstHist = auditDurationFigures(diffHistogram(parseHistogram(burstBody, HIST), burstHistBefore));
    const burstScan = scanFigures(diffHistogram(parseHistogram(burstBody, SCAN_HIST), burstScanBefore));
    const burstScrape = summarize(poller.scrapeMs.splice(0));
    progress('removing the burst containers');
    await removeAll(engine, burstIds);

    const seqS = summarize(seqFromEvent);
    const burstS = summarize(burstLat);
    const pass = seqS.median < GOAL_MEDIAN_MS;
    const mach = machine(loadStart);
    printBlock('auditLatency: container start event → findings on /metrics', [
      ['goal', `median start→metric under ${GOAL_MEDIAN_MS} ms`],
      ['method', `Docker start event timeNano → first /metrics scrape listing the container (polled every ${POLL_MS} ms)`],
      ['(a) sequential', `${SEQ} containers (--pid=host, sleep 600), one at a time, after ${WARMUP} warm-up`],
      ['  start→metric', fmtSummary(seqS)],
      ['  start returned→metric', fmtSummary(summarize(seqFromReturn))],
      ['  event→bench received', fmtSummary(summarize(seqEventToBench))],
      ['  daemon audit_duration', `${seqHist.count} obs, mean ${seqHist.meanMs} ms, est. p50 ${seqHist.p50Ms} / p90 ${seqHist.p90Ms} / p99 ${seqHist.p99Ms} ms (from buckets)`],
      ['  /metrics scrape time', fmtSummary(seqScrape)],
      ['  breakout scans', scanText(seqScan)],
      ['(b) burst', `${BURST} containers, create+start ${BURST_CONCURRENCY} in flight`],
      ['  all started (API)', `${r(startsDone - burstStart)} ms after the first create`],
      ['  start events span', `${r(lastStartEvent - firstStartEvent)} ms (first → last start event)`],
      ['  all visible', `${r(allVisible - burstStart)} ms after the first create; ${r(allVisible - lastStartEvent)} ms after the last start event`],
      ['  start→metric', fmtSummary(burstS)],
      ['  daemon audit_duration', `${burstHist.count} obs, mean ${burstHist.meanMs} ms, est. p50 ${burstHist.p50Ms} / p90 ${burstHist.p90Ms} / p99 ${burstHist.p99Ms} ms (from buckets)`],
      ['  /metrics scrape time', fmtSummary(burstScrape)],
      ['  breakout scans', scanText(burstScan)],
      ['verdict', `${pass ? 'PASS' : 'FAIL'}: sequential median ${r(seqS.median)} ms ${pass ? '<' : '>='} ${GOAL_MEDIAN_MS} ms`],
      mach.row,
    ]);
    const result = {
      bench: 'auditLatency',
      machine: { cores: mach.cores, load1Start: mach.load1Start, load1End: mach.load1End },
      goalMedianMs: GOAL_MEDIAN_MS,
      pass,
      sequential: {
        n: SEQ,
        startToMetricMs: roundSummary(seqS),
        startReturnedToMetricMs: roundSummary(summarize(seqFromReturn)),
        daemonAuditDuration: seqHist,
        scrapeMs: roundSummary(seqScrape, 2),
        breakoutScans: seqScan,
      },
      burst: {
        n: BURST,
        concurrency: BURST_CONCURRENCY,
        allStartedMs: r(startsDone - burstStart),
        startEventSpanMs: r(lastStartEvent - firstStartEvent),
        allVisibleMs: r(allVisible - burstStart),
        allVisibleAfterLastStartMs: r(allVisible - lastStartEvent),
        startToMetricMs: roundSummary(burstS),
        daemonAuditDuration: burstHist,
        scrapeMs: roundSummary(burstScrape, 2),
        breakoutScans: burstScan,
      },
    };
    printBenchJson(result);
    return result;
  } finally {
    await runCleanups();
  }
}

if (isMain(import.meta.url)) runStandalone(main);
