// The daemon end to end against the private engine: events in, findings out on /metrics and in the
// alert log; series of dead containers vanish; /ready follows Docker.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { PassThrough } from 'node:stream';
import { startDaemon, type Daemon } from '../../src/cli/run.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { validateConfig } from '../../src/config/load.js';
import { parseEndpoint } from '../../src/docker/endpoint.js';
import { createLogger } from '../../src/log/logger.js';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { waitFor } from '../harness/waitFor.js';

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

describe('daemon against the private engine', function () {
  let eng: PrivateEngine;
  let d: TestDaemon;
  let base: string;

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
    d = await startTestDaemon(eng.dockerHost);
    base = d.base;
  });

  after(async () => {
    await d?.stop();
  });

  it('serves /healthz, /ready and an index page', async () => {
    assert.equal((await get(`${base}/healthz`)).status, 200);
    assert.equal((await get(`${base}/ready`)).body, 'ready\n');
    assert.match((await get(`${base}/`)).body, /href="metrics"/);
    assert.equal((await get(`${base}/nope`)).status, 404);
  });

  it('publishes a started container\'s findings on /metrics and alerts in the log, then drops them when it dies', async () => {
    const id = await eng.cli('run', '-d', '--name', 'daemon-hostpid', '--pid=host', TEST_IMAGE, 'sleep', '600');
    const series = `rootwatch_container_finding{container_id="${id.slice(0, 12)}",container_name="daemon-hostpid",image="${TEST_IMAGE}",rule="host_pid",severity="high"} 1`;
    await waitFor(async () => (await d.metrics()).includes(series), 'host_pid series');
    const alert = d.alerts('host_pid')[0];
    assert.ok(alert, 'alert log event');
    assert.deepEqual(alert.container, { id, name: 'daemon-hostpid', image: TEST_IMAGE });
    assert.equal(alert.severity, 'high');
    assert.equal(typeof alert.ts, 'string');
    assert.equal(typeof alert.host, 'string');
    const body = await d.metrics();
    assert.match(body, /^rootwatch_docker_up 1$/m);
    assert.match(body, /^rootwatch_findings\{rule="host_pid",severity="high"\} 1$/m);
    assert.match(body, /^rootwatch_docker_events_total\{action="start"\} \d+$/m);
    assert.match(body, /^rootwatch_audit_duration_seconds_count [1-9]\d*$/m);

    await eng.cli('rm', '-f', id);
    await waitFor(async () => !(await d.metrics()).includes(id.slice(0, 12)), 'series gone');
  });

  it('judges every docker exec: a privileged exec and a root exec into a non-root container', async () => {
    const id = await eng.cli('run', '-d', '--name', 'daemon-exec', '--user', '1000', TEST_IMAGE, 'sleep', '600');
    await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container seen');
    await eng.cli('exec', '-u', '0', 'daemon-exec', 'id');
    // This VM cannot grant a privileged exec every capability, so it may fail to run; Docker has
    // created and started it all the same, and that is what is judged.
    await eng.cli('exec', '--privileged', 'daemon-exec', 'true').catch(() => undefined);
    await waitFor(() => d.alerts('exec_privileged').some((a) => (a.container as { id: string }).id === id), 'exec_privileged alert');
    await waitFor(async () => sample(await d.metrics(), 'rootwatch_container_finding', { container_id: id.slice(0, 12), rule: 'exec_root' }) === 1, 'exec_root finding');
    assert.equal(sample(await d.metrics(), 'rootwatch_container_finding', { container_id: id.slice(0, 12), rule: 'exec_privileged' }), 1);
    await eng.cli('rm', '-f', id);
  });

  it('gives back the memory of its start-up: one memory-reducing collection, counted, logged with a smaller heap', async function () {
    this.timeout(60_000);
    // The first check of the heap trimmer comes TRIM_CHECK_MS (10 s) after the start.
    await waitFor(async () => (sample(await d.metrics(), 'rootwatch_memory_trims_total') ?? 0) >= 1, 'the first memory trim', 30_000);
    const trim = d.logs.find((l) => l.event === 'memory_trimmed');
    assert.ok(trim, 'memory_trimmed logged');
    assert.equal(trim.level, 'debug');
    assert.ok(Number(trim.heap_after_bytes) < Number(trim.heap_before_bytes), JSON.stringify(trim));
  });

  it('goes unready and rootwatch_docker_up 0 while the engine is down, and recovers', async () => {
    await eng.stop();
    await waitFor(async () => /^rootwatch_docker_up 0$/m.test(await d.metrics()), 'docker_up 0');
    assert.equal((await get(`${base}/ready`)).status, 503);
    await eng.restart();
    await waitFor(async () => (await get(`${base}/ready`)).status === 200, 'ready again', 30_000);
    assert.match(await d.metrics(), /^rootwatch_docker_reconnects_total [1-9]/m);
  });
});

describe('metrics endpoint with TLS and basic auth', function () {
  let daemon: Daemon;
  let base: string;
  const dir = mkdtempSync(join(tmpdir(), 'rw-tls-'));

  before(async function () {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const hash = bcrypt.hashSync('s3cret', 4);
    const config = validateConfig({
      metrics: { web: { tls_server_config: { cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem') }, basic_auth_users: { prom: hash } } },
    }, 'test');
    // No Docker needed: the endpoint must serve (and say not ready) while Docker is unreachable.
    daemon = await startDaemon({
      config, endpoints: [parseEndpoint(`unix://${dir}/absent.sock`, {})], configFile: '/dev/null', configExplicit: false,
      listen: '127.0.0.1:0', logger: createLogger({ level: 'emerg', stream: new PassThrough() }),
    });
    base = `https://127.0.0.1:${daemon.address.port}`;
  });

  after(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function tlsGet(path: string, auth?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${base}${path}`, { rejectUnauthorized: false, headers: auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('needs credentials for /metrics over TLS, keeps /healthz open', async () => {
    assert.equal((await tlsGet('/metrics')).status, 401);
    assert.equal((await tlsGet('/metrics', 'prom:wrong')).status, 401);
    assert.equal((await tlsGet('/metrics', 'other:s3cret')).status, 401);
    const ok = await tlsGet('/metrics', 'prom:s3cret');
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^rootwatch_docker_up 0$/m);
    assert.equal((await tlsGet('/healthz')).status, 200);
    assert.equal((await tlsGet('/ready', 'prom:s3cret')).status, 503);
  });
});
