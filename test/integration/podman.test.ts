// Podman through its Docker-compatible API (`podman system service` on a private socket, Debian's
// podman 4.3.1): the same audit as Docker for the same risky flags, the engine named as Podman with no
// Docker Engine CVE claimed, and a real nsenter breakout from a rootful Podman container detected.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { PODMAN_TEST_IMAGE, podman, podmanUnavailableReason, type PrivatePodman } from '../harness/privatePodman.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { loadCveData } from '../../src/host/cveData.js';

const execFileP = promisify(execFile);

/** CVE ids of the shipped data that are Docker Engine's own (component engine). */
function dockerEngineCves(): string[] {
  const data = loadCveData({});
  return data.entries.filter((e) => e.component === 'engine').map((e) => e.id);
}

interface Report {
  host: { docker: { engine: string; version: string; ociRuntime: { name: string } | null }; info: Record<string, string>; findings: { rule: string; cve?: string }[] };
  containers: { name: string; findings: { rule: string; severity: string }[] }[];
}

async function audit(dockerHost: string): Promise<Report> {
  const { stdout } = await execFileP('node', ['dist/src/main.js', '--config', '/dev/null', '--docker-host', dockerHost, 'audit', '--json'], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as Report;
}

/** Risky flags that run on both engines here, and the findings each must produce on both. */
const CASES: { name: string; flags: string[]; expect: string[] }[] = [
  { name: 'sysadmin', flags: ['--cap-add', 'SYS_ADMIN'], expect: ['dangerous_capability:critical'] },
  { name: 'hostpid-ptrace', flags: ['--pid', 'host', '--cap-add', 'SYS_PTRACE'], expect: ['host_pid:high', 'dangerous_capability:critical'] },
  { name: 'seccomp-off', flags: ['--security-opt', 'seccomp=unconfined'], expect: ['seccomp_unconfined:high'] },
  { name: 'run-mounted', flags: ['-v', '/var/run:/var/run'], expect: ['docker_socket_mount:critical'] },
  { name: 'uid1000', flags: ['--user', '1000'], expect: [] },
];

describe('Podman (rootful) through the Docker-compatible API', function () {
  this.timeout(300_000);
  let p: PrivatePodman;
  let eng: PrivateEngine;

  before(async function () {
    requireDocker(this);
    const reason = podmanUnavailableReason();
    if (reason) {
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') throw new Error(`ROOTWATCH_REQUIRE_DOCKER=1 but ${reason}`);
      this.skip();
    }
    [p, eng] = await Promise.all([podman(), engine('default')]);
  });

  after(async () => {
    for (const c of CASES) {
      await p?.cli('rm', '-f', '-t', '0', `rwp-${c.name}`).catch(() => undefined);
      await eng?.cli('rm', '-f', `rwp-${c.name}`).catch(() => undefined);
    }
  });

  it('finds the same findings for the same risky flags as on Docker', async () => {
    for (const c of CASES) {
      await p.cli('run', '-d', '--name', `rwp-${c.name}`, ...c.flags, PODMAN_TEST_IMAGE, 'sleep', '600');
      await eng.cli('run', '-d', '--name', `rwp-${c.name}`, ...c.flags, TEST_IMAGE, 'sleep', '600');
    }
    const [onPodman, onDocker] = await Promise.all([audit(p.dockerHost), audit(eng.dockerHost)]);
    for (const c of CASES) {
      const of = (r: Report): Set<string> => new Set(r.containers.find((x) => x.name === `rwp-${c.name}`)?.findings.map((f) => `${f.rule}:${f.severity}`));
      const pod = of(onPodman);
      const doc = of(onDocker);
      assert.ok(pod.size > 0 && doc.size > 0, `${c.name} audited on both engines`);
      for (const e of c.expect) {
        assert.ok(pod.has(e), `Podman ${c.name}: ${e} (has ${[...pod].join(', ')})`);
        assert.ok(doc.has(e), `Docker ${c.name}: ${e} (has ${[...doc].join(', ')})`);
      }
      // The same judgement of root: root_user on both or on neither.
      assert.equal([...pod].some((f) => f.startsWith('root_user:')), [...doc].some((f) => f.startsWith('root_user:')), `${c.name}: root_user`);
    }
  });

  it('names the engine Podman, reads its OCI runtime, and claims no Docker Engine CVE', async () => {
    const r = await audit(p.dockerHost);
    assert.equal(r.host.docker.engine, 'podman');
    assert.match(r.host.docker.version, /^4\./);
    assert.ok(r.host.docker.ociRuntime && ['crun', 'runc'].includes(r.host.docker.ociRuntime.name), JSON.stringify(r.host.docker.ociRuntime));
    assert.equal(r.host.info.engine, 'podman');
    assert.equal(r.host.info.docker_version, '');
    const docker = ['CVE-2019-14271', 'CVE-2021-41091', 'CVE-2024-41110'];
    assert.deepEqual(r.host.findings.filter((f) => f.cve && docker.includes(f.cve)), [], 'no Docker Engine CVE on a Podman host');
    assert.ok(r.host.findings.some((f) => f.cve === 'CVE-2024-1753'), 'Podman 4.3.1 predates the CVE-2024-1753 fix');
  });

  it('judges remapping by the container init\'s uid_map: a Podman container with its own user namespace is remapped', async () => {
    // --uidmap gives the container its own user namespace; its inspect still shows an empty UsernsMode.
    await p.cli('run', '-d', '--name', 'rwp-mapped', '--uidmap', '0:200000:65536', PODMAN_TEST_IMAGE, 'sleep', '600');
    await p.cli('run', '-d', '--name', 'rwp-plain', PODMAN_TEST_IMAGE, 'sleep', '600');
    try {
      const r = await audit(p.dockerHost);
      const rootUser = (name: string): { severity: string; message: string } | undefined =>
        r.containers.find((c) => c.name === name)?.findings.find((f) => f.rule === 'root_user') as { severity: string; message: string } | undefined;
      assert.equal(rootUser('rwp-plain')?.severity, 'medium', 'rootful Podman: container root is host root');
      const mapped = rootUser('rwp-mapped');
      assert.ok(mapped && mapped.severity !== 'medium', `remapped root lowered: ${JSON.stringify(mapped)}`);
      assert.match(JSON.stringify(mapped), /root is host uid 200000/);
    } finally {
      await p.cli('rm', '-f', '-t', '0', 'rwp-mapped', 'rwp-plain').catch(() => undefined);
    }
  });

  it('a rootless Podman (a user with a subordinate uid range) shows as rootless, its container root as remapped', async () => {
    const rl = await podman('rootless');
    await rl.cli('run', '-d', '--name', 'rwp-rootless', PODMAN_TEST_IMAGE, 'sleep', '600');
    const r = await audit(rl.dockerHost) as Report & { host: { docker: { rootless: boolean } } };
    assert.equal(r.host.docker.engine, 'podman');
    assert.equal(r.host.docker.rootless, true, 'from libpod /info: Podman\'s compatible /info does not say');
    assert.equal(r.host.info.rootless, 'true');
    assert.deepEqual(r.host.findings.filter((f) => f.rule === 'userns_remap_disabled'), [], 'no "container root is host root" claim');
    const root = r.containers.find((c) => c.name === 'rwp-rootless')?.findings.find((f) => f.rule === 'root_user');
    assert.ok(root && root.severity !== 'medium', `root_user lowered for a rootless container: ${JSON.stringify(root)}`);
    const { stdout } = await execFileP('node', ['dist/src/main.js', '--config', '/dev/null', '--docker-host', rl.dockerHost, 'audit']);
    assert.match(stdout, /^User namespaces: rootless daemon$/m);
  });

  it('one daemon follows dockerd and Podman at once: each engine named, each judged as what it is', async () => {
    const d = await startTestDaemon([eng.dockerHost, p.dockerHost], { breakout: { host_reference_pid: eng.pid() } });
    try {
      // The private socket paths: .../docker.sock and .../podman.sock.
      await waitFor(async () => (await d.metrics()).split('\n').filter((l) => l.startsWith('rootwatch_host_info{')).length === 2, 'a host_info series per engine', 20_000, 100);
      const text = await d.metrics();
      assert.equal(sample(text, 'rootwatch_docker_up', { engine: 'docker' }), 1);
      assert.equal(sample(text, 'rootwatch_docker_up', { engine: 'podman' }), 1);
      const info = text.split('\n').filter((l) => l.startsWith('rootwatch_host_info{'));
      assert.ok(info.some((l) => l.includes('engine="podman"') && /podman_version="\d/.test(l) && l.includes('docker_version=""')), info.join('\n'));
      assert.ok(info.some((l) => l.includes('engine="docker"') && /docker_version="\d/.test(l)), info.join('\n'));
      // Docker Engine CVEs are matched against dockerd only, never against Podman's version.
      const podmanCves = text.split('\n').filter((l) => l.startsWith('rootwatch_host_finding{') && l.includes('engine="podman"') && l.includes('rule="known_cve"'));
      const dockerEngineIds = new Set(dockerEngineCves());
      assert.ok(dockerEngineIds.size > 0);
      assert.deepEqual(podmanCves.filter((l) => dockerEngineIds.has(/cve="([^"]+)"/.exec(l)?.[1] ?? '')), []);
      // The same risky container on both (named alike): one series each, by engine.
      await waitFor(async () => (await d.metrics()).split('\n').filter((l) => l.startsWith('rootwatch_container_finding{') && l.includes('container_name="rwp-sysadmin"') && l.includes('rule="dangerous_capability"')).length === 2,
        'rwp-sysadmin on both engines', 20_000, 100);
    } finally {
      await d.stop();
    }
  });

  describe('breakout detection', () => {
    let d: TestDaemon;
    before(async () => {
      // No pidfile, no configured pid: the reference is found by name (dockerd, else the Podman service).
      d = await startTestDaemon(p.dockerHost, { breakout: { interval: '200ms' } });
    });
    after(async () => {
      await d?.stop();
      await p?.cli('rm', '-f', '-t', '0', 'rwp-escape').catch(() => undefined);
    });

    it('an nsenter into the host namespaces from a rootful Podman container → host_namespace_process', async () => {
      // The host evaluation (CVE data, host facts) is published shortly after the first reconcile.
      await waitFor(async () => /^rootwatch_host_info\{[^}]*engine="podman"/m.test(await d.metrics()), 'rootwatch_host_info{engine="podman"}', 20_000, 100);
      const m = await d.metrics();
      const before = sample(m, 'rootwatch_breakout_detections_total', { reason: 'host_namespace_process' });
      assert.notEqual(before, null, 'the detection counter exists');
      const id = await p.cli('run', '-d', '--name', 'rwp-escape', '--pid', 'host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
        '--security-opt', 'seccomp=unconfined', PODMAN_TEST_IMAGE, 'sleep', '600');
      await waitFor(async () => sample(await d.metrics(), 'rootwatch_containers') !== null && d.logs.some((l) => l.event === 'container_audited'), 'container audited', 20_000);
      await sleep(500);
      const quiet = sample(await d.metrics(), 'rootwatch_breakout_detections_total', { reason: 'host_namespace_process' });
      assert.equal(quiet, before, 'a rootful Podman container and its conmon/runc helpers are no breakout');
      await p.cli('exec', '-d', 'rwp-escape', 'nsenter', '-t', String(p.pid()), '-m', '-u', '-i', '-n', '-p', 'sleep', '30');
      await waitFor(async () => (sample(await d.metrics(), 'rootwatch_breakout_detections_total', { reason: 'host_namespace_process' }) ?? 0) > (before ?? 0),
        'host_namespace_process detection', 10_000, 100);
      const alert = d.alerts('host_namespace_process').find((a) => (a.container as { id: string } | null)?.id === id);
      assert.ok(alert, `the alert names the Podman container ${id.slice(0, 12)}`);
      assert.equal(alert.severity, 'critical');
    });
  });
});
