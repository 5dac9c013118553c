// Cost of one breakout scan (ProcessScanner.scan) on a busy host: ~3,000 processes in /proc and 100
// running containers on a private engine. Measured in the same run, interleaved so both see the same
// machine load:
//   - rootwatch's scan: the first scan (every pid is new: all of them are read once) and the
//     steady state (container members from their cgroups, only *new* host pids read, hooks, modules);
//   - a naive full scan, the approach rootwatch avoids: for every pid in /proc, read status, cgroup,
//     all 7 namespace links and exe.
//
//   npx tsx bench/procScan.ts
//   BENCH_SCAN_PROCS=3000 (target number of processes in /proc; `sleep 600` children fill the gap),
//   BENCH_SCAN_CONTAINERS=100, BENCH_SCAN_STEADY=50, BENCH_SCAN_NAIVE=20 change the size.
// The daemon's V8 flags (no optimizing compiler), set before the scanner is loaded: both scans are
// timed as they would run in the daemon.
import '../src/runtime/leanV8.js';
import { FULL_SCAN_EVERY_MS } from '../src/breakout/breakoutWatch.js';
import { loadProcConnector } from '../src/proc/procConnector.js';
import type Docker from 'dockerode';
import { ProcessScanner, type ScanReport } from '../src/breakout/processScanner.js';
import type { HostReference } from '../src/breakout/types.js';
import type { ContainerInspect, DockerInfo, DockerVersion } from '../src/model/dockerTypes.js';
import type { ContainerRecord } from '../src/model/inventory.js';
import { postureFrom } from '../src/model/posture.js';
import { CgroupTree } from '../src/proc/cgroupTree.js';
import { ProcFs } from '../src/proc/procfs.js';
import {
  TEST_IMAGE, isMain, load1, machine, mapLimit, nowMs, onCleanup, printBenchJson, printBlock, progress, r, roundSummary,
  runCleanups, runStandalone, startBenchEngine, summarize, type Summary,
  checkpoint, procCount, Sleepers, SPAWN_BATCH,
} from './lib.js';

const TARGET_PROCS = Number(process.env.BENCH_SCAN_PROCS ?? 3000);
const CONTAINERS = Number(process.env.BENCH_SCAN_CONTAINERS ?? 100);
const STEADY = Number(process.env.BENCH_SCAN_STEADY ?? 50);
const NAIVE = Number(process.env.BENCH_SCAN_NAIVE ?? 20);
const FRESH_REPEATS = 5;
const CONTAINER_ID = /[0-9a-f]{64}/;

// ---------------------------------------------------------------- the naive scan

/** What rootwatch avoids: read status, cgroup, every namespace link and exe of every pid. */
function naiveScan(proc: ProcFs, containerIds: ReadonlySet<string>): { processes: number; inContainers: number; withoutExe: number } {
  let processes = 0;
  let inContainers = 0;
  let withoutExe = 0;
  for (const pid of proc.pids()) {
    const status = proc.status(pid);
    if (!status) continue;
    const cgroups = proc.cgroups(pid);
    const ns = proc.namespaces(pid);
    const exe = proc.exe(pid);
    if (!cgroups || !ns) continue;
    processes++;
    if (exe === null) withoutExe++; // kernel threads
    // Classify the process by its cgroup path, as a naive scanner would have to.
    if (cgroups.some((l) => containerIds.has(CONTAINER_ID.exec(l.path)?.[0] ?? ''))) inContainers++;
  }
  return { processes, inContainers, withoutExe };
}

/** Wall and CPU (user+system of this process) milliseconds of fn. */
function timed<T>(fn: () => T): { value: T; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  const value = fn();
  const ms = nowMs() - t0;
  const c = process.cpuUsage(c0);
  return { value, ms, cpuMs: (c.user + c.system) / 1000 };
}

function fmt(s: Summary): string {
  return `median ${r(s.median, 2)} ms, p90 ${r(s.p90, 2)}, max ${r(s.max, 2)} (min ${r(s.min, 2)}, n=${s.n})`;
}

/** What one measurement gives: rootwatch's scan (first and steady state) and the naive full scan, interleaved. */
export interface ScanMeasurement {
  processes: number;
  containers: number;
  containerProcesses: number;
  detections: number;
  first: { ms: number; report: ScanReport };
  fresh: Summary;
  steady: Summary;
  steadyCpuMs: number[];
  steadyNewHost: number;
  naive: Summary;
  naiveCpuMs: number[];
  naiveWarmMs: number;
  naiveResult: ReturnType<typeof naiveScan>;
  /** Naive median ÷ rootwatch steady-state median. */
  ratio: number;
  /**
   * The light pass (ProcessScanner.lightScan, what the daemon runs each interval with process events,
   * with the addon's mount watch when it loads), steady state; and the periodic cost per pass with
   * events: a light pass plus a full scan's share (one every FULL_SCAN_EVERY_MS at a 1 s interval).
   */
  light: Summary;
  periodicMs: number;
  /** Naive median ÷ periodicMs. */
  periodicRatio: number;
}

/**
 * rootwatch's ProcessScanner.scan() in process, with the records, posture and host reference the daemon
 * would use for these containers, against the naive full scan: `steady` scans with `naive` naive ones
 * spread evenly among them (whatever is in /proc now is what both read).
 */
export async function measureScan(docker: Docker, enginePid: number, ids: string[], opts: { steady: number; naive: number; fresh: number }): Promise<ScanMeasurement> {
  const { steady: STEADY, naive: NAIVE, fresh: FRESH_REPEATS } = opts;
  // ---- the inputs the daemon would have: records, posture, host reference
  const posture = postureFrom((await docker.info()) as DockerInfo, (await docker.version()) as unknown as DockerVersion);
  const records: ContainerRecord[] = await mapLimit(ids, 10, async (id) => {
    const inspect = (await docker.getContainer(id).inspect()) as unknown as ContainerInspect;
    const name = typeof inspect.Name === 'string' ? inspect.Name.replace(/^\//, '') : '';
    const labels = inspect.Config?.Labels;
    return {
      engine: 'docker', posture, id: inspect.Id, shortId: inspect.Id.slice(0, 12), name, image: inspect.Config?.Image ?? inspect.Image ?? '',
      labels: labels && typeof labels === 'object' ? labels : {}, inspect, findings: [],
    };
  });
  const proc = new ProcFs('/proc');
  const refNs = proc.namespaces(enginePid);
  if (!refNs) throw new Error(`cannot read the namespaces of the engine (pid ${enginePid})`);
  const host: HostReference = { pid: enginePid, ns: refNs };
  const rootDir = posture.dockerRootDir;
  const newScanner = (): ProcessScanner => new ProcessScanner(proc, CgroupTree.fromProc('/proc'), { sysfs: '/sys' });
  const containerIds = new Set(records.map((c) => c.id));
  const processes = procCount();
  progress(`${processes} processes in /proc, ${records.length} containers; measuring`);
  checkpoint();

  // ---- first scan: every pid is new (cold JIT), then fresh scanners with a warm JIT
  const scanner = newScanner();
  const first = timed(() => scanner.scan(records, posture, host, rootDir));
  const firstReport: ScanReport = first.value;
  const freshMs: number[] = [];
  for (let i = 0; i < FRESH_REPEATS; i++) {
    const s = newScanner();
    freshMs.push(timed(() => s.scan(records, posture, host, rootDir)).ms);
  }

  // ---- steady state, interleaved with the naive scan (one naive warm-up, not counted)
  const naiveWarm = timed(() => naiveScan(proc, containerIds));
  const steadyMs: number[] = [];
  const steadyCpuMs: number[] = [];
  const naiveMs: number[] = [];
  const naiveCpuMs: number[] = [];
  let steadyNewHost = 0;
  let containerProcesses = firstReport.containerProcesses;
  let detections = 0;
  let naiveResult = naiveWarm.value;
  const naiveEvery = Math.max(1, STEADY / Math.max(1, NAIVE));
  for (let i = 0; i < STEADY; i++) {
    checkpoint();
    const s = timed(() => scanner.scan(records, posture, host, rootDir));
    steadyMs.push(s.ms);
    steadyCpuMs.push(s.cpuMs);
    steadyNewHost += s.value.newHostProcesses;
    containerProcesses = s.value.containerProcesses;
    detections = Math.max(detections, s.value.active.length);
    // Spread the naive scans evenly over the steady-state loop.
    while (naiveMs.length < NAIVE && naiveMs.length < Math.floor((i + 1) / naiveEvery)) {
      const n = timed(() => naiveScan(proc, containerIds));
      naiveMs.push(n.ms);
      naiveCpuMs.push(n.cpuMs);
      naiveResult = n.value;
    }
  }
  while (naiveMs.length < NAIVE) {
    const n = timed(() => naiveScan(proc, containerIds));
    naiveMs.push(n.ms);
    naiveCpuMs.push(n.cpuMs);
  }

  checkpoint();
  // ---- the light pass, as the daemon runs it between full scans when process events are active
  const { addon } = loadProcConnector();
  if (addon?.watchMounts && addon.mountsChanged) {
    const watchMounts = addon.watchMounts.bind(addon);
    const mountsChanged = addon.mountsChanged.bind(addon);
    scanner.mountWatch = { watch: (pids) => void watchMounts([...pids]), changed: () => new Set(mountsChanged()) };
  }
  const lightMs: number[] = [];
  for (let i = 0; i < STEADY; i++) lightMs.push(timed(() => scanner.lightScan(records, host, rootDir)).ms);
  addon?.watchMounts?.([]);
  const steady = summarize(steadyMs);
  const naive = summarize(naiveMs);
  const light = summarize(lightMs);
  const periodicMs = light.median + steady.median / (FULL_SCAN_EVERY_MS / 1000);
  return {
    processes, containers: records.length, containerProcesses, detections, first: { ms: first.ms, report: firstReport }, fresh: summarize(freshMs),
    steady, steadyCpuMs, steadyNewHost, naive, naiveCpuMs, naiveWarmMs: naiveWarm.ms, naiveResult, ratio: naive.median / steady.median,
    light, periodicMs, periodicRatio: naive.median / periodicMs,
  };
}

export async function main(): Promise<Record<string, unknown>> {
  const loadStart = load1();
  const baselineProcs = procCount();
  const sleepers = new Sleepers();
  try {
    const engine = await startBenchEngine('scan');
    const docker = engine.docker;

    progress(`starting ${CONTAINERS} containers (sleep 600), 10 at a time`);
    const t0 = nowMs();
    const ids = await mapLimit(Array.from({ length: CONTAINERS }, (_, i) => i), 10, async (i) => {
      const c = await docker.createContainer({ name: `scan-${i}`, Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } });
      await c.start();
      return c.id;
    });
    const startedMs = nowMs() - t0;
    const running = (await docker.listContainers()).length;
    if (running !== CONTAINERS) throw new Error(`expected ${CONTAINERS} running containers, found ${running}`);

    checkpoint();
    // Registered after the engine's, so it runs first (cleanups run in reverse), also on SIGINT/SIGTERM.
    onCleanup(async () => {
      if (sleepers.count) progress(`killing ${sleepers.count} sleep children`);
      await sleepers.killAll();
    });
    const afterContainers = procCount();
    const toSpawn = Math.max(0, TARGET_PROCS - afterContainers);
    progress(`${afterContainers} processes in /proc; spawning ${toSpawn} \`sleep 600\` children (batches of ${SPAWN_BATCH})`);
    await sleepers.spawn(toSpawn);
    checkpoint();

    const m = await measureScan(docker, engine.pid(), ids, { steady: STEADY, naive: NAIVE, fresh: FRESH_REPEATS });
    checkpoint();
    const { processes, containerProcesses, detections, steady, naive, fresh, ratio, steadyCpuMs, steadyNewHost, naiveCpuMs, naiveResult, light, periodicMs, periodicRatio } = m;
    const { first, first: { report: firstReport } } = m;
    const mach = machine(loadStart);
    printBlock(`procScan: breakout scan cost with ${processes} processes and ${m.containers} containers`, [
      ['processes in /proc', `${processes} (${baselineProcs} before the bench, ${sleepers.count} \`sleep 600\` children added)`],
      ['containers', `${m.containers} running (started in ${r(startedMs / 1000, 1)} s); container processes ${containerProcesses} (scan report)`],
      ['rootwatch first scan', `${r(first.ms, 2)} ms, cold JIT (${firstReport.newHostProcesses} new host pids read, ${firstReport.containerProcesses} container processes)`],
      [`  fresh scanner x${FRESH_REPEATS}`, `median ${r(fresh.median, 2)} ms, max ${r(fresh.max, 2)} (warm JIT, every pid new again)`],
      [`rootwatch steady state (${STEADY})`, fmt(steady)],
      ['  CPU per scan', `median ${r(summarize(steadyCpuMs).median, 2)} ms; ${r(steadyNewHost / STEADY, 2)} new host pids per scan on average`],
      ['  at the 1 s default interval', `${r(steady.median / 10, 2)} % of one core (median scan / 1 s)`],
      [`naive full scan (${NAIVE})`, fmt(naive)],
      ['  CPU per scan', `median ${r(summarize(naiveCpuMs).median, 2)} ms; ${naiveResult.processes} processes read, ${naiveResult.inContainers} in containers; warm-up ${r(m.naiveWarmMs, 1)} ms`],
      ['naive / rootwatch steady', `${r(ratio, 1)}x (medians)`],
      ['light pass (with process events)', fmt(light)],
      ['per interval with events', `${r(periodicMs, 2)} ms (a light pass + 1/${FULL_SCAN_EVERY_MS / 1000} of a full scan): naive / that ${r(periodicRatio, 1)}x`],
      ['active detections', `${detections} (expected 0: plain containers)`],
      mach.row,
    ]);
    const result = {
      bench: 'procScan',
      machine: { cores: mach.cores, load1Start: mach.load1Start, load1End: mach.load1End },
      processes,
      processesBefore: baselineProcs,
      sleepChildren: sleepers.count,
      containers: m.containers,
      containerProcesses,
      rootwatch: {
        firstScanMs: r(first.ms, 2),
        firstScanNewHostProcesses: firstReport.newHostProcesses,
        freshScannerMs: roundSummary(fresh, 2),
        steadyMs: roundSummary(steady, 2),
        steadyCpuMedianMs: r(summarize(steadyCpuMs).median, 2),
        steadyNewHostPerScan: r(steadyNewHost / STEADY, 2),
      },
      naive: {
        ms: roundSummary(naive, 2),
        cpuMedianMs: r(summarize(naiveCpuMs).median, 2),
        processesRead: naiveResult.processes,
        inContainers: naiveResult.inContainers,
      },
      ratioNaiveToSteadyMedian: r(ratio, 1),
      lightMedianMs: r(light.median, 3),
      ratioNaiveToPeriodic: r(periodicRatio, 1),
      activeDetections: detections,
    };
    printBenchJson(result);
    return result;
  } finally {
    await runCleanups();
  }
}

if (isMain(import.meta.url)) runStandalone(main);
