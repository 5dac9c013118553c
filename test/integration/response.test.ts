// The response to real breakouts on a private engine: pause, dry run, exceptions, the per-minute
// budget, Docker going away mid-action, and stop + host-process kill for a release_agent escape.
// Every count is read as an exact value: a missing series is null and fails the comparison.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, ensureTestImage, sleep, startPrivateDockerd, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { MEMORY_ROOT, restoreReleaseAgentAround } from '../harness/releaseAgent.js';

/** Flags of a container that can nsenter into dockerd's namespaces (the escape under test). */
const ESCAPABLE = ['--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined'];

function actions(text: string, action: string, reason: string, result: string): number | null {
  return sample(text, 'rootwatch_response_actions_total', { action, reason, result });
}

/** The nsenter escape, one process (no -p: no fork), staying in the host's mnt/uts/ipc/net namespaces. */
function nsenter(eng: PrivateEngine, container: string, seconds = 300): Promise<string> {
  return eng.cli('exec', '-d', container, 'nsenter', '-t', String(eng.pid()), '-m', '-u', '-i', '-n', 'sleep', String(seconds));
}

async function inspectState(eng: PrivateEngine, id: string): Promise<{ Running: boolean; Paused: boolean }> {
  return JSON.parse(await eng.cli('inspect', '-f', '{{json .State}}', id)) as { Running: boolean; Paused: boolean };
}

/** freezer.state of the v1 freezer cgroup a process is in (cgroup v1/hybrid hosts). */
function freezerState(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('freezer'));
  assert.ok(line, `process ${pid} has a freezer cgroup`);
  return readFileSync(join('/sys/fs/cgroup/freezer', line.split(':')[2] as string, 'freezer.state'), 'utf8').trim();
}

function responses(d: TestDaemon, containerId?: string): Record<string, unknown>[] {
  return d.logs.filter((l) => l.event === 'response' && (containerId === undefined || (l.container as { id?: string } | null)?.id === containerId));
}

function alertsFor(d: TestDaemon, rule: string, id: string): Record<string, unknown>[] {
  return d.alerts(rule).filter((a) => (a.container as { id?: string } | null)?.id === id);
}

interface Bundle {
  detection: { reason: string; pid: number };
  inspect: { source: string; data: { Id: string } };
  processes: { pid: number; offending: boolean; status: string | null; cmdline: string[] | null; exe: string | null; namespaces: Record<string, string>; mountinfo?: string | null }[];
  tripwires: Record<string, string | null>;
}

describe('response to breakouts (private engine)', function () {
  let eng: PrivateEngine;
  let d: TestDaemon | null = null;
  let evidenceDir: string;

  const base = (): Record<string, unknown> => ({ breakout: { interval: '200ms', host_reference_pid: eng.pid() } });

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
  });

  beforeEach(() => {
    evidenceDir = join(mkdtempSync(join(tmpdir(), 'rw-evidence-')), 'evidence');
  });

  afterEach(async () => {
    await d?.daemon.responsesIdle();
    await d?.stop();
    d = null;
    rmSync(join(evidenceDir, '..'), { recursive: true, force: true });
  });

  it('enforce + pause: the container is paused within 1 s of the detection, the nsenter\'ed process is frozen, evidence holds it', async () => {
    d = await startTestDaemon(eng.dockerHost, {
      ...base(),
      response: { mode: 'enforce', evidence_dir: evidenceDir, rules: [{ reasons: ['host_namespace_process'], action: 'pause', match: { name: 'resp-pause' } }] },
    });
    const id = await eng.cli('run', '-d', '--name', 'resp-pause', ...ESCAPABLE, TEST_IMAGE, 'sleep', '600');
    try {
      await waitFor(async () => (await d!.metrics()).includes(id.slice(0, 12)), 'container audited');
      await nsenter(eng, id);
      await waitFor(() => alertsFor(d!, 'host_namespace_process', id).length > 0, 'host_namespace_process alert');
      const alert = alertsFor(d!, 'host_namespace_process', id)[0] as Record<string, unknown>;
      const detectedAt = Date.parse(String(alert.ts));
      await waitFor(async () => (await inspectState(eng, id)).Paused, 'container paused', 5000, 10);
      const seenPausedAt = Date.now();
      await waitFor(() => responses(d!, id).some((r) => r.outcome === 'done'), 'response done event');
      const done = responses(d!, id).find((r) => r.outcome === 'done') as Record<string, unknown>;
      const latency = Date.parse(String(done.ts)) - detectedAt;
      console.log(`      pause latency after detection: ${latency} ms by the daemon's log (${String(done.latency_ms)} ms measured inside), container seen paused ${seenPausedAt - detectedAt} ms after (test polling)`);
      assert.ok(latency <= 1000, `paused ${latency} ms after the detection`);
      assert.equal(done.action, 'pause');
      assert.equal(done.mode, 'enforce');

      // The process that entered the host's namespaces is frozen with the rest of the cgroup.
      const pid = (alert.evidence as { pid: number }).pid;
      assert.equal(freezerState(pid), 'FROZEN');
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      assert.ok(state !== 'R', `frozen process state ${state}`);
      console.log(`      nsenter'ed pid ${pid}: freezer.state FROZEN, /proc State ${state}`);
      assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\0/);

      // Evidence: the path the alert named, 0700 directory, the offending pid's record.
      const bundlePath = String(alert.evidence_bundle);
      assert.equal(done.evidence_bundle, bundlePath);
      assert.ok(bundlePath.startsWith(`${evidenceDir}/`), bundlePath);
      assert.equal(statSync(evidenceDir).mode & 0o777, 0o700);
      assert.equal(statSync(bundlePath).mode & 0o777, 0o600);
      const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as Bundle;
      assert.equal(bundle.detection.reason, 'host_namespace_process');
      assert.equal(bundle.detection.pid, pid);
      assert.equal(bundle.inspect.source, 'docker');
      assert.equal(bundle.inspect.data.Id, id);
      const rec = bundle.processes.find((p) => p.pid === pid);
      assert.ok(rec, 'the offending pid has a record');
      assert.equal(rec.offending, true);
      assert.match(String(rec.status), /^Name:\s+sleep$/m);
      assert.deepEqual(rec.cmdline, ['sleep', '300']);
      assert.ok(rec.namespaces.mnt && rec.namespaces.net, 'namespaces recorded');
      assert.ok(rec.mountinfo && rec.mountinfo.length > 0, 'mountinfo of the offending process');
      const initPid = Number(await eng.cli('inspect', '-f', '{{.State.Pid}}', id));
      assert.ok(bundle.processes.some((p) => p.pid === initPid && !p.offending), 'the container init has a record too');
      assert.ok(Object.keys(bundle.tripwires).some((f) => f.endsWith('core_pattern')), 'tripwire values recorded');

      const text = await d.metrics();
      assert.equal(actions(text, 'pause', 'host_namespace_process', 'done'), 1);
      assert.equal(actions(text, 'pause', 'host_namespace_process', 'failed'), 0);
    } finally {
      await eng.cli('rm', '-f', id);
    }
  });

  it('dry_run: the same breakout is logged and counted as dry_run, the container keeps running', async () => {
    d = await startTestDaemon(eng.dockerHost, {
      ...base(),
      response: { evidence_dir: evidenceDir, rules: [{ reasons: ['host_namespace_process'], action: 'pause' }] },
    });
    const id = await eng.cli('run', '-d', '--name', 'resp-dry', ...ESCAPABLE, TEST_IMAGE, 'sleep', '600');
    try {
      await waitFor(async () => (await d!.metrics()).includes(id.slice(0, 12)), 'container audited');
      await nsenter(eng, id);
      await waitFor(() => responses(d!, id).some((r) => r.outcome === 'dry_run'), 'dry_run response event');
      await sleep(1500);
      const st = await inspectState(eng, id);
      assert.equal(st.Running, true);
      assert.equal(st.Paused, false);
      const pid = (alertsFor(d, 'host_namespace_process', id)[0]?.evidence as { pid: number }).pid;
      assert.equal(freezerState(pid), 'THAWED');
      const text = await d.metrics();
      assert.equal(actions(text, 'pause', 'host_namespace_process', 'dry_run'), 1);
      assert.equal(actions(text, 'pause', 'host_namespace_process', 'done'), null, 'never acted: the done series is created by the first action');
      const ev = responses(d, id).find((r) => r.outcome === 'dry_run') as Record<string, unknown>;
      assert.equal(ev.mode, 'dry_run');
      assert.ok(existsSync(String(ev.evidence_bundle)), 'dry run writes the evidence bundle too');
    } finally {
      await eng.cli('rm', '-f', id);
    }
  });

  it('an excepted container is untouched (skipped: excepted), even in enforce mode', async () => {
    d = await startTestDaemon(eng.dockerHost, {
      ...base(),
      exceptions: [{ rules: ['host_namespace_process'], match: { name: 'resp-excepted' }, reason: 'debug container, accepted by the test' }],
      response: { mode: 'enforce', evidence_dir: evidenceDir, rules: [{ reasons: ['host_namespace_process'], action: 'kill' }] },
    });
    const id = await eng.cli('run', '-d', '--name', 'resp-excepted', ...ESCAPABLE, TEST_IMAGE, 'sleep', '600');
    try {
      await waitFor(async () => (await d!.metrics()).includes(id.slice(0, 12)), 'container audited');
      await nsenter(eng, id);
      await waitFor(() => responses(d!, id).length > 0, 'response event');
      await sleep(1500);
      const st = await inspectState(eng, id);
      assert.equal(st.Running, true);
      assert.equal(st.Paused, false);
      assert.ok(responses(d, id).every((r) => r.outcome === 'skipped' && r.skip_reason === 'excepted'), JSON.stringify(responses(d, id)));
      const text = await d.metrics();
      assert.equal(actions(text, 'kill', 'host_namespace_process', 'skipped'), responses(d, id).length);
      assert.equal(actions(text, 'kill', 'host_namespace_process', 'done'), null, 'never acted: the done series is created by the first action');
      assert.ok(!existsSync(evidenceDir), 'no bundle for an excepted container');
    } finally {
      await eng.cli('rm', '-f', id);
    }
  });

  it('20 simultaneous breakouts with max_actions_per_minute 5: five paused, fifteen skipped (rate_limited)', async () => {
    d = await startTestDaemon(eng.dockerHost, {
      ...base(),
      response: { mode: 'enforce', max_actions_per_minute: 5, evidence_dir: evidenceDir, rules: [{ reasons: ['host_namespace_process'], action: 'pause', match: { name: 'resp-storm-*' } }] },
    });
    const names = Array.from({ length: 20 }, (_, i) => `resp-storm-${i}`);
    const ids: string[] = [];
    try {
      for (let i = 0; i < names.length; i += 5) {
        ids.push(...(await Promise.all(names.slice(i, i + 5).map((n) => eng.cli('run', '-d', '--name', n, ...ESCAPABLE, TEST_IMAGE, 'sleep', '600')))));
      }
      await waitFor(async () => {
        const text = await d!.metrics();
        return ids.every((id) => text.includes(id.slice(0, 12)));
      }, 'all 20 audited', 30_000);
      // rootwatch can pause a container before `docker exec -d` has returned: Docker then reports the
      // exec as failed ("is paused") although its process ran and was detected. That is the response
      // being fast, not an error of the test.
      await Promise.all(ids.map((id) => nsenter(eng, id).catch((e: Error) => {
        if (!/is paused/.test(e.message)) throw e;
      })));
      await waitFor(() => new Set(responses(d!).map((r) => (r.container as { id: string }).id)).size === 20, 'a response for each of the 20', 30_000);
      await d.daemon.responsesIdle();
      await sleep(500);
      const text = await d.metrics();
      assert.equal(actions(text, 'pause', 'host_namespace_process', 'done'), 5);
      const all = responses(d);
      const done = all.filter((r) => r.outcome === 'done');
      const limited = all.filter((r) => r.outcome === 'skipped' && r.skip_reason === 'rate_limited');
      assert.equal(done.length, 5);
      // One detection per process, and one process per container: 15 skipped for the budget.
      assert.equal(limited.length, 15, JSON.stringify(all.map((r) => [r.outcome, r.skip_reason])));
      assert.equal(actions(text, 'pause', 'host_namespace_process', 'skipped'), all.filter((r) => r.outcome === 'skipped').length);
      const paused = (await Promise.all(ids.map((id) => inspectState(eng, id)))).filter((s) => s.Paused).length;
      assert.equal(paused, 5);
      assert.deepEqual(new Set(done.map((r) => (r.container as { id: string }).id)).size, 5);
    } finally {
      if (ids.length) await eng.cli('rm', '-f', ...ids);
    }
  });

  it('reload: an invalid response block is rejected in one line naming the key and the old one stays; a valid one applies', async () => {
    const file = join(evidenceDir, '..', 'rootwatch.yaml');
    const yaml = (response: string): string => `breakout:\n  interval: 200ms\n  host_reference_pid: ${eng.pid()}\nresponse:\n  evidence_dir: ${evidenceDir}\n${response}`;
    writeFileSync(file, yaml('  rules:\n    - reasons: [host_namespace_process]\n      action: pause\n      match: { name: "resp-reload-*" }\n'));
    d = await startTestDaemon(eng.dockerHost, {}, { configFile: file });
    const ids: string[] = [];
    try {
      writeFileSync(file, yaml('  mode: enforce\n  rules:\n    - reasons: [host_namespace_process]\n      action: pause\n      actoin: kill\n'));
      await waitFor(() => d!.logs.some((l) => l.event === 'config_reload_failed'), 'reload rejected');
      const line = d.logs.find((l) => l.event === 'config_reload_failed') as Record<string, unknown>;
      assert.match(String(line.message), /unknown key "response\.rules\.0\.actoin"/);
      assert.ok(!String(line.message).includes('\n'));
      // The old config (dry_run) is in force: a breakout is only logged.
      ids.push(await eng.cli('run', '-d', '--name', 'resp-reload-1', ...ESCAPABLE, TEST_IMAGE, 'sleep', '600'));
      await waitFor(async () => (await d!.metrics()).includes((ids[0] as string).slice(0, 12)), 'container audited');
      await nsenter(eng, ids[0] as string);
      await waitFor(() => responses(d!, ids[0]).length > 0, 'response event');
      assert.equal(responses(d, ids[0])[0]?.outcome, 'dry_run');
      // A valid reload switches to enforce for the next breakout.
      writeFileSync(file, yaml('  mode: enforce\n  rules:\n    - reasons: [host_namespace_process]\n      action: pause\n      match: { name: "resp-reload-*" }\n'));
      await waitFor(() => d!.logs.some((l) => l.event === 'config_reloaded'), 'reload applied');
      ids.push(await eng.cli('run', '-d', '--name', 'resp-reload-2', ...ESCAPABLE, TEST_IMAGE, 'sleep', '600'));
      await waitFor(async () => (await d!.metrics()).includes((ids[1] as string).slice(0, 12)), 'container audited');
      await nsenter(eng, ids[1] as string);
      await waitFor(() => responses(d!, ids[1]).some((r) => r.outcome === 'done'), 'paused after the reload');
      assert.equal((await inspectState(eng, ids[1] as string)).Paused, true);
      assert.equal((await inspectState(eng, ids[0] as string)).Paused, false);
    } finally {
      if (ids.length) await eng.cli('rm', '-f', ...ids);
    }
  });

  describe('cgroup v1 release_agent escape with action stop', function () {
    const memoryRoot = MEMORY_ROOT;
    const agent = restoreReleaseAgentAround('rw_resp_escape');

    it('the container is stopped and the payload process (that exact pid) is killed', async () => {
      d = await startTestDaemon(eng.dockerHost, {
        ...base(),
        response: { mode: 'enforce', evidence_dir: evidenceDir, rules: [{ reasons: ['kernel_helper_from_container'], action: 'stop' }] },
      });
      const id = await eng.cli('run', '-d', '--name', 'resp-agent', '--stop-timeout', '2', '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
      let payloadPid = 0;
      try {
        const upper = await eng.cli('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id);
        await waitFor(async () => (await d!.metrics()).includes(id.slice(0, 12)), 'container audited');
        const script = [
          'set -e',
          'mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg',
          'mkdir -p /tmp/cg/rw_resp_escape',
          'echo 1 > /tmp/cg/rw_resp_escape/notify_on_release',
          // The payload would run as host root for a minute; the response must end it at once.
          `printf '#!/bin/sh\\nend=$(($(date +%%s)+60))\\nwhile [ $(date +%%s) -lt $end ]; do sleep 0.2; done\\n' > /payload && chmod +x /payload`,
          `echo "${upper}/payload" > /tmp/cg/release_agent`,
          `sh -c 'echo $$ > /tmp/cg/rw_resp_escape/cgroup.procs'`,
        ].join('\n');
        await eng.cli('exec', id, 'sh', '-c', script);
        await waitFor(() => responses(d!, id).some((r) => r.outcome === 'done' || r.outcome === 'failed'), 'response to the kernel helper', 20_000);
        const ev = responses(d, id).find((r) => r.outcome === 'done' || r.outcome === 'failed') as Record<string, unknown>;
        assert.equal(ev.outcome, 'done', JSON.stringify(ev));
        assert.equal(ev.action, 'stop');
        assert.equal(ev.reason, 'kernel_helper_from_container');
        const host = ev.host_process as { pid: number; start_time: string; outcome: string };
        assert.equal(host.outcome, 'killed');
        payloadPid = host.pid;
        const alert = alertsFor(d, 'kernel_helper_from_container', id)[0] as Record<string, unknown>;
        assert.equal((alert.evidence as { pid: number }).pid, payloadPid);
        // The exact process is gone (or a zombie on its way out), and nothing runs the payload any more.
        await waitFor(() => {
          try {
            return /^State:\s+Z/m.test(readFileSync(`/proc/${payloadPid}/status`, 'utf8')) || readFileSync(`/proc/${payloadPid}/stat`, 'utf8').split(' ')[21] !== host.start_time;
          } catch {
            return true;
          }
        }, 'payload process gone', 3000);
        await sleep(500);
        const stillRunning = (await import('node:child_process')).execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${upper}/payload`));
        assert.deepEqual(stillRunning, []);
        const st = await inspectState(eng, id);
        assert.equal(st.Running, false);
        const text = await d.metrics();
        assert.equal(actions(text, 'stop', 'kernel_helper_from_container', 'done'), 1);
        const bundle = JSON.parse(readFileSync(String(alert.evidence_bundle), 'utf8')) as Bundle;
        assert.ok(bundle.processes.some((p) => p.pid === payloadPid && p.offending && (p.cmdline ?? []).includes(`${upper}/payload`)), 'the payload has a record');
        assert.match(String(bundle.tripwires[join(memoryRoot, 'release_agent')]), /payload$/);
      } finally {
        agent.restore();
        await eng.cli('rm', '-f', id);
      }
    });
  });
});

describe('response when the engine stops answering mid-action', function () {
  let eng: PrivateEngine | null = null;
  let d: TestDaemon | null = null;
  let work: string;
  let frozen = false;

  before(async function () {
    requireDocker(this);
    eng = await startPrivateDockerd('resp');
    await ensureTestImage(eng);
    work = mkdtempSync(join(tmpdir(), 'rw-resp-'));
  });

  after(async () => {
    if (frozen && eng) process.kill(eng.pid(), 'SIGCONT');
    await d?.daemon.responsesIdle();
    await d?.stop();
    await eng?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  // A dockerd that stops cleanly takes its containers down first (no live-restore): there is nothing
  // left to act on. What a response meets in practice is an engine that stops answering while the
  // container runs on: dockerd frozen (SIGSTOP) mid-action, then stopped for good.
  it('the action fails (counted failed, logged), the alert still goes out, the daemon goes on', async () => {
    const e = eng as PrivateEngine;
    d = await startTestDaemon(e.dockerHost, {
      breakout: { interval: '200ms', host_reference_pid: e.pid() },
      docker: { request_timeout: '2s' },
      response: { mode: 'enforce', evidence_dir: join(work, 'evidence'), rules: [{ reasons: ['host_namespace_process'], action: 'pause' }] },
    });
    // The escape waits for a file the test creates through a bind mount: it starts while the engine is frozen.
    const trigger = join(work, 'trigger');
    mkdirSync(trigger);
    const id = await e.cli('run', '-d', '--name', 'resp-engine-down', ...ESCAPABLE, '-v', `${trigger}:/trigger`, TEST_IMAGE,
      'sh', '-c', `while [ ! -e /trigger/go ]; do sleep 0.05; done; exec nsenter -t ${e.pid()} -m -u -i -n sleep 300`);
    await waitFor(async () => (await d!.metrics()).includes(id.slice(0, 12)), 'container audited');
    process.kill(e.pid(), 'SIGSTOP');
    frozen = true;
    writeFileSync(join(trigger, 'go'), '');
    await waitFor(() => alertsFor(d!, 'host_namespace_process', id).length > 0, 'the detection alert goes out', 10_000);
    await waitFor(() => responses(d!, id).length > 0, 'response event', 15_000);
    await d.daemon.responsesIdle();
    const ev = responses(d, id)[0] as Record<string, unknown>;
    assert.equal(ev.outcome, 'failed', JSON.stringify(ev));
    assert.match(String(ev.failure), /timed out/);
    const text = await d.metrics();
    assert.equal(actions(text, 'pause', 'host_namespace_process', 'failed'), 1);
    assert.equal(actions(text, 'pause', 'host_namespace_process', 'done'), null, 'never acted: the done series is created by the first action');
    // The bundle was still written first, from the inventory's copy of the inspect.
    const bundle = JSON.parse(readFileSync(String(ev.evidence_bundle), 'utf8')) as Bundle;
    assert.equal(bundle.inspect.source, 'inventory');
    assert.ok(bundle.processes.some((p) => p.offending), 'the offending process has a record');
    // Then the engine stops for good; the daemon goes on serving and reconnects when it is back.
    process.kill(e.pid(), 'SIGCONT');
    frozen = false;
    await e.stop();
    await waitFor(async () => sample(await d!.metrics(), 'rootwatch_docker_up') === 0, 'rootwatch sees Docker gone', 10_000);
    assert.equal((await fetch(`${d.base}/healthz`)).status, 200);
    await e.restart();
    await waitFor(async () => sample(await d!.metrics(), 'rootwatch_docker_up') === 1, 'reconnected to the restarted engine', 30_000);
    assert.equal(responses(d).length, 1, 'no further responses');
  });
});
