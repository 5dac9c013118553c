// A real Prometheus server (Debian's package, loopback only, temp data dir) scrapes the daemon running
// against the private engine, loads the shipped alert rules, and answers PromQL about a container.
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

function promtoolCheckMetrics(text: string): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    const p = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => res({ code: err ? 1 : 0, out: stdout + stderr }));
    p.stdin?.end(text);
  });
}

describe('Prometheus end to end', function () {
  let eng: PrivateEngine;
  let d: TestDaemon;
  let prom: ChildProcess | null = null;
  let promUrl = '';
  const dir = mkdtempSync(join(tmpdir(), 'rw-prom-'));

  before(async function () {
    requireDocker(this);
    if (!existsSync('/usr/bin/prometheus')) {
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') assert.fail('prometheus is not installed (apt-get install prometheus)');
      console.error('\n!!! SKIPPING Prometheus end-to-end test: /usr/bin/prometheus missing !!!\n');
      this.skip();
    }
    eng = await engine('default');
    d = await startTestDaemon(eng.dockerHost);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const rules = resolve('config/prometheus/rootwatch.rules.yml');
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: ["${rules}"]`,
      'scrape_configs:',
      '  - job_name: rootwatch',
      `    static_configs: [{ targets: ["127.0.0.1:${d.daemon.address.port}"] }]`,
    ].join('\n'));
    prom = spawn('/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.status === 200, 'prometheus ready', 30_000, 200);
  });

  after(async () => {
    prom?.kill('SIGTERM');
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const r = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return r.data.result;
  }

  it('loads the shipped alert rules without error', async () => {
    const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const rules = r.data.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 9);
    assert.deepEqual(rules.filter((x) => x.health === 'err'), []);
    assert.ok(rules.some((x) => x.name === 'RootwatchBreakoutSuspected'));
  });

  it('a --pid=host container becomes queryable as rootwatch_container_finding{rule="host_pid"}', async () => {
    const id = await eng.cli('run', '-d', '--name', 'prom-hostpid', '--pid=host', TEST_IMAGE, 'sleep', '600');
    await waitFor(async () => (await query('rootwatch_container_finding{rule="host_pid"}')).some((s) => s.metric.container_id === id.slice(0, 12)), 'series in Prometheus', 30_000, 250);
    const [s] = (await query(`rootwatch_container_finding{rule="host_pid",container_id="${id.slice(0, 12)}"}`));
    assert.equal(s?.metric.container_name, 'prom-hostpid');
    assert.equal(s?.metric.severity, 'high');
    assert.equal(s?.metric.job, 'rootwatch');
    assert.deepEqual((await query('up{job="rootwatch"}')).map((x) => x.value[1]), ['1']);
    await eng.cli('rm', '-f', id);
  });

  it('a real scrape of the daemon passes promtool check metrics', async () => {
    const r = await promtoolCheckMetrics(await d.metrics());
    assert.equal(r.out.trim(), '');
    assert.equal(r.code, 0);
  });
});
