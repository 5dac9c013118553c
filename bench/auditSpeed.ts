// Wall time of the one-shot audit with 50 running containers of varied risk: the CLI as a user runs
// it (`node dist/src/main.js … audit --json`, new process each time) and the same steps in-process
// (collectSnapshot, host facts + CVE matching, buildReport, JSON), timed one by one. For scale: docker-bench-security takes about 11 s for 8 containers
// (figure from the project brief, not measured here).
//
//   npx tsx bench/auditSpeed.ts              (or: npm run bench -- auditSpeed)
//   BENCH_CONTAINERS=50 BENCH_CLI_RUNS=5; BENCH_BUILD=1 rebuilds dist/ first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildReport, collectSnapshot, type AuditReport } from '../src/cli/audit.js';
import { ExceptionSet } from '../src/audit/exceptions.js';
import { validateConfig } from '../src/config/load.js';
import { DockerApi } from '../src/docker/dockerApi.js';
import { loadCveData } from '../src/host/cveData.js';
import { collectHostFacts } from '../src/host/hostFacts.js';
import { evaluateHostExposure } from '../src/host/hostExposure.js';
import { parseEndpoint } from '../src/docker/endpoint.js';
import {
  TEST_IMAGE, fmtSummary, isMain, mapLimit, nowMs, printBenchJson, printBlock, progress, r, roundSummary, runCleanups,
  runStandalone, startBenchEngine, summarize,
  load1, machine,
  ensureBuilt, ROOT, MAIN_JS, runNode, type RunResult,
} from './lib.js';

const N = Number(process.env.BENCH_CONTAINERS ?? 50);
const CLI_RUNS = Number(process.env.BENCH_CLI_RUNS ?? 5);
const INPROC_RUNS = 10;
const GOAL_MS = 1000;

/** The risky settings the containers cycle through. */
const KINDS: { kind: string; host: Record<string, unknown> }[] = [
  { kind: 'pid-host', host: { PidMode: 'host' } },
  { kind: 'sys-admin', host: { CapAdd: ['SYS_ADMIN'] } },
  { kind: 'etc-mount', host: { Binds: ['/etc:/host/etc:ro'] } },
  { kind: 'seccomp-off', host: { SecurityOpt: ['seccomp=unconfined'] } },
  { kind: 'plain', host: {} },
];

export async function main(): Promise<Record<string, unknown>> {
  const loadStart = load1();
  try {
    const dist = ensureBuilt();
    const engine = await startBenchEngine('speed');

    progress(`starting ${N} containers (${KINDS.map((k) => k.kind).join(', ')})`);
    const t0 = nowMs();
    await mapLimit(Array.from({ length: N }, (_, i) => i), 10, async (i) => {
      const k = KINDS[i % KINDS.length] as (typeof KINDS)[number];
      const c = await engine.docker.createContainer({ name: `speed-${k.kind}-${i}`, Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: k.host });
      await c.start();
    });
    const startedMs = nowMs() - t0;
    const running = (await engine.docker.listContainers()).length;
    if (running !== N) throw new Error(`expected ${N} running containers, found ${running}`);

    // ---- the CLI, a new process per run, as a user or CI job runs it
    progress(`CLI: node dist/src/main.js --config /dev/null --docker-host ${engine.dockerHost} audit --json (${CLI_RUNS} runs)`);
    const cliMs: number[] = [];
    const cliCpuMs: number[] = [];
    const cliRssMiB: number[] = [];
    let findings = 0;
    let audited = 0;
    for (let i = 0; i < CLI_RUNS; i++) {
      const res = await runNode([MAIN_JS, '--config', '/dev/null', '--docker-host', engine.dockerHost, 'audit', '--json']);
      // 0: nothing reaches --fail-on; 1: something does. Both are a completed audit.
      if (res.code !== 0 && res.code !== 1) throw new Error(`audit exited ${res.code}: ${res.stderr.trim()}`);
      const report = JSON.parse(res.stdout) as AuditReport;
      audited = report.containers.length;
      findings = report.containers.reduce((n, c) => n + c.findings.length, 0) + report.host.findings.length;
      if (audited !== N) throw new Error(`audit reported ${audited} containers, expected ${N}`);
      cliMs.push(res.ms);
      cliCpuMs.push(res.cpuMs);
      cliRssMiB.push(res.maxRssMiB);
    }
    // What every CLI invocation pays before doing anything: node itself, then loading rootwatch's modules.
    const startup: RunResult[] = [];
    for (let i = 0; i < 3; i++) startup.push(await runNode([MAIN_JS, 'version']));
    const bare: RunResult[] = [];
    for (let i = 0; i < 3; i++) bare.push(await runNode(['-e', '0']));
    const minOf = (xs: RunResult[], k: 'ms' | 'cpuMs'): number => Math.min(...xs.map((x) => x[k]));

    // Where the start-up goes: CPU time to import each runtime dependency (and rootwatch's two command
    // modules) in a fresh node, above bare node. Best of 3; CPU time, so other load skews it little.
    progress('module import cost (CPU time above bare node, best of 3)');
    const bareCpu = minOf(bare, 'cpuMs');
    const deps = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
    const specs = [...deps, './dist/src/cli/audit.js', './dist/src/cli/run.js'];
    const importCpuMs: Record<string, number> = {};
    for (const spec of specs) {
      const runs: RunResult[] = [];
      for (let i = 0; i < 3; i++) runs.push(await runNode(['--input-type=module', '-e', `await import(${JSON.stringify(spec)})`]));
      if (runs.every((x) => x.code === 0)) importCpuMs[spec] = r(Math.max(0, minOf(runs, 'cpuMs') - bareCpu));
    }
    const importRows = Object.entries(importCpuMs).sort(([, a], [, b]) => b - a);

    // ---- in-process: the steps of runAudit, timed one by one
    progress(`in-process audit steps (${INPROC_RUNS} runs after 1 warm-up)`);
    const config = validateConfig({}, 'bench');
    const api = new DockerApi(parseEndpoint(engine.dockerHost, {}), config.docker.request_timeout);
    const exceptions = new ExceptionSet(config.exceptions);
    const collectMs: number[] = [];
    const cveLoadMs: number[] = [];
    const factsMs: number[] = [];
    const evalMs: number[] = [];
    const buildMs: number[] = [];
    const jsonMs: number[] = [];
    const totalMs: number[] = [];
    for (let i = 0; i <= INPROC_RUNS; i++) {
      const a = nowMs();
      const snap = await collectSnapshot(api, config.docker.inspect_concurrency);
      const b = nowMs();
      const cves = loadCveData({ operatorPath: config.host.cve_file });
      const b1 = nowMs();
      const facts = await collectHostFacts({
        procfs: config.paths.procfs, sysfs: config.paths.sysfs, posture: snap.posture,
        hostNetworkContainers: snap.containers.filter((c) => c.HostConfig?.NetworkMode === 'host').length,
      });
      const b2 = nowMs();
      const now = Date.now();
      const host = evaluateHostExposure(snap.posture, facts, cves, now);
      const c = nowMs();
      const report = buildReport(snap.posture, snap.containers, exceptions, host, now);
      const d = nowMs();
      const json = JSON.stringify(report, null, 2);
      const e = nowMs();
      if (report.containers.length !== N || json.length === 0) throw new Error(`in-process report has ${report.containers.length} containers`);
      if (i === 0) continue;
      collectMs.push(b - a);
      cveLoadMs.push(b1 - b);
      factsMs.push(b2 - b1);
      evalMs.push(c - b2);
      buildMs.push(d - c);
      jsonMs.push(e - d);
      totalMs.push(e - a);
    }

    const cli = summarize(cliMs);
    const total = summarize(totalMs);
    const cliCpu = summarize(cliCpuMs);
    const pass = cli.median < GOAL_MS;
    const mach = machine(loadStart);
    printBlock(`auditSpeed: one-shot audit of ${N} running containers`, [
      ['goal', `well under ${GOAL_MS} ms (docker-bench-security: ~11 s for 8 containers, per the project brief)`],
      ['containers', `${N} running: ${KINDS.map((k) => k.kind).join(', ')} (${N / KINDS.length} each); started in ${r(startedMs)} ms`],
      ['findings', `${findings} in the report (host + containers)`],
      ['dist/', dist],
      [`CLI audit --json (${CLI_RUNS} runs)`, `wall median ${r(cli.median)} ms, min ${r(cli.min)}, max ${r(cli.max)}`],
      ['  CPU time (user+sys)', `median ${r(cliCpu.median)} ms, min ${r(cliCpu.min)}; peak RSS ${r(summarize(cliRssMiB).max)} MiB`],
      ['  `main.js version`', `min ${r(minOf(startup, 'ms'))} ms wall, ${r(minOf(startup, 'cpuMs'))} ms CPU: node start + loading rootwatch's modules`],
      ['  bare `node -e 0`', `min ${r(minOf(bare, 'ms'))} ms wall, ${r(minOf(bare, 'cpuMs'))} ms CPU`],
      ['  import CPU above bare', importRows.map(([k, v]) => `${k.replace('./dist/src/', '')} ${v}`).join(', ') + ' (ms)'],
      [`in-process total (${INPROC_RUNS} runs)`, `median ${r(total.median)} ms, min ${r(total.min)}, max ${r(total.max)}`],
      ['  collectSnapshot (API)', fmtSummary(summarize(collectMs))],
      ['  loadCveData', fmtSummary(summarize(cveLoadMs))],
      ['  collectHostFacts', fmtSummary(summarize(factsMs))],
      ['  evaluateHostExposure', fmtSummary(summarize(evalMs))],
      ['  buildReport (rules)', fmtSummary(summarize(buildMs))],
      ['  JSON.stringify', fmtSummary(summarize(jsonMs))],
      ['verdict', `${pass ? 'PASS' : 'FAIL'}: CLI median ${r(cli.median)} ms ${pass ? '<' : '>='} ${GOAL_MS} ms`],
      mach.row,
    ]);
    const result = {
      bench: 'auditSpeed',
      machine: { cores: mach.cores, load1Start: mach.load1Start, load1End: mach.load1End },
      containers: N,
      findings,
      goalMs: GOAL_MS,
      pass,
      dist,
      cliMs: { runs: cliMs.map((x) => r(x)), median: r(cli.median), min: r(cli.min), max: r(cli.max) },
      cliCpuMs: { runs: cliCpuMs.map((x) => r(x)), median: r(cliCpu.median), min: r(cliCpu.min) },
      cliPeakRssMiB: r(summarize(cliRssMiB).max),
      startup: {
        mainVersionWallMinMs: r(minOf(startup, 'ms')), mainVersionCpuMinMs: r(minOf(startup, 'cpuMs')),
        bareNodeWallMinMs: r(minOf(bare, 'ms')), bareNodeCpuMinMs: r(minOf(bare, 'cpuMs')),
        importCpuAboveBareMs: Object.fromEntries(importRows),
      },
      inProcessMs: {
        total: roundSummary(total, 2),
        collectSnapshot: roundSummary(summarize(collectMs), 2),
        loadCveData: roundSummary(summarize(cveLoadMs), 2),
        collectHostFacts: roundSummary(summarize(factsMs), 2),
        evaluateHostExposure: roundSummary(summarize(evalMs), 2),
        buildReport: roundSummary(summarize(buildMs), 2),
        json: roundSummary(summarize(jsonMs), 2),
      },
    };
    printBenchJson(result);
    return result;
  } finally {
    await runCleanups();
  }
}

if (isMain(import.meta.url)) runStandalone(main);
