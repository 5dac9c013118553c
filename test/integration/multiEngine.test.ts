// One rootwatch following two engines on one host (here two dockerds: a plain one and a remapped one;
// on a real host dockerd and Podman, or one rootless Podman per user): one model and one /metrics,
// each engine judged with its own posture, its series labelled with its name, one going down alone.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, requireDocker } from '../harness/engines.js';
import { startPrivateDockerd, TEST_IMAGE, ensureTestImage, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { rootwatch } from '../harness/cli.js';

describe('several engines on one host', function () {
  this.timeout(180_000);
  let plain: PrivateEngine;
  let remapped: PrivateEngine;
  let d: TestDaemon | null = null;
  const evidenceDir = mkdtempSync(join(tmpdir(), 'rw-multi-evidence-'));

  before(async function () {
    requireDocker(this);
    // Its own engine (this suite stops and restarts it) and the shared remapped one.
    plain = await startPrivateDockerd('multi');
    await ensureTestImage(plain);
    remapped = await engine('userns');
    // The same name in both: names are unique per engine only.
    // Restarted with its engine (the second test stops and starts it).
    await plain.cli('run', '-d', '--restart', 'always', '--name', 'web', '--cap-add', 'SYS_ADMIN', TEST_IMAGE, 'sleep', '600');
    await remapped.cli('run', '-d', '--name', 'web', '--cap-add', 'SYS_ADMIN', TEST_IMAGE, 'sleep', '600');
  });

  after(async () => {
    await d?.stop();
    await remapped?.cli('rm', '-f', 'web').catch(() => '');
    await plain?.destroy();
    rmSync(evidenceDir, { recursive: true, force: true });
  });

  it('lists both engines\' containers, each with its engine, and judges each engine by its own posture', async () => {
    // Both private sockets are called docker.sock: the names are docker and docker-2.
    d = await startTestDaemon([plain.dockerHost, remapped.dockerHost], {
      breakout: { host_reference_pid: plain.pid() },
      // A response is sent to the engine that runs the container (a wrong one would answer 404).
      response: { mode: 'enforce', evidence_dir: evidenceDir, rules: [{ reasons: ['host_namespace_process'], action: 'pause', match: { name: 'escape-remapped' } }] },
    });
    const text = await d.metrics();
    assert.equal(sample(text, 'rootwatch_docker_up', { engine: 'docker' }), 1, text);
    assert.equal(sample(text, 'rootwatch_docker_up', { engine: 'docker-2' }), 1);
    // The remapped engine is shared with other suites, which may leave containers running.
    const running = async (e: PrivateEngine): Promise<number> => (await e.cli('ps', '-q')).trim().split('\n').filter(Boolean).length;
    assert.equal(sample(text, 'rootwatch_containers', { engine: 'docker' }), await running(plain));
    assert.equal(sample(text, 'rootwatch_containers', { engine: 'docker-2' }), await running(remapped));
    const webSeries = text.split('\n').filter((l) => l.startsWith('rootwatch_container_finding{') && l.includes('container_name="web"') && l.includes('rule="dangerous_capability"'));
    assert.deepEqual(webSeries.map((l) => /engine="([^"]+)"/.exec(l)?.[1]).sort(), ['docker', 'docker-2'], webSeries.join('\n'));
    // The plain engine does not remap user namespaces; the remapped one does: a host finding for one only.
    assert.equal(sample(text, 'rootwatch_host_finding', { rule: 'userns_remap_disabled', engine: 'docker' }), 1);
    assert.equal(sample(text, 'rootwatch_host_finding', { rule: 'userns_remap_disabled', engine: 'docker-2' }), null);
    const info = text.split('\n').filter((l) => l.startsWith('rootwatch_host_info{'));
    assert.equal(info.length, 2, info.join('\n'));
    assert.ok(info.some((l) => l.includes('engine="docker-2"') && l.includes('userns_remap="true"')), info.join('\n'));
    assert.ok(info.some((l) => l.includes('engine="docker"') && l.includes('userns_remap="false"')), info.join('\n'));
    // Log lines say which engine they are about.
    const connected = d.logs.filter((l) => l.event === 'docker_connected');
    assert.deepEqual(connected.map((l) => l.engine_name).sort(), ['docker', 'docker-2']);
    assert.deepEqual(connected.map((l) => l.docker_host).sort(), [plain.dockerHost, remapped.dockerHost].sort());
    const audited = d.logs.filter((l) => l.event === 'container_audited' && (l.container as { name: string }).name === 'web');
    assert.deepEqual(audited.map((l) => l.engine_name).sort(), ['docker', 'docker-2']);
  });

  it('a breakout from one engine\'s container is alerted with that container and engine', async () => {
    assert.ok(d);
    const td = d;
    const id = await plain.cli('run', '-d', '--name', 'escape', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
      '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
    try {
      await plain.cli('exec', '-d', 'escape', 'nsenter', '-t', String(plain.pid()), '-m', '-u', '-i', '-n', 'sleep', '20');
      await waitFor(() => td.alerts('host_namespace_process').some((a) => (a.container as { id: string }).id === id), 'host_namespace_process alert', 10_000);
      const alert = td.alerts('host_namespace_process').find((a) => (a.container as { id: string }).id === id);
      assert.equal(alert?.engine_name, 'docker');
      const text = await td.metrics();
      assert.ok(text.split('\n').some((l) => l.startsWith('rootwatch_breakout_processes{') && l.includes(`container_id="${id.slice(0, 12)}"`) && l.includes('engine="docker"')), 'series names the engine');
    } finally {
      await plain.cli('rm', '-f', 'escape');
    }
  });

  it('a response to a breakout on the second engine pauses the container there', async () => {
    assert.ok(d);
    const td = d;
    // --userns=host: a container of the remapped engine that shares the host's user namespace can nsenter.
    const id = await remapped.cli('run', '-d', '--name', 'escape-remapped', '--userns', 'host', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
      '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
    try {
      await remapped.cli('exec', '-d', 'escape-remapped', 'nsenter', '-t', String(plain.pid()), '-m', '-u', '-i', '-n', 'sleep', '20');
      await waitFor(() => td.logs.some((l) => l.event === 'response' && (l.container as { id: string } | undefined)?.id === id && l.outcome !== 'dry_run'), 'response event', 15_000);
      const r = td.logs.find((l) => l.event === 'response' && (l.container as { id: string } | undefined)?.id === id);
      assert.equal(r?.outcome, 'done', JSON.stringify(r));
      assert.equal((await remapped.cli('inspect', '-f', '{{.State.Paused}}', id)).trim(), 'true');
      assert.equal(td.alerts('host_namespace_process').find((a) => (a.container as { id: string }).id === id)?.engine_name, 'docker-2');
    } finally {
      await remapped.cli('rm', '-f', 'escape-remapped');
    }
  });

  it('one engine going down shows alone; its containers stay until it is back and re-listed', async () => {
    assert.ok(d);
    const td = d;
    await plain.stop();
    try {
      await waitFor(async () => sample(await td.metrics(), 'rootwatch_docker_up', { engine: 'docker' }) === 0, 'docker_up{engine="docker"} 0', 30_000);
      const text = await td.metrics();
      assert.equal(sample(text, 'rootwatch_docker_up', { engine: 'docker-2' }), 1, 'the other engine stays up');
      const onRemapped = sample(text, 'rootwatch_containers', { engine: 'docker-2' }) ?? 0;
      assert.ok(onRemapped >= 1, text);
      const ready = await fetch(`${td.base}/ready`);
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /Docker not connected \(docker\)/);
      // A container started on the remaining engine meanwhile is audited as usual.
      await remapped.cli('run', '-d', '--name', 'web2', TEST_IMAGE, 'sleep', '600');
      try {
        await waitFor(async () => sample(await td.metrics(), 'rootwatch_containers', { engine: 'docker-2' }) === onRemapped + 1, 'second container on docker-2', 30_000);
      } finally {
        await remapped.cli('rm', '-f', 'web2');
      }
    } finally {
      await plain.restart();
    }
    await waitFor(async () => (await fetch(`${td.base}/ready`)).status === 200, 'ready again', 60_000);
    assert.equal(sample(await td.metrics(), 'rootwatch_docker_up', { engine: 'docker' }), 1);
  });

  it('audit reports each engine; an unreachable one makes the run exit 3 after the others are printed', async () => {
    const r = await rootwatch(['--config', '/dev/null', '--docker-host', plain.dockerHost, '--docker-host', remapped.dockerHost, 'audit', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { engines: { engine: string; docker_host: string; host: { docker: { usernsRemap: boolean } }; containers: { name: string }[] }[] };
    assert.deepEqual(report.engines.map((e) => [e.engine, e.host.docker.usernsRemap]), [['docker', false], ['docker-2', true]]);
    for (const e of report.engines) assert.ok(e.containers.some((c) => c.name === 'web'), e.engine);

    const table = await rootwatch(['--config', '/dev/null', '--docker-host', plain.dockerHost, '--docker-host', remapped.dockerHost, 'audit']);
    assert.match(table.stdout, /^== Engine docker \(/m);
    assert.match(table.stdout, /^== Engine docker-2 \(/m);

    const half = await rootwatch(['--config', '/dev/null', '--docker-host', 'unix:///nonexistent/docker.sock', '--docker-host', remapped.dockerHost, 'audit', '--json']);
    assert.equal(half.code, 3, 'an incomplete audit is never a green run');
    assert.equal(half.stderr, 'rootwatch: Docker socket not found at unix:///nonexistent/docker.sock\n');
    assert.deepEqual((JSON.parse(half.stdout) as { engines: { engine: string }[] }).engines.map((e) => e.engine), ['docker-2']);
  });
});
