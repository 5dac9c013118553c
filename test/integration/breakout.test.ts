// Real breakouts against the private engine: the exact reason for the exact container, and silence
// on benign activity. Uses a fast scan interval; detection does not depend on timing luck.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { BREAKOUT_REASONS } from '../../src/breakout/types.js';
import { MEMORY_ROOT, restoreReleaseAgentAround } from '../harness/releaseAgent.js';

const FAST = { breakout: { interval: '200ms' } };

/** A reason's counter; a missing series fails (every reason's series is exported from the start). */
function detections(text: string, reason: string): number {
  const n = sample(text, 'rootwatch_breakout_detections_total', { reason });
  assert.notEqual(n, null, `rootwatch_breakout_detections_total{reason="${reason}"} is exported`);
  return n as number;
}

function totalDetections(text: string): number {
  for (const r of BREAKOUT_REASONS) detections(text, r);
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('rootwatch_breakout_detections_total{')) n += Number(line.split(' ').pop());
  return n;
}

describe('breakout detection against real escapes', function () {
  let eng: PrivateEngine;
  let d: TestDaemon;

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
    d = await startTestDaemon(eng.dockerHost, { ...FAST, breakout: { interval: '200ms', host_reference_pid: eng.pid() } });
  });

  after(async () => {
    await d?.stop();
  });

  it('stays silent on benign activity: exec shells, --pid=host ps, restarts, short-lived and hardened containers', async () => {
    const before = totalDetections(await d.metrics());
    await eng.cli('run', '-d', '--name', 'benign-web', TEST_IMAGE, 'sleep', '600');
    await eng.cli('run', '-d', '--name', 'benign-hostpid', '--pid=host', '--network=host', TEST_IMAGE, 'sh', '-c', 'while true; do ps >/dev/null; sleep 0.2; done');
    await eng.cli('run', '-d', '--name', 'benign-hardened', '--read-only', '--user', '1000', '--cap-drop', 'ALL',
      '--security-opt', 'no-new-privileges', '--memory', '64m', '--pids-limit', '100', TEST_IMAGE, 'sleep', '600');
    await eng.cli('run', '-d', '--name', 'benign-restarts', '--restart', 'always', TEST_IMAGE, 'sh', '-c', 'sleep 0.3; exit 1');
    for (let i = 0; i < 10; i++) {
      await eng.cli('exec', 'benign-web', 'sh', '-c', 'id; ls / >/dev/null');
      await eng.cli('exec', '-u', '0', 'benign-hostpid', 'ps');
    }
    await Promise.all(Array.from({ length: 20 }, () => eng.cli('run', '--rm', TEST_IMAGE, 'true')));
    await sleep(1500);
    const text = await d.metrics();
    const breakoutAlerts = d.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule)));
    assert.deepEqual(breakoutAlerts, []);
    assert.equal(totalDetections(text) - before, 0);
    await eng.cli('rm', '-f', 'benign-web', 'benign-hostpid', 'benign-hardened', 'benign-restarts');
  });

  it('nsenter into the host namespaces from a --pid=host SYS_ADMIN container → host_namespace_process', async () => {
    const before = detections(await d.metrics(), 'host_namespace_process');
    const id = await eng.cli('run', '-d', '--name', 'escape-nsenter', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
      '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
    // The escape: enter the Docker daemon's mount, uts, ipc, net and pid namespaces and stay there.
    await eng.cli('exec', '-d', 'escape-nsenter', 'nsenter', '-t', String(eng.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '30');
    await waitFor(async () => detections(await d.metrics(), 'host_namespace_process') > before, 'host_namespace_process detection');
    const alert = d.alerts('host_namespace_process').find((a) => (a.container as { id: string }).id === id);
    assert.ok(alert, 'alert names the container');
    assert.equal(alert.severity, 'critical');
    const ev = alert.evidence as Record<string, unknown>;
    // nsenter enters one namespace after another; with process events the first look may come
    // half-way through. Whatever it names is the host's, never pid (shared on purpose, --pid=host).
    const named = ev.host_namespaces as string[];
    assert.ok(named.length > 0 && named.every((k) => ['mnt', 'net', 'ipc', 'uts'].includes(k)), named.join(','));
    // nsenter forks to enter the pid namespace: both nsenter and its child are out. One detection
    // per process, never one per scan.
    await sleep(1000);
    const mine = d.alerts('host_namespace_process').filter((a) => (a.container as { id: string }).id === id);
    const pids = mine.map((a) => (a.evidence as Record<string, unknown>).pid);
    assert.equal(new Set(pids).size, pids.length, 'one alert per process');
    // The child may be judged at its fork (still nsenter, a copy of its parent), while busybox
    // re-executes itself through /proc/self/exe ("exe"), or after its exec (sleep).
    const comms = mine.map((a) => String((a.evidence as Record<string, unknown>).comm));
    assert.ok(comms.length > 0 && comms.every((c) => ['nsenter', 'exe', 'sleep'].includes(c)), comms.join(','));
    const text = await d.metrics();
    assert.equal(detections(text, 'host_namespace_process'), before + mine.length);
    assert.equal(sample(text, 'rootwatch_breakout_processes', { container_id: id.slice(0, 12), reason: 'host_namespace_process' }), mine.length);
    await sleep(800);
    assert.equal(detections(await d.metrics(), 'host_namespace_process'), before + mine.length, 'no recount on later scans');
    await eng.cli('rm', '-f', id);
    await waitFor(async () => sample(await d.metrics(), 'rootwatch_breakout_processes', { container_id: id.slice(0, 12) }) === null, 'gauge drops when the process is gone');
    assert.equal(detections(await d.metrics(), 'host_namespace_process'), before + mine.length, 'the counter keeps the detections');
  });

  describe('cgroup v1 release_agent escape', function () {
    const memoryRoot = MEMORY_ROOT;
    restoreReleaseAgentAround('rw_escape');

    it('→ kernel_helper_from_container and tripwire_container_path for that container', async () => {
      const beforeHelper = detections(await d.metrics(), 'kernel_helper_from_container');
      const id = await eng.cli('run', '-d', '--name', 'escape-agent', '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
      const upper = await eng.cli('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id);
      // rootwatch has audited the container before the escape starts (as for any running container).
      await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container audited');
      const script = [
        'set -e',
        'mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg',
        'mkdir -p /tmp/cg/rw_escape',
        'echo 1 > /tmp/cg/rw_escape/notify_on_release',
        `printf '#!/bin/sh\\nsleep 3\\n' > /payload && chmod +x /payload`,
        `echo "${upper}/payload" > /tmp/cg/release_agent`,
        // The cgroup empties when this shell exits: the kernel then runs release_agent as host root.
        `sh -c 'echo $$ > /tmp/cg/rw_escape/cgroup.procs'`,
      ].join('\n');
      await eng.cli('exec', id, 'sh', '-c', script);
      await waitFor(async () => detections(await d.metrics(), 'kernel_helper_from_container') > beforeHelper, 'kernel helper detection', 10_000);
      const helper = d.alerts('kernel_helper_from_container').find((a) => (a.container as { id: string }).id === id);
      assert.ok(helper, 'helper alert names the container');
      assert.match(String((helper.evidence as Record<string, unknown>).container_path), new RegExp(`^${upper}/payload$`));
      // The hook that made the kernel run it is named, with its value.
      assert.deepEqual((helper.evidence as Record<string, unknown>).hook_file, [join(memoryRoot, 'release_agent')]);
      assert.deepEqual((helper.evidence as Record<string, unknown>).hook_value, [`${upper}/payload`]);
      // The helper may be caught by a process event before the next scan reads the hooks.
      await waitFor(() => d.alerts('tripwire_container_path').some((a) => (a.container as { id: string } | null)?.id === id), 'tripwire alert', 5000);
      const tw = d.alerts('tripwire_container_path').find((a) => (a.container as { id: string } | null)?.id === id);
      assert.ok(tw, `tripwire alert names the container: ${JSON.stringify(d.alerts('tripwire_container_path'))}`);
      assert.equal((tw.evidence as Record<string, unknown>).file, join(memoryRoot, 'release_agent'));
      assert.ok(d.alerts('tripwire_changed').some((a) => (a.evidence as Record<string, unknown>).file === join(memoryRoot, 'release_agent')));
      await eng.cli('rm', '-f', id);
    });
  });
});

describe('breakout detection with userns-remap', function () {
  let eng: PrivateEngine;
  let d: TestDaemon;
  let intruder: ChildProcess | null = null;

  before(async function () {
    requireDocker(this);
    eng = await engine('userns');
    d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '200ms', host_reference_pid: eng.pid() } });
  });

  after(async () => {
    intruder?.kill('SIGKILL');
    await d?.stop();
  });

  it('a remapped container runs as host uid 100000 and raises no breakout', async () => {
    const id = await eng.cli('run', '-d', '--name', 'remapped', TEST_IMAGE, 'sleep', '600');
    const pid = Number(await eng.cli('inspect', '-f', '{{.State.Pid}}', id));
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+100000\s/m);
    await eng.cli('exec', id, 'id');
    await sleep(800);
    assert.equal(totalDetections(await d.metrics()), 0);
  });

  it('a host root process placed into the container\'s cgroup → host_root_process', async () => {
    const id = await eng.cli('inspect', '-f', '{{.Id}}', 'remapped');
    const initPid = Number(await eng.cli('inspect', '-f', '{{.State.Pid}}', id));
    intruder = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = intruder.pid as number;
    // Join every hierarchy the container's init is in, as a process escaping "into" it would.
    for (const line of readFileSync(`/proc/${initPid}/cgroup`, 'utf8').trim().split('\n')) {
      const [hier, ctrls, path] = line.split(':') as [string, string, string];
      const mountDir = hier === '0' ? '/sys/fs/cgroup/unified' : join('/sys/fs/cgroup', ctrls.replace(/^name=/, ''));
      const procs = join(mountDir, path, 'cgroup.procs');
      if (existsSync(procs)) writeFileSync(procs, String(pid));
    }
    await waitFor(async () => detections(await d.metrics(), 'host_root_process') > 0, 'host_root_process detection');
    const alert = d.alerts('host_root_process')[0];
    assert.equal((alert?.container as { id: string }).id, id);
    assert.equal((alert?.evidence as Record<string, unknown>).pid, pid);
  });
});

