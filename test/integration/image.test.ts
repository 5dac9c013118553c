// The container image: the top-level Dockerfile built unchanged by a private engine on a
// `debian:bookworm-slim` made here (debootstrap + docker import: no registry is reachable), then run
// exactly as the README says (host /proc, cgroups and the socket's directory, host PID, network and
// cgroup namespaces, three capabilities, read-only). It must report a risky container on /metrics,
// follow process events, and report its own container as the README says it will.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { debPackage } from '../harness/debPackage.js';
import { bookwormRootfs, importImage } from '../harness/debianImages.js';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

const IMAGE = 'rootwatch:image-test';

describe('the container image (Dockerfile)', function () {
  this.timeout(900_000);
  let eng: PrivateEngine;
  const ctx = mkdtempSync(join(tmpdir(), 'rw-image-'));
  const names: string[] = [];

  before(async function () {
    requireDocker(this);
    const [deb, tar, e] = await Promise.all([debPackage(), bookwormRootfs(), engine('default')]);
    eng = e;
    await importImage(eng, tar, 'debian:bookworm-slim');
    // The build context as it is in a checkout after `npm run package`: the Dockerfile, its
    // .dockerignore, the container config and the package under build/package/.
    mkdirSync(join(ctx, 'build/package'), { recursive: true });
    mkdirSync(join(ctx, 'config/container'), { recursive: true });
    for (const f of ['Dockerfile', '.dockerignore', 'config/container/rootwatch.yaml']) copyFileSync(f, join(ctx, f));
    copyFileSync(deb, join(ctx, 'build/package', basename(deb)));
    // The engine runs with --bridge=none: RUN steps get no network (they need none).
    await eng.cli('build', '--network', 'none', '-t', IMAGE, ctx);
  });

  after(async () => {
    for (const n of names) await eng?.cli('rm', '-f', n).catch(() => undefined);
    await eng?.cli('rmi', '-f', IMAGE).catch(() => undefined);
    rmSync(ctx, { recursive: true, force: true });
  });

  it('builds from debian:bookworm-slim with the package, and runs as the README says', async () => {
    const risky = `rw-img-risky-${Date.now()}`;
    names.push(risky);
    await eng.cli('run', '-d', '--name', risky, '--cap-add', 'SYS_ADMIN', TEST_IMAGE, 'sleep', '600');

    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const self = `rootwatch-${Date.now()}`;
    names.push(self);
    // The README's command line, with the private engine's directory as the socket directory and
    // the metrics port moved off 9796 (this machine may run other things).
    await eng.cli(
      'run', '-d', '--name', self,
      '--network', 'host', '--pid', 'host', '--cgroupns', 'host',
      '-v', '/proc:/host/proc:ro', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:ro', '-v', `${eng.dir}:/var/run/docker-host:ro`,
      '--cap-drop', 'ALL', '--cap-add', 'SYS_PTRACE', '--cap-add', 'DAC_READ_SEARCH', '--cap-add', 'NET_ADMIN',
      '--security-opt', 'no-new-privileges', '--read-only', '--memory', '256m', '--pids-limit', '200',
      IMAGE, '--config', '/etc/rootwatch/rootwatch.yaml', 'run', '--listen', `127.0.0.1:${port}`,
    );
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => ''));
    try {
      await waitFor(async () => sample(await metrics(), 'rootwatch_container_finding', { container_name: risky, rule: 'dangerous_capability' }) === 1,
        'the risky container\'s finding on the image\'s /metrics', 60_000, 250);
    } catch (e) {
      throw new Error(`${(e as Error).message}; container log:\n${(await eng.cli('logs', '--tail', '30', self).catch(() => '')).slice(-3000)}`);
    }
    const m = await metrics();
    assert.equal(sample(m, 'rootwatch_docker_up'), 1);
    assert.equal(sample(m, 'rootwatch_process_source', { source: 'netlink' }), 1, 'the process connector works with NET_ADMIN in the host network namespace');
    // Its own container, reported as the README says: the host's PID, network and cgroup namespaces
    // and CAP_DAC_READ_SEARCH are exactly the access rootwatch looks for.
    const own = [...m.matchAll(new RegExp(`^rootwatch_container_finding\\{[^}]*container_name="${self}"[^}]*rule="([a-z_]+)"`, 'gm'))].map((x) => x[1]);
    for (const rule of ['host_pid', 'host_network', 'host_cgroupns', 'dangerous_capability']) {
      assert.ok(own.includes(rule), `own container reported with ${rule} (has: ${own.join(', ')})`);
    }
    const health = await eng.cli('inspect', '--format', '{{.State.Health.Status}}', self).catch(() => '');
    assert.ok(['starting', 'healthy'].includes(health), `HEALTHCHECK status: ${health}`);
  });
});
