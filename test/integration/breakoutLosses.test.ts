// Issue 13, part B, against real escapes: load is no cover, losses show, and an escape without exec
// or fork (setns, write a host file, exit) is still caught.
// - A static setns helper (test/fixtures/breakout/setns-write.c) in a --pid=host SYS_ADMIN container
//   enters dockerd's mount, uts, ipc and net namespaces, writes a file on the host and holds: no
//   process event at all; the addon's namespace re-check (every 250 ms) must find it, with a poll of
//   one hour so that no scan can.
// - A static fork storm (fork-storm.c: 50,000 forks from 4 workers in an ordinary container) with 20
//   concurrent nsenter escapes from a --pid=host container, each writing a file on the host: the
//   escapes are verified host-side, counted caught when an alert names the escape container and the
//   escaped child's or its nsenter's pid; losses are printed by why; the storm container stays silent.
// - A benign exec loop in a container raises nothing, and its unread short execs (exec_unread) do
//   not count among the losses the alert pages on.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProcConnector } from '../../src/proc/procConnector.js';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { BREAKOUT_REASONS } from '../../src/breakout/types.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/breakout');
/** #14: a process that calls setns into the host's namespaces without exec is caught within 1.5 s. */
const SETNS_WITHIN_MS = 1500;
/** Each escape during the storm: detected within 3 s of its host file being written. */
const STORM_WITHIN_MS = 3000;
const STORM_FORKS = 50_000;
const ESCAPES = 20;
/**
 * The floor for escapes caught during the storm. Each escape is an nsenter whose child writes one
 * file and exits, a few milliseconds of life, on a 2-core VM whose both cores the storm saturates.
 * bench/README.md (forkStorm): the real-time reader caught 18-20 in every run of this session, the
 * nice -10 reader 3-18 (median 15); 16 leaves room for a busier machine and fails a return to those.
 */
/**
 * Losses the alert counts, in a benign exec loop: 0 in every local run (its short execs are
 * exec_unread), 3 once in CI after 600 tests, by a container's last fork read after its shell had
 * exited (a fork whose parent is gone is a loss by design: an nsenter and its child look the same).
 * The bound is the warning's own bar, 10 per 5 minutes: one 5-second loop may not cross it by itself.
 * A steady loss rate (one per few hundred execs) would show as tens here and fail.
 */
const EXEC_LOOP_MAX_LOST = 10;
const STORM_CATCH_FLOOR = Number(process.env.ROOTWATCH_STORM_FLOOR ?? 16);

function breakoutAlerts(d: TestDaemon, container: string): Record<string, unknown>[] {
  return d.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule)) && (a.container as { name?: string } | undefined)?.name === container);
}

const LOSS_WHYS = ['kernel_dropped', 'copy_ring_full', 'exited_before_read', 'exec_unread'];

/** Losses counted, all of them or only those the alert pages on (all but exec_unread). */
function lostTotal(text: string, paging = false): number {
  let n = 0;
  for (const why of LOSS_WHYS.filter((w) => !paging || w !== 'exec_unread')) {
    const v = sample(text, 'rootwatch_process_events_lost_total', { why });
    assert.notEqual(v, null, `rootwatch_process_events_lost_total{why="${why}"} is exported`);
    n += v as number;
  }
  return n;
}

describe('losses, load and escapes without exec (issue 13)', function () {
  let eng: PrivateEngine;
  let bin = '';
  let hostDir = '';

  before(async function () {
    requireDocker(this);
    const { addon, reason } = loadProcConnector();
    if (!addon) {
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') assert.fail(`native addon unavailable in CI: ${reason}`);
      console.error(`\n!!! SKIPPING loss tests: ${reason} !!!\n`);
      this.skip();
    }
    bin = mkdtempSync('/tmp/rw-losses-bin-');
    hostDir = mkdtempSync('/tmp/rw-losses-host-');
    for (const h of ['setns-write', 'fork-storm']) execFileSync('gcc', ['-static', '-O2', '-o', join(bin, h), join(FIXTURES, `${h}.c`)]);
    eng = await engine('default');
  });

  after(async () => {
    await eng?.cli('rm', '-f', 'loss-setns', 'loss-setns-early', 'loss-storm', 'loss-escaper').catch(() => undefined);
    if (bin) rmSync(bin, { recursive: true, force: true });
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
  });

  describe('setns into the host without exec or fork (poll interval 1 h: only the namespace re-check can see it)', function () {
    let d: TestDaemon;
    before(async () => {
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1h', host_reference_pid: eng.pid(), process_events: 'auto' } });
    });
    after(async () => d?.stop());

    it(`is caught within ${SETNS_WITHIN_MS} ms, naming the container and the process`, async () => {
      const id = (await eng.cli('run', '-d', '--name', 'loss-setns', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined',
        '-v', `${join(bin, 'setns-write')}:/setns-write:ro`, TEST_IMAGE, 'sleep', '600')).trim();
      await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container audited');
      const moved0 = sample(await d.metrics(), 'rootwatch_process_namespace_rechecks_total', { outcome: 'moved' }) ?? 0;
      const marker = join(hostDir, 'setns.pid');
      await eng.cli('exec', '-d', 'loss-setns', '/setns-write', String(eng.pid()), marker, '2000');
      // The escape, verified from the host: the file exists in the host's filesystem.
      await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'), 'the helper wrote its host file', 5000, 5);
      const wrote = statSync(marker).mtimeMs;
      const pid = Number(readFileSync(marker, 'utf8').trim());
      const caught = (): Record<string, unknown> | undefined =>
        d.alerts('host_namespace_process').find((a) => (a.evidence as { pid?: number }).pid === pid);
      await waitFor(() => caught() !== undefined, 'host_namespace_process for the setns helper', SETNS_WITHIN_MS + 1000, 10);
      const alert = caught() as Record<string, unknown>;
      const took = Date.parse(String(alert.ts)) - wrote;
      console.log(`      setns without exec: detected ${Math.round(took)} ms after the host file was written`);
      assert.ok(took <= SETNS_WITHIN_MS, `detected ${took} ms after the escape`);
      assert.equal((alert.container as { id: string }).id, id);
      assert.deepEqual([...(alert.evidence as { host_namespaces: string[] }).host_namespaces].sort(), ['ipc', 'mnt', 'net', 'uts']);
      assert.ok((sample(await d.metrics(), 'rootwatch_process_namespace_rechecks_total', { outcome: 'moved' }) ?? 0) > moved0, 'found by the re-check');
    });
  });

  describe('setns without exec or fork by a process that was running before rootwatch started (1 h poll)', function () {
    let d: TestDaemon | null = null;
    after(async () => d?.stop());

    it(`is caught within ${SETNS_WITHIN_MS} ms: the addon seeds its re-check with the container processes already running`, async () => {
      const marker = join(hostDir, 'setns-early.pid');
      // The helper, started with the container, sleeps 6 s, then enters the host's namespaces (an init
      // that already moved before rootwatch started is the next test).
      const id = (await eng.cli('run', '-d', '--name', 'loss-setns-early', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined',
        '-v', `${join(bin, 'setns-write')}:/setns-write:ro`, '-v', `${hostDir}:${hostDir}`, TEST_IMAGE,
        'sh', '-c', `/setns-write ${eng.pid()} ${marker} 2000 6000 & exec sleep 600`)).trim();
      await sleep(500); // running, and past its exec, before the daemon starts
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1h', host_reference_pid: eng.pid(), process_events: 'auto' } });
      assert.equal(existsSync(marker), false, 'the daemon was ready before the escape');
      await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'), 'the helper wrote its host file', 10_000, 5);
      const wrote = statSync(marker).mtimeMs;
      const pid = Number(readFileSync(marker, 'utf8').trim());
      const daemon = d;
      const caught = (): Record<string, unknown> | undefined => daemon.alerts('host_namespace_process').find((a) => (a.evidence as { pid?: number }).pid === pid);
      await waitFor(() => caught() !== undefined, 'host_namespace_process for the early setns helper', SETNS_WITHIN_MS + 1000, 10);
      assert.ok(daemon.logs.some((l) => l.event === 'process_events_seeded'), 'the running container processes were seeded');
      // Found by the re-check, not only by a full scan that other activity's losses happened to trigger.
      assert.ok((sample(await daemon.metrics(), 'rootwatch_process_namespace_rechecks_total', { outcome: 'moved' }) ?? 0) > 0, 'found by the re-check');
      const alert = caught() as Record<string, unknown>;
      const took = Date.parse(String(alert.ts)) - wrote;
      console.log(`      setns without exec by an earlier process: detected ${Math.round(took)} ms after the host file was written`);
      assert.ok(took <= SETNS_WITHIN_MS, `detected ${took} ms after the escape`);
      assert.equal((alert.container as { id: string }).id, id);
    });
  });

  describe('a container whose init entered the host\'s namespaces before rootwatch started (1 s poll)', function () {
    let d: TestDaemon | null = null;
    after(async () => {
      await d?.stop();
      await eng.cli('rm', '-f', 'loss-init-moved').catch(() => '');
    });

    it('is flagged for that container: the init is judged by its configuration, not taken as the reference', async () => {
      const marker = join(hostDir, 'init-moved.pid');
      // The init itself: setns into dockerd's mnt, uts, ipc and net namespaces at once, then hold.
      const id = (await eng.cli('run', '-d', '--name', 'loss-init-moved', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined',
        '-v', `${join(bin, 'setns-write')}:/setns-write:ro`, '-v', `${hostDir}:${hostDir}`, TEST_IMAGE, '/setns-write', String(eng.pid()), marker, '600000')).trim();
      await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').endsWith('\n'), 'the init wrote its host file', 10_000, 5);
      const pid = Number(readFileSync(marker, 'utf8').trim());
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', host_reference_pid: eng.pid(), process_events: 'auto' } });
      const daemon = d;
      await waitFor(() => daemon.alerts('host_namespace_process').some((a) => (a.evidence as { pid?: number }).pid === pid), 'host_namespace_process for the moved init', 3000, 10);
      const alert = daemon.alerts('host_namespace_process').find((a) => (a.evidence as { pid?: number }).pid === pid) as Record<string, unknown>;
      assert.equal((alert.container as { id: string }).id, id);
      assert.deepEqual([...(alert.evidence as { host_namespaces: string[] }).host_namespaces].sort(), ['ipc', 'mnt', 'net', 'uts']);
    });
  });

  describe(`a ${STORM_FORKS}-fork storm with ${ESCAPES} concurrent nsenter escapes (process connector, 1 s poll)`, function () {
    let d: TestDaemon;
    before(async () => {
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', host_reference_pid: eng.pid(), process_events: 'auto' } });
    });
    after(async () => d?.stop());

    it('a benign exec loop in a container (/bin/true, 5 s) raises nothing, and its unread short execs do not page', async () => {
      const m0 = await d.metrics();
      const lost0 = lostTotal(m0, true);
      const unread0 = sample(m0, 'rootwatch_process_events_lost_total', { why: 'exec_unread' }) ?? 0;
      const execs0 = sample(m0, 'rootwatch_process_events_total', { type: 'exec' }) ?? 0;
      await eng.cli('run', '--rm', '--name', 'loss-execloop', TEST_IMAGE, 'sh', '-c', 'end=$(($(date +%s) + 5)); while [ $(date +%s) -lt $end ]; do /bin/true; done');
      await sleep(1500);
      const m1 = await d.metrics();
      const execs = (sample(m1, 'rootwatch_process_events_total', { type: 'exec' }) ?? 0) - execs0;
      const lost = lostTotal(m1, true) - lost0;
      const byWhy = LOSS_WHYS.map((why) => `${why} ${(sample(m1, 'rootwatch_process_events_lost_total', { why }) ?? 0) - (sample(m0, 'rootwatch_process_events_lost_total', { why }) ?? 0)}`).join(', ');
      const unread = (sample(m1, 'rootwatch_process_events_lost_total', { why: 'exec_unread' }) ?? 0) - unread0;
      console.log(`      benign exec loop: ${execs} execs, ${unread} exec_unread (not paged on), ${lost} other losses (${byWhy})`);
      assert.deepEqual(breakoutAlerts(d, 'loss-execloop'), []);
      assert.ok(execs > 1000, `the loop ran (${execs} execs)`);
      assert.ok(lost <= EXEC_LOOP_MAX_LOST, `${lost} paging losses in a benign exec loop (${byWhy})`);
    });

    it('hands back the namespace cache a fork storm filled: its children are forgotten once exited and their events handled', async () => {
      const entries = async (): Promise<number> => sample(await d.metrics(), 'rootwatch_process_namespace_cache_entries', {}) ?? NaN;
      assert.ok(Number.isFinite(await entries()), 'rootwatch_process_namespace_cache_entries is exported');
      // Settled first: what earlier tests' processes left is forgotten within a couple of seconds.
      let before = await entries();
      await waitFor(async () => {
        await sleep(1200);
        const now = await entries();
        const settled = now === before;
        before = now;
        return settled;
      }, 'the cache settled before the storm', 15_000);
      let peak = before;
      let storming = true;
      const watch = (async () => {
        while (storming) {
          peak = Math.max(peak, await entries());
          await sleep(100);
        }
      })();
      try {
        await eng.cli('run', '--rm', '--name', 'loss-cache-storm', '-v', `${join(bin, 'fork-storm')}:/fork-storm:ro`, TEST_IMAGE, '/fork-storm', '5000', '4');
        await sleep(1500);
      } finally {
        storming = false;
        await watch;
      }
      // Back to what it held before, give or take the containers' own processes coming and going.
      await waitFor(async () => (await entries()) <= before + 5, 'the cache back to its size before the storm', 5000);
      console.log(`      namespace cache: ${before} entries before a 5,000-fork storm, ${peak} at most during it, ${await entries()} after`);
      assert.ok(peak > before + 100, `the storm's children were cached (peak ${peak}, before ${before})`);
    });

    it(`catches at least ${STORM_CATCH_FLOOR} of ${ESCAPES}, each within ${STORM_WITHIN_MS} ms and naming the right container; the storm itself raises nothing`, async () => {
      const escaper = (await eng.cli('run', '-d', '--name', 'loss-escaper', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined',
        '-v', `${hostDir}:${hostDir}`, TEST_IMAGE, 'sleep', '600')).trim();
      const stormId = (await eng.cli('create', '--name', 'loss-storm', '-v', `${join(bin, 'fork-storm')}:/fork-storm:ro`, TEST_IMAGE, '/fork-storm', String(STORM_FORKS), '4')).trim();
      await waitFor(async () => (await d.metrics()).includes(escaper.slice(0, 12)), 'escape container audited');
      const m0 = await d.metrics();
      const lost0 = lostTotal(m0);
      const forks0 = sample(m0, 'rootwatch_process_events_total', { type: 'fork' }) ?? 0;
      const dir = mkdtempSync(join(hostDir, 'storm-'));
      await eng.cli('start', 'loss-storm');
      await sleep(300); // the storm is under way
      // 20 escapes, one every 100 ms, each an nsenter whose child writes its pid and nsenter's into a
      // host file and exits.
      const script = `for i in $(seq 1 ${ESCAPES}); do nsenter -t ${eng.pid()} -m -u -i -n -p /bin/sh -c "echo \\$\\$ \\$PPID > ${dir}/esc-$i.pid" & sleep 0.1; done; wait`;
      await eng.cli('exec', 'loss-escaper', 'sh', '-c', script);
      const stormOut = (await eng.cli('wait', 'loss-storm')).trim();
      assert.equal(stormOut, '0', 'the storm ran to the end');
      const log = await eng.cli('logs', 'loss-storm');
      await sleep(STORM_WITHIN_MS);
      // Every escape happened, verified from the host.
      const files = readdirSync(dir).filter((f) => /^esc-\d+\.pid$/.test(f));
      assert.equal(files.length, ESCAPES, `escapes that wrote their host file: ${files.length}`);
      const m1 = await d.metrics();
      const alerts = breakoutAlerts(d, 'loss-escaper');
      let caught = 0;
      const late: string[] = [];
      for (let i = 1; i <= ESCAPES; i++) {
        const mark = `${dir}/esc-${i}.pid`;
        // The escaped child's pid and its parent's (nsenter) are in its file; a copy taken at exec may
        // carry no command line yet.
        const pids = readFileSync(mark, 'utf8').trim().split(' ').map(Number);
        const mine = alerts.filter((a) => pids.includes(Number((a.evidence as { pid?: number }).pid)) || JSON.stringify(a.evidence).includes(mark));
        if (mine.length === 0) continue;
        caught++;
        const first = Math.min(...mine.map((a) => Date.parse(String(a.ts))));
        const took = first - statSync(mark).mtimeMs;
        if (took > STORM_WITHIN_MS) late.push(`esc-${i}: ${Math.round(took)} ms`);
        for (const a of mine) assert.equal((a.container as { id: string }).id, escaper);
      }
      const lost = lostTotal(m1) - lost0;
      const forks = (sample(m1, 'rootwatch_process_events_total', { type: 'fork' }) ?? 0) - forks0;
      const byWhy = LOSS_WHYS.map((why) => `${why} ${(sample(m1, 'rootwatch_process_events_lost_total', { why }) ?? 0) - (sample(m0, 'rootwatch_process_events_lost_total', { why }) ?? 0)}`);
      console.log(`      storm: ${log.trim()}; connector counted ${forks} forks; escapes caught ${caught}/${ESCAPES}; losses counted ${lost} (${byWhy.join(', ')}); ${alerts.length} alerts for the escape container`);
      if (caught < ESCAPES) {
        for (const a of alerts) console.log(`        ${String(a.rule)} pid ${String((a.evidence as { pid?: number }).pid)} ${JSON.stringify((a.evidence as { cmdline?: unknown }).cmdline)}`);
      }
      assert.deepEqual(late, [], 'detected late');
      assert.deepEqual(breakoutAlerts(d, 'loss-storm'), [], 'the storm container is benign');
      assert.equal(stormId.length, 64);
      // Not asserted: that every miss shows as a loss. In about one run in eight one escape was
      // missed with no loss counted; a trace of the reader showed that the fork and exec events of
      // that escape's processes never reached it, with no overrun reported (README: limits).
      assert.ok(caught >= STORM_CATCH_FLOOR, `caught ${caught} of ${ESCAPES} (floor ${STORM_CATCH_FLOOR})`);
    });
  });
});
