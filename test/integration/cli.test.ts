// The built CLI as users run it: exit codes, one-line errors, and `audit` against the private engine.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { rootwatch } from '../harness/cli.js';

describe('rootwatch CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('version prints the package version', async () => {
    const r = await rootwatch(['version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^rootwatch \d+\.\d+\.\d+ \(node v\d+/);
  });

  it('an unknown config key: exit 2 and one line naming the key', async () => {
    const p = join(dir, 'broken.yaml');
    writeFileSync(p, 'metrics:\n  listen: 0.0.0.0:9796\n  lisen: 1\n');
    const r = await rootwatch(['--config', p, 'run']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `rootwatch: ${p}: unknown key "metrics.lisen"\n`);
  });

  it('an unknown option or command: exit 2', async () => {
    assert.equal((await rootwatch(['audit', '--bogus'])).code, 2);
    assert.equal((await rootwatch(['frobnicate'])).code, 2);
  });

  it('a bad --fail-on or --log-level: exit 2 with one line', async () => {
    const r = await rootwatch(['--config', '/dev/null', 'audit', '--fail-on', 'extreme']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rootwatch: --fail-on "extreme": expected one of/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const l = await rootwatch(['--config', '/dev/null', '--log-level', 'loud', 'version']);
    assert.equal(l.code, 0, 'version does not need config');
  });

  it('audit with Docker unreachable: exit 3 and one line, no stack trace', async () => {
    const r = await rootwatch(['--config', '/dev/null', '--docker-host', `unix://${dir}/nope.sock`, 'audit']);
    assert.equal(r.code, 3);
    assert.equal(r.stderr, `rootwatch: Docker socket not found at unix://${dir}/nope.sock\n`);
  });

  it('audit with a path that is not a socket: exit 3', async () => {
    const p = join(dir, 'plain-file');
    writeFileSync(p, '');
    const r = await rootwatch(['--config', '/dev/null', '--docker-host', `unix://${p}`, 'audit']);
    assert.equal(r.code, 3);
    assert.equal(r.stderr.split('\n').length, 2);
  });

  describe('audit against the private engine', function () {
    let eng: PrivateEngine;
    before(async function () {
      requireDocker(this);
      eng = await engine('default');
      await eng.cli('run', '-d', '--name', 'cli-hostpid', '--pid=host', TEST_IMAGE, 'sleep', '600');
      await eng.cli('run', '-d', '--name', 'cli-hardened', '--read-only', '--user', '1000', '--cap-drop', 'ALL',
        '--security-opt', 'no-new-privileges', '--memory', '64m', '--pids-limit', '100', TEST_IMAGE, 'sleep', '600');
    });
    after(async () => {
      await eng?.cli('rm', '-f', 'cli-hostpid', 'cli-hardened').catch(() => undefined);
    });

    it('--json has the documented shape and the expected findings', async () => {
      const r = await rootwatch(['--config', '/dev/null', '--docker-host', eng.dockerHost, 'audit', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(typeof report.host.hostname, 'string');
      assert.equal(report.host.docker.usernsRemap, false);
      assert.match(report.host.docker.runc, /^\d/);
      assert.ok(report.host.findings.some((f: { rule: string }) => f.rule === 'userns_remap_disabled'));
      const byName = new Map(report.containers.map((c: { name: string }) => [c.name, c]));
      const hostpid = byName.get('cli-hostpid') as { id: string; findings: { rule: string; severity: string }[] };
      assert.match(hostpid.id, /^[0-9a-f]{64}$/);
      assert.ok(hostpid.findings.some((f) => f.rule === 'host_pid' && f.severity === 'high'));
      const hardened = byName.get('cli-hardened') as { findings: { severity: string }[] };
      assert.deepEqual(hardened.findings.filter((f) => f.severity === 'high' || f.severity === 'critical'), []);
    });

    it('reports this host\'s runc CVE-2024-21626 as vulnerable and no kernel CVE', async () => {
      const r = await rootwatch(['--config', '/dev/null', '--docker-host', eng.dockerHost, 'audit', '--json']);
      const report = JSON.parse(r.stdout);
      const cves = report.host.findings.filter((f: { rule: string }) => f.rule === 'known_cve');
      const runc = cves.find((f: { cve: string }) => f.cve === 'CVE-2024-21626');
      assert.ok(runc, 'CVE-2024-21626 reported');
      assert.equal(runc.evidence.component, 'runc');
      assert.equal(runc.evidence.verdict, 'vulnerable');
      assert.deepEqual(cves.filter((f: { evidence: { component: string } }) => f.evidence.component === 'kernel'), []);
      assert.equal(report.host.info.runc_version, report.host.docker.runc);
      assert.match(report.host.info.cgroup_version, /^(1|2|hybrid)$/);
    });

    it('an operator acknowledgement excepts a CVE', async () => {
      const cveFile = join(dir, 'cves.yaml');
      writeFileSync(cveFile, 'acknowledgements:\n  - cve: CVE-2024-21626\n    reason: Debian fixed it in 1.1.5+ds1-1+deb12u1\n');
      const cfg = join(dir, 'ack.yaml');
      writeFileSync(cfg, `host:\n  cve_file: ${cveFile}\n`);
      const r = await rootwatch(['--config', cfg, '--docker-host', eng.dockerHost, 'audit', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const f = JSON.parse(r.stdout).host.findings.find((x: { cve?: string }) => x.cve === 'CVE-2024-21626');
      assert.equal(f.excepted.reason, 'Debian fixed it in 1.1.5+ds1-1+deb12u1');
    });

    it('--fail-on high exits 1; the table names the container', async () => {
      const r = await rootwatch(['--config', '/dev/null', '--docker-host', eng.dockerHost, 'audit', '--fail-on', 'high']);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /cli-hostpid/);
      assert.match(r.stdout, /host_pid/);
    });

    it('an exception in the config excepts the finding, and --fail-on no longer trips on it', async () => {
      const p = join(dir, 'exc.yaml');
      writeFileSync(p, 'exceptions:\n  - rules: [host_pid]\n    match: { name: cli-hostpid }\n    reason: test agent\n');
      const r = await rootwatch(['--config', p, '--docker-host', eng.dockerHost, 'audit', '--json']);
      const report = JSON.parse(r.stdout);
      const c = report.containers.find((x: { name: string }) => x.name === 'cli-hostpid');
      const f = c.findings.find((x: { rule: string }) => x.rule === 'host_pid');
      assert.deepEqual(f.excepted, { reason: 'test agent' });
    });
  });
});

describe('audit against the userns-remapped engine', function () {
  let eng: PrivateEngine;
  before(async function () {
    requireDocker(this);
    eng = await engine('userns');
    await eng.cli('run', '-d', '--name', 'remap-root', TEST_IMAGE, 'sleep', '600');
    await eng.cli('run', '-d', '--name', 'remap-optout', '--userns=host', TEST_IMAGE, 'sleep', '600');
  });
  after(async () => {
    await eng?.cli('rm', '-f', 'remap-root', 'remap-optout').catch(() => undefined);
  });

  it('lowers root_user for remapped containers and raises host_userns for one that opted out', async () => {
    const r = await rootwatch(['--config', '/dev/null', '--docker-host', eng.dockerHost, 'audit', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.host.docker.usernsRemap, true);
    assert.ok(!report.host.findings.some((f: { rule: string }) => f.rule === 'userns_remap_disabled'));
    const byName = new Map(report.containers.map((c: { name: string }) => [c.name, c]));
    const find = (name: string, rule: string) => (byName.get(name) as { findings: { rule: string; severity: string; evidence: Record<string, unknown> }[] }).findings.find((f) => f.rule === rule);
    assert.equal(find('remap-root', 'root_user')?.severity, 'low');
    assert.equal(find('remap-root', 'root_user')?.evidence.severity_lowered_because, 'userns-remap');
    assert.equal(find('remap-root', 'host_userns'), undefined);
    assert.equal(find('remap-optout', 'host_userns')?.severity, 'high');
    assert.equal(find('remap-optout', 'root_user')?.severity, 'medium', 'opted out of remapping: root is host root again');
  });
});
