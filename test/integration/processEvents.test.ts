// Real-time process events (kernel process connector): a breakout that lives for milliseconds is
// caught with the connector, and polling alone misses it; benign bursts stay silent.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProcConnector } from '../../src/proc/procConnector.js';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { BREAKOUT_REASONS } from '../../src/breakout/types.js';

const hnp = (text: string): number => sample(text, 'rootwatch_breakout_detections_total', { reason: 'host_namespace_process' }) ?? 0;

/** nsenter into the daemon's namespaces for 300 ms: the breakout starts and ends between two polls. */
async function shortBreakout(eng: PrivateEngine, container: string): Promise<void> {
  await eng.cli('exec', container, 'nsenter', '-t', String(eng.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '0.3');
}

/** nsenter … /bin/true: nsenter and its child are in the host's namespaces for a few milliseconds. */
async function blinkBreakout(eng: PrivateEngine, container: string): Promise<number> {
  const t0 = performance.now();
  await eng.cli('exec', container, 'nsenter', '-t', String(eng.pid()), '-m', '-u', '-i', '-n', '-p', 'true');
  return performance.now() - t0;
}

describe('real-time process events', function () {
  let eng: PrivateEngine;

  before(async function () {
    requireDocker(this);
    const { addon, reason } = loadProcConnector();
    if (!addon) {
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') assert.fail(`native addon unavailable in CI: ${reason}`);
      console.error(`\n!!! SKIPPING process-event tests: ${reason} !!!\n`);
      this.skip();
    }
    eng = await engine('default');
    await eng.cli('run', '-d', '--name', 'short-escape', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
      '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
  });

  after(async () => {
    await eng?.cli('rm', '-f', 'short-escape', 'pe-benign').catch(() => undefined);
  });

  describe('with the process connector', function () {
    let d: TestDaemon;
    before(async () => {
      // A long poll interval: whatever is caught here is caught by the events, not by a scan.
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1h', host_reference_pid: eng.pid(), process_events: 'auto' } });
    });
    after(async () => d?.stop());

    it('says netlink is the active source', async () => {
      const text = await d.metrics();
      assert.equal(sample(text, 'rootwatch_process_source', { source: 'netlink' }), 1);
      assert.equal(sample(text, 'rootwatch_process_source', { source: 'poll' }), 0);
    });

    it('catches a breakout that starts and ends between two polls (poll interval 1 h here)', async () => {
      const before = hnp(await d.metrics());
      await shortBreakout(eng, 'short-escape');
      await waitFor(async () => hnp(await d.metrics()) > before, 'short-lived breakout detected', 5000);
      const alert = d.alerts('host_namespace_process').at(-1);
      assert.equal((alert?.container as { name: string }).name, 'short-escape');
      assert.ok(((await d.metrics()).match(/^rootwatch_process_events_total\{type="exec"\} (\d+)/m)?.[1] ?? '0') !== '0');
    });

    it('catches a breakout that lives a few milliseconds (nsenter … /bin/true), from facts copied at event time', async () => {
      // The addon copies /proc facts the moment the kernel reports a fork or exec; on a loaded 2-core
      // VM that is usually, not always, before the process is gone (bench/ reports the rate). Five
      // attempts, each leaving two escaped processes; polling alone sees none of them (below).
      const before = hnp(await d.metrics());
      for (let i = 0; i < 5 && hnp(await d.metrics()) === before; i++) {
        const took = await blinkBreakout(eng, 'short-escape');
        assert.ok(took < 2000, `docker exec round trip ${took} ms`);
        await sleep(200);
      }
      assert.ok(hnp(await d.metrics()) > before, 'no detection in 5 attempts');
      const alert = d.alerts('host_namespace_process').at(-1);
      assert.equal((alert?.container as { name: string }).name, 'short-escape');
    });

    it('catches a container whose entrypoint breaks out at once, before rootwatch has inspected it', async () => {
      // The copies wait for the container's inspection; the init is judged against the namespaces
      // copied at its first exec, not against its moved self. Both copies are taken asynchronously
      // and, on a loaded machine, can come too late (bench/ reports the rate): three attempts.
      const before = hnp(await d.metrics());
      for (let i = 0; i < 3 && hnp(await d.metrics()) === before; i++) {
        await eng.cli('run', '--rm', '--name', `pe-entry-${i}`, '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
          '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'nsenter', '-t', String(eng.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '0.3');
        await waitFor(async () => hnp(await d.metrics()) > before, 'breakout by a container entrypoint detected', 2000).catch(() => undefined);
      }
      assert.ok(hnp(await d.metrics()) > before, 'no detection in 3 attempts');
      const alert = d.alerts('host_namespace_process').at(-1);
      assert.match((alert?.container as { name: string }).name, /^pe-entry-\d$/);
    });

    it('catches a host process that runs a binary from a container filesystem for a millisecond (the addon filters host execs by storage path)', async () => {
      const merged = (await eng.cli('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', 'short-escape')).trim();
      assert.match(merged, /^\//);
      const count = async (): Promise<number> => sample(await d.metrics(), 'rootwatch_breakout_detections_total', { reason: 'container_binary_on_host' }) ?? 0;
      const before = await count();
      // Busybox from the container's merged dir, run on the host: `true` exits at once. As for nsenter
      // above, the copy is usually but not always taken before the process is gone: five attempts.
      const pids: number[] = [];
      for (let i = 0; i < 5 && (await count()) === before; i++) {
        const r = spawnSync(`${merged}/bin/busybox`, ['true']);
        assert.equal(r.status, 0, String(r.error ?? r.stderr));
        pids.push(r.pid ?? -1);
        await sleep(300);
      }
      assert.ok((await count()) > before, 'no container_binary_on_host in 5 attempts');
      const alert = d.alerts('container_binary_on_host').find((a) => pids.includes(Number((a.evidence as { pid?: number } | undefined)?.pid)));
      assert.equal((alert?.container as { name: string } | undefined)?.name, 'short-escape');
    });

    it('follows the inventory: the same for a container started after rootwatch, then restarted (the addon\'s filter is made again)', async () => {
      const count = async (): Promise<number> => sample(await d.metrics(), 'rootwatch_breakout_detections_total', { reason: 'container_binary_on_host' }) ?? 0;
      const containers = async (): Promise<number> => sample(await d.metrics(), 'rootwatch_containers', {}) ?? 0;
      try {
        for (const step of ['started', 'restarted']) {
          const known = await containers();
          if (step === 'started') await eng.cli('run', '-d', '--name', 'pe-late', TEST_IMAGE, 'sleep', '600');
          else await eng.cli('restart', '-t', '0', 'pe-late');
          if (step === 'started') await waitFor(async () => (await containers()) > known, 'the new container in the inventory', 5000);
          // The filter is refreshed every second. Through /proc/<init>/root the executable's path names
          // no storage (the overlay is mounted in the container's mount namespace only): the addon
          // copies it for its device, the container's root filesystem (a new one at each start),
          // which only a filter made again after the start holds.
          await sleep(2500);
          const init = Number((await eng.cli('inspect', '-f', '{{.State.Pid}}', 'pe-late')).trim());
          const before = await count();
          const pids: number[] = [];
          for (let i = 0; i < 5 && (await count()) === before; i++) {
            const r = spawnSync(`/proc/${init}/root/bin/busybox`, ['true']);
            assert.equal(r.status, 0, String(r.error ?? r.stderr));
            pids.push(r.pid ?? -1);
            await sleep(300);
          }
          assert.ok((await count()) > before, `${step}: no container_binary_on_host in 5 attempts`);
          const alert = d.alerts('container_binary_on_host').find((a) => pids.includes(Number((a.evidence as { pid?: number } | undefined)?.pid)));
          assert.equal((alert?.container as { name: string } | undefined)?.name, 'pe-late', step);
        }
      } finally {
        await eng.cli('rm', '-f', 'pe-late').catch(() => undefined);
      }
    });

    it('stays silent on benign exec bursts, restarts and short-lived containers', async () => {
      const outcome = async (o: string): Promise<number> => sample(await d.metrics(), 'rootwatch_process_events_examined_total', { outcome: o }) ?? 0;
      const [copied0, unchanged0] = [await outcome('copied'), await outcome('unchanged')];
      const before = (await d.metrics()).split('\n').filter((l) => l.startsWith('rootwatch_breakout_detections_total{')).join('\n');
      const alertsBefore = d.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule))).length;
      await eng.cli('run', '-d', '--name', 'pe-benign', TEST_IMAGE, 'sleep', '600');
      for (let i = 0; i < 10; i++) await eng.cli('exec', 'pe-benign', 'sh', '-c', 'for i in 1 2 3 4 5; do /bin/true; done');
      await Promise.all(Array.from({ length: 10 }, () => eng.cli('run', '--rm', TEST_IMAGE, 'true')));
      await eng.cli('restart', '-t', '0', 'pe-benign');
      await sleep(500);
      const after = (await d.metrics()).split('\n').filter((l) => l.startsWith('rootwatch_breakout_detections_total{')).join('\n');
      assert.deepEqual(d.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule))).slice(alertsBefore), []);
      assert.equal(after, before);
      // The shells' execs were copied and judged; the forks of `true` from a shell in its own
      // namespaces were recognised as copies of their parent and not copied again.
      assert.ok((await outcome('copied')) > copied0, 'container execs copied');
      assert.ok((await outcome('unchanged')) > unchanged0, 'container forks in their parent\'s namespaces not copied again');
    });
  });

  describe('with the process connector and paths.procfs at another mount of the host\'s /proc', function () {
    // As in a deployment whose rootwatch reads the host's procfs at /host/proc: the addon reads the
    // processes the kernel names through that root too, not through its own /proc.
    let d: TestDaemon;
    let dir: string;
    let boundProc: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'rwt-pe-procfs-'));
      boundProc = join(dir, 'host', 'proc');
      mkdirSync(boundProc, { recursive: true });
      const m = spawnSync('mount', ['--bind', '/proc', boundProc]);
      assert.equal(m.status, 0, `mount --bind /proc: ${m.stderr}`);
      d = await startTestDaemon(eng.dockerHost, { paths: { procfs: boundProc }, breakout: { interval: '1h', host_reference_pid: eng.pid(), process_events: 'auto' } });
    });
    after(async () => {
      await d?.stop();
      if (boundProc) spawnSync('umount', [boundProc]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('catches a breakout between two polls from the copies the addon read through it', async () => {
      assert.equal(sample(await d.metrics(), 'rootwatch_process_source', { source: 'netlink' }), 1);
      const before = hnp(await d.metrics());
      await shortBreakout(eng, 'short-escape');
      await waitFor(async () => hnp(await d.metrics()) > before, 'short-lived breakout detected', 5000);
      assert.equal((d.alerts('host_namespace_process').at(-1)?.container as { name: string }).name, 'short-escape');
    });
  });

  describe('periodic passes with the connector and a 1 s poll (issue 14)', function () {
    let d: TestDaemon;
    const passes = (text: string, pass: 'full' | 'light'): number => sample(text, 'rootwatch_proc_scan_duration_seconds_count', { pass }) ?? 0;
    before(async () => {
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', host_reference_pid: eng.pid(), process_events: 'auto' } });
    });
    after(async () => {
      await d?.stop();
      await eng.cli('rm', '-f', 'pe-passes').catch(() => undefined);
    });

    it('are light between full scans every 30 s, and full at once when a container appears', async () => {
      await waitFor(async () => passes(await d.metrics(), 'light') > 0, 'a light pass', 5000);
      const m0 = await d.metrics();
      await sleep(12_000);
      const m1 = await d.metrics();
      const full = passes(m1, 'full') - passes(m0, 'full');
      const light = passes(m1, 'light') - passes(m0, 'light');
      console.log(`      12 s: ${full} full, ${light} light passes`);
      assert.ok(full <= 1, `${full} full scans in 12 s`);
      assert.ok(light >= 9, `${light} light passes in 12 s`);
      // A new container: its processes that predate the events are read by a full scan at the next pass.
      const m2 = await d.metrics();
      await eng.cli('run', '-d', '--name', 'pe-passes', TEST_IMAGE, 'sleep', '600');
      await waitFor(async () => passes(await d.metrics(), 'full') > passes(m2, 'full'), 'a full scan for the new container', 3000, 50);
    });
  });

  describe('with polling only', function () {
    let d: TestDaemon;
    before(async () => {
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', host_reference_pid: eng.pid(), process_events: 'off' } });
    });
    after(async () => d?.stop());

    it('documents the gap: a 1-second poll (almost) never sees a breakout of a few milliseconds', async () => {
      assert.equal(sample(await d.metrics(), 'rootwatch_process_source', { source: 'poll' }), 1);
      // Without events every pass is a full scan.
      assert.equal(sample(await d.metrics(), 'rootwatch_proc_scan_duration_seconds_count', { pass: 'light' }) ?? 0, 0);
      const before = hnp(await d.metrics());
      for (let i = 0; i < 5; i++) await blinkBreakout(eng, 'short-escape');
      await sleep(1200);
      // Ten processes living ~3 ms each against a 1 s poll: a catch is a ~3% fluke, all ten impossible.
      const caught = hnp(await d.metrics()) - before;
      console.log(`      polling caught ${caught} of 10 few-millisecond escaped processes`);
      assert.ok(caught < 10);
    });

    it('documents the gap: a 1-second poll misses breakouts shorter than the interval', async () => {
      const before = hnp(await d.metrics());
      const trials = 5;
      for (let i = 0; i < trials; i++) await shortBreakout(eng, 'short-escape');
      await sleep(1500);
      const caught = hnp(await d.metrics()) - before;
      // Each trial leaves two escaped processes (nsenter and its child) for 300 ms: a 1 s poll sees
      // roughly a third of them; the connector saw every one.
      assert.ok(caught < 2 * trials, `polling caught ${caught} of ${2 * trials} escaped processes`);
      console.log(`      polling caught ${caught} of ${2 * trials} short-lived escaped processes`);
    });
  });
});
