// The responder without an engine: a fixture /proc for its own container, a fake Docker that answers
// or fails, a real evidence directory, and the exact-process kill on real child processes.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ActiveDetection } from '../../../src/breakout/processScanner.js';
import { validateConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log/logger.js';
import type { ContainerRecord } from '../../../src/model/inventory.js';
import { ProcFs } from '../../../src/proc/procfs.js';
import { EvidenceStore, type EvidenceBundle } from '../../../src/response/evidence.js';
import { killExactProcess } from '../../../src/response/hostProcess.js';
import { containerIdsInCgroupPaths, findOwnContainer, isOwnContainer } from '../../../src/response/ownContainer.js';
import { Responder, type ResponseDocker } from '../../../src/response/responder.js';
import { posture } from '../rules/fixtures.js';

const ID = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'rw-responder-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function record(id: string, name: string, pid = 0): ContainerRecord {
  return { engine: 'docker', posture: posture(), id, shortId: id.slice(0, 12), name, image: 'busybox', labels: {}, inspect: { Id: id, State: { Pid: pid, Running: true } }, findings: [] };
}

function detection(id = ID, reason: ActiveDetection['hit']['reason'] = 'host_namespace_process'): ActiveDetection {
  return { key: `k${Math.random()}`, pid: process.pid, startTime: '1', hit: { reason, message: 'm', evidence: { pid: process.pid }, container: { id, name: 'tenant', image: 'busybox' } } };
}

function harness(response: unknown, docker: Partial<ResponseDocker>, extra: Record<string, unknown> = {}) {
  const logs: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  stream.on('data', (b: Buffer) => { for (const l of b.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>); });
  const counts: string[] = [];
  const calls: string[] = [];
  const fake: ResponseDocker = {
    inspect: async (id) => ({ Id: id, State: { Pid: 0 } }),
    pause: async (id) => { calls.push(`pause ${id.slice(0, 4)}`); },
    stop: async (id, grace) => { calls.push(`stop ${id.slice(0, 4)} ${grace}`); },
    kill: async (id) => { calls.push(`kill ${id.slice(0, 4)}`); },
    ...docker,
  };
  const config = validateConfig({ ...extra, ...(response === undefined ? {} : { response }) }, 't');
  const containers = new Map([[ID, record(ID, 'tenant')], [OTHER, record(OTHER, 'other')]]);
  const r = new Responder(config, { procfs: '/proc' }, fake, {
    container: (id) => containers.get(id),
    count: (a, reason, result) => counts.push(`${a}/${reason}/${result}`),
    describeError: (e) => `cannot talk to Docker: ${(e as Error).message}`,
  }, createLogger({ level: 'debug', stream }));
  /** What BreakoutWatch.report does: ask, log the alert, then start the work. */
  const fire = (d: ActiveDetection): Record<string, unknown> | null => {
    const next = r.detected(d, { tripwireFiles: ['/proc/sys/kernel/core_pattern'] });
    next?.afterAlert();
    return next?.alertFields ?? null;
  };
  return { r, logs, counts, calls, fire, settle: async () => { await r.idle(); await new Promise((res) => setImmediate(res)); } };
}

describe('responder', () => {
  it('without a response block, never acts and says nothing', async () => {
    const h = harness(undefined, {});
    assert.equal(h.r.detected(detection(), { tripwireFiles: [] }), null);
    await h.settle();
    assert.deepEqual([h.counts, h.calls, h.logs], [[], [], []]);
  });

  it('dry_run (the default): evidence written, counted dry_run, Docker never asked to act', async () => {
    const evidence = join(dir, 'dry');
    const h = harness({ evidence_dir: evidence, rules: [{ reasons: ['host_namespace_process'], action: 'kill' }] }, {});
    const fields = h.fire(detection());
    await h.settle();
    assert.deepEqual(h.calls, []);
    assert.deepEqual(h.counts, ['kill/host_namespace_process/dry_run']);
    const path = String(fields?.evidence_bundle);
    assert.ok(path.startsWith(`${evidence}/`));
    assert.equal(statSync(evidence).mode & 0o777, 0o700);
    const b = JSON.parse(readFileSync(path, 'utf8')) as EvidenceBundle;
    assert.equal(b.action.mode, 'dry_run');
    assert.ok(b.processes.some((p) => p.pid === process.pid && p.offending && p.mountinfo), 'offending process with its mountinfo');
    assert.equal(typeof b.tripwires['/proc/sys/kernel/core_pattern'], 'string');
    assert.equal(h.logs.find((l) => l.event === 'response')?.outcome, 'dry_run');
  });

  it('enforce: acts once per container while it is remembered; a Docker failure is counted failed, never thrown', async () => {
    const h = harness({ mode: 'enforce', evidence_dir: join(dir, 'enf'), rules: [{ reasons: ['host_namespace_process'], action: 'pause' }] }, {
      pause: async (id) => {
        if (id === OTHER) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
    });
    h.fire(detection());
    h.fire(detection()); // the same container's second process
    h.fire(detection(OTHER));
    await h.settle();
    assert.deepEqual(h.counts.sort(), ['pause/host_namespace_process/done', 'pause/host_namespace_process/failed', 'pause/host_namespace_process/skipped']);
    const failed = h.logs.find((l) => l.event === 'response' && l.outcome === 'failed');
    assert.match(String(failed?.failure), /ECONNREFUSED/);
    assert.equal(h.logs.find((l) => l.event === 'response' && l.outcome === 'skipped')?.skip_reason, 'already_acted');
    // The failed one is not contained: its next detection tries again.
    h.fire(detection(OTHER));
    await h.settle();
    assert.equal(h.counts.filter((c) => c.endsWith('/failed')).length, 2);
  });

  it('stop waits the container\'s own stop timeout (Docker\'s default 10 s)', async () => {
    const h = harness({ mode: 'enforce', evidence_dir: join(dir, 'stop'), rules: [{ reasons: ['host_namespace_process'], action: 'stop' }] }, {
      inspect: async (id) => ({ Id: id, State: { Pid: 0 }, Config: { StopTimeout: 3 } }) as never,
    });
    h.fire(detection());
    await h.settle();
    assert.deepEqual(h.calls, [`stop ${ID.slice(0, 4)} 3`]);
  });

  it('an excepted container is skipped; after a reload without the exception the next detection acts', async () => {
    const exceptions = [{ rules: ['host_namespace_process'], match: { name: 'tenant' }, reason: 'accepted' }];
    const h = harness({ mode: 'enforce', evidence_dir: join(dir, 'exc'), rules: [{ reasons: ['host_namespace_process'], action: 'pause' }] }, {}, { exceptions });
    assert.deepEqual(h.fire(detection()), { response: { action: 'pause', outcome: 'skipped', skip_reason: 'excepted' } });
    h.r.applyConfig(validateConfig({ response: { mode: 'enforce', evidence_dir: join(dir, 'exc'), rules: [{ reasons: ['host_namespace_process'], action: 'pause' }] } }, 't'));
    h.fire(detection());
    await h.settle();
    assert.deepEqual(h.counts, ['pause/host_namespace_process/skipped', 'pause/host_namespace_process/done']);
  });
});

describe('own container', () => {
  it('finds container ids in cgroup paths of the cgroupfs and systemd drivers', () => {
    assert.deepEqual([...containerIdsInCgroupPaths([`/docker/${ID}`, `/system.slice/docker-${OTHER}.scope`, '/user.slice', `/kubepods/x/${'d'.repeat(63)}`])], [ID, OTHER]);
  });

  it('from a fixture /proc: its cgroup ids and its ancestors up to pid 1', () => {
    const root = join(dir, 'proc');
    const stat = (pid: number, ppid: number): string => `${pid} (x y) S ${ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`;
    for (const [pid, ppid] of [[300, 200], [200, 100], [100, 1], [1, 0]] as const) {
      mkdirSync(join(root, String(pid)), { recursive: true });
      writeFileSync(join(root, String(pid), 'stat'), stat(pid, ppid));
    }
    mkdirSync(join(root, 'self'));
    writeFileSync(join(root, 'self', 'stat'), stat(300, 200));
    writeFileSync(join(root, 'self', 'cgroup'), `12:pids:/docker/${ID}\n0::/docker/${ID}\n`);
    const own = findOwnContainer(new ProcFs(root));
    assert.deepEqual([...own.ids], [ID]);
    assert.deepEqual([...own.ancestors], [300, 200, 100, 1]);
    assert.equal(isOwnContainer(own, ID, 999), true);
    assert.equal(isOwnContainer(own, OTHER, 200), true, 'a container whose init is our ancestor');
    assert.equal(isOwnContainer(own, OTHER, 999), false);
    assert.equal(isOwnContainer(own, OTHER, null), false);
  });
});

describe('exact host-process kill', () => {
  it('kills only the process with that pid and start time', async () => {
    const proc = new ProcFs('/proc');
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<string | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    const pid = child.pid as number;
    const start = proc.startTime(pid) as string;
    assert.equal(killExactProcess(proc, pid, String(BigInt(start) + 1n)), 'reused');
    assert.equal(proc.startTime(pid), start, 'a different start time leaves it alive');
    assert.equal(killExactProcess(proc, pid, start), 'killed');
    assert.equal(await exited, 'SIGKILL');
    assert.equal(killExactProcess(proc, pid, start), 'gone');
  });
});

describe('evidence store', () => {
  it('keeps at most N bundles and M bytes, oldest out, never the one just written', async () => {
    const evidence = join(dir, 'bounded');
    const store = new EvidenceStore({ dir: evidence, maxBundles: 3, maxBytes: 10_000 });
    const d = detection();
    const bundle = (size: number): EvidenceBundle => ({
      written_at: '', detection: { reason: 'r', message: 'x'.repeat(size), evidence: {}, container: null, pid: null, start_time: null },
      action: { name: 'pause', mode: 'enforce' }, inspect: { source: 'docker', data: {} }, processes: [], processes_truncated: false, tripwires: {},
    });
    const paths: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = store.allocate(d, new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
      paths.push(p);
      await store.write(p, bundle(100));
    }
    assert.deepEqual(readdirSync(evidence).sort(), paths.slice(2).map((p) => p.slice(evidence.length + 1)));
    const big = store.allocate(d, new Date(Date.UTC(2026, 0, 1, 0, 1)));
    await store.write(big, bundle(20_000));
    assert.deepEqual(readdirSync(evidence), [big.slice(evidence.length + 1)], 'the size bound drops all older ones, keeps the new one');
    assert.equal(statSync(big).mode & 0o777, 0o600);
  });
});
