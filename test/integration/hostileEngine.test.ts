// A broken or hostile engine, one misbehaviour at a time, against the real daemon and CLI: a fake
// Engine API on a unix socket (test/harness/fakeEngine.ts) answers what a real engine will not do on
// demand. Each case bounds what rootwatch does in reply: reconnects, log lines, stalls, terminal
// output, and says what it must still do (monitor the other containers, keep the last good posture).
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeEngine } from '../harness/fakeEngine.js';
import { sleep } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

const MAIN = 'dist/src/main.js';

interface Run { code: number; stdout: string; stderr: string }
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('node', [MAIN, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A metric that must exist: a missing series fails the test instead of reading as 0. */
async function metric(d: TestDaemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  const v = sample(await d.metrics(), name, labels);
  assert.notEqual(v, null, `${name}${JSON.stringify(labels)} is missing from /metrics`);
  return v as number;
}

const events = (d: TestDaemon, event: string): Record<string, unknown>[] => d.logs.filter((l) => l.event === event);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('a broken or hostile engine', function () {
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'rw-hostile-'));
  let fake: FakeEngine;
  let d: TestDaemon | null = null;

  beforeEach(async () => {
    fake = await new FakeEngine().start();
  });
  afterEach(async () => {
    await d?.stop();
    d = null;
    await fake.stop();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('one container whose inspect answers HTTP 500: the others are monitored, no reconnect, retried with backoff, logged once', async () => {
    const [bad, ...good] = fake.addContainers(5) as [string, ...string[]];
    let failing = true;
    const byId = new Map(fake.containers);
    fake.on('inspect', (_req, res, id) => {
      if (id === bad && failing) return void res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"boom"}');
      const c = byId.get(id);
      res.writeHead(c ? 200 : 404, { 'Content-Type': 'application/json' }).end(JSON.stringify(c ?? { message: 'no such container' }));
    });
    d = await startTestDaemon(fake.dockerHost);
    await sleep(6000);
    assert.equal(await metric(d, 'rootwatch_containers'), good.length, 'every other container is audited');
    assert.equal(await metric(d, 'rootwatch_docker_reconnects_total'), 0);
    assert.equal(fake.count('info'), 1, 'one session, no reconnect');
    const errors = await metric(d, 'rootwatch_docker_errors_total', { op: 'inspect' });
    // The first inspect, then retries after ~1, ~2, ~4 s (each at least half that): 2 to 4 in 6 s.
    assert.ok(errors >= 2 && errors <= 4, `inspect failures counted: ${errors}`);
    assert.equal(events(d, 'docker_error').length, 1, 'logged once; the rest go into the next summary');
    failing = false;
    await waitFor(async () => (await metric(d as TestDaemon, 'rootwatch_containers')) === 5, 'the failing container audited once it answers', 30_000, 200);
  });

  for (const [what, answer] of [
    ['not JSON, served as text/plain', (res: import('node:http').ServerResponse) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('this is not json')],
    ['a JSON object instead of a list', (res: import('node:http').ServerResponse) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"not":"a list"}')],
  ] as const) {
    it(`a container list that is ${what}: reconnects back off (at most 7 in 12 s), each kind logged once`, async () => {
      fake.on('list', (_req, res) => void answer(res));
      d = await startTestDaemon(fake.dockerHost, {}, { waitReady: false });
      await sleep(12_000);
      const sessions = fake.count('info');
      assert.ok(sessions >= 2 && sessions <= 7, `sessions in 12 s: ${sessions} (was 65 before backoff counted failed reconciles)`);
      assert.equal(await metric(d, 'rootwatch_docker_errors_total', { op: 'list' }), fake.count('list'), 'every failed list counted');
      assert.ok(events(d, 'docker_error').length <= 1, `docker_error lines: ${events(d, 'docker_error').length}`);
      assert.ok(events(d, 'docker_disconnected').length <= 1, `docker_disconnected lines: ${events(d, 'docker_disconnected').length}`);
      assert.ok(events(d, 'docker_connected').length <= 1, `docker_connected lines: ${events(d, 'docker_connected').length}`);
      assert.equal((await fetch(`${d.base}/ready`)).status, 503, 'never reconciled, so not ready');
    });
  }

  it('a flood of malformed events and a 50 MB line: all counted, a bounded number of log lines, the stream goes on', async () => {
    fake.addContainers(1);
    d = await startTestDaemon(fake.dockerHost);
    await waitFor(() => fake.streams.size > 0, 'event stream open');
    for (let burst = 0; burst < 20; burst++) {
      fake.emit('garbage line\n[1,2,3]\n{"Type":"container","Action":"start","Actor":{"ID":"not-hex"}}\n'.repeat(100));
      await sleep(50);
    }
    const chunk = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 50; i++) fake.emit(chunk);
    fake.emit('\n');
    const started = fake.addContainers(1)[0] as string;
    fake.emit(`${JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: started }, time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1e6 })}\n`);
    await waitFor(async () => (await metric(d as TestDaemon, 'rootwatch_containers')) === 2, 'an event after the flood is still applied', 20_000, 100);
    assert.equal(await metric(d, 'rootwatch_docker_event_errors_total'), 20 * 300 + 1, 'every malformed line and the long one counted');
    assert.equal(events(d, 'docker_event_malformed').length, 1, 'one line now, the rest in the next summary');
    assert.equal(await metric(d, 'rootwatch_docker_reconnects_total'), 0);
  });

  it('a malformed /info after a reconnect: warned once, the last good posture kept', async () => {
    fake.addContainers(1);
    fake.info = { ...(fake.info as Record<string, unknown>), SecurityOptions: ['name=seccomp,profile=builtin', 'name=userns'] };
    d = await startTestDaemon(fake.dockerHost);
    const before = d.daemon.monitor.currentPosture();
    assert.equal(before?.usernsRemap, true);
    fake.info = 'not an object';
    for (const s of fake.streams) s.destroy();
    await waitFor(() => fake.count('info') >= 2, 'reconnected', 20_000);
    await waitFor(() => events(d as TestDaemon, 'docker_error').some((l) => l.op === 'info'), 'malformed /info reported', 10_000);
    const line = events(d, 'docker_error').find((l) => l.op === 'info');
    assert.match(String(line?.message), /malformed answer to GET \/info \(not a JSON object\); keeping the last good daemon posture/);
    const after = d.daemon.monitor.currentPosture();
    assert.equal(after?.usernsRemap, true, 'remapping still known');
    assert.equal(after?.version, before?.version);
    assert.equal(await metric(d, 'rootwatch_docker_errors_total', { op: 'info' }), 1);
  });

  it('hostile /version strings reach neither the terminal nor a label raw, and are capped', async () => {
    fake.addContainers(2);
    const forged = '20.10.24\n\u001b[2J\u001b[HAll clear: 0 findings\u009b31m';
    fake.version = { Version: forged + 'A'.repeat(1_000_000), ApiVersion: '1.41\r\u001b]0;pwned\u0007', Components: [{ Name: 'runc', Version: `1.1.5\n${'B'.repeat(1_000_000)}` }] };
    const config = join(dir, 'hostile.yaml');
    writeFileSync(config, `docker:\n  host: ${fake.dockerHost}\n`);
    const table = await cli(['--config', config, 'audit']);
    assert.equal(table.code, 0, table.stderr);
    assert.ok(!CONTROL.test(table.stdout), 'no control character in the table');
    assert.ok(!/^All clear/m.test(table.stdout), 'no forged line of its own');
    assert.ok(table.stdout.length < 64 * 1024, `table is ${table.stdout.length} bytes`);
    const json = await cli(['--config', config, 'audit', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.ok(!/[\u007f-\u009f]/.test(json.stdout), 'C1 controls escaped in JSON');
    const report = JSON.parse(json.stdout) as { host: { docker: { version: string } } };
    assert.ok(report.host.docker.version.length <= 257, 'version capped');

    d = await startTestDaemon(fake.dockerHost);
    await waitFor(async () => sample(await (d as TestDaemon).metrics(), 'rootwatch_host_info') !== null, 'host info', 20_000);
    const info = (await d.metrics()).split('\n').find((l) => l.startsWith('rootwatch_host_info{')) ?? '';
    assert.ok(info.length < 4096, `rootwatch_host_info is ${info.length} bytes`);
    const longest = Math.max(...d.logs.map((l) => JSON.stringify(l).length));
    assert.ok(longest < 16 * 1024, `longest log line ${longest} bytes`);
  });

  it('a config alias bomb and a control-character key: exit 2, one clean line naming the file', async () => {
    const bomb = join(dir, 'bomb.yaml');
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    writeFileSync(bomb, `${lines.join('\n')}\n`);
    const r = await cli(['--config', bomb, 'audit']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^rootwatch: ${bomb}: invalid YAML: .*\\n$`));
    const ctl = join(dir, 'ctl.yaml');
    writeFileSync(ctl, '"x\\e[2J\\nAll clear": 1\n');
    const c = await cli(['--config', ctl, 'audit']);
    assert.equal(c.code, 2);
    assert.equal(c.stderr.split('\n').length, 2, 'one line');
    assert.ok(!CONTROL.test(c.stderr.slice(0, -1)), 'no control characters');
  });

  it('an engine that never answers: the audit says it timed out (exit 3), not "socket hang up"', async () => {
    fake.on('info', () => {});
    const config = join(dir, 'slow.yaml');
    writeFileSync(config, `docker:\n  host: ${fake.dockerHost}\n  request_timeout: 1s\n`);
    const t0 = Date.now();
    const r = await cli(['--config', config, 'audit']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^rootwatch: Docker at unix:\/\/\S+ timed out: GET \/info got no answer within 1000 ms\n$/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('10,000 containers: the event loop never stalls for 1 s, and SIGTERM ends the daemon within 5 s', async () => {
    fake.addContainers(10_000);
    const config = join(dir, 'scale.yaml');
    writeFileSync(config, `docker:\n  host: ${fake.dockerHost}\nmetrics:\n  listen: 127.0.0.1:0\n`);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn('node', [MAIN, '--config', config, 'run', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let reconciled = 0;
    child.stdout?.on('data', (b: Buffer) => {
      if (!reconciled && b.toString().includes('"event":"reconciled"')) reconciled = Date.now();
    });
    try {
      let worst = 0;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (!reconciled || Date.now() < reconciled + 5000)) {
        const t0 = performance.now();
        const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((x) => x.status === 200, () => false);
        if (ok) worst = Math.max(worst, performance.now() - t0);
        await sleep(50);
      }
      assert.ok(reconciled, '10,000 containers reconciled within 60 s');
      assert.ok(worst < 1000, `longest /healthz answer ${Math.round(worst)} ms`);
      const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.equal(sample(m, 'rootwatch_containers'), 10_000);
      const t0 = Date.now();
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.ok(Date.now() - t0 <= 5000, `SIGTERM took ${Date.now() - t0} ms`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
