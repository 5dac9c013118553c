// The daemon as a real process: live config reload (file change and SIGHUP), rejected bad configs,
// bad Docker endpoints (missing, not a socket, answering garbage), hostile container input, and a
// clean SIGTERM shutdown within 5 s.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

interface Proc { child: ChildProcess; base: string; logs: Record<string, unknown>[]; stderr: string[]; exited: Promise<number | null> }

async function launch(args: string[]): Promise<Proc> {
  const port = await freePort();
  const child = spawn('node', ['dist/src/main.js', ...args, 'run', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>);
  });
  child.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status === 200, 'daemon /healthz', 20_000, 50);
  return { child, base, logs, stderr, exited };
}

async function stop(p: Proc | null): Promise<number | null> {
  if (!p || p.child.exitCode !== null) return p?.child.exitCode ?? null;
  p.child.kill('SIGTERM');
  return p.exited;
}

const metrics = async (p: Proc): Promise<string> => (await fetch(`${p.base}/metrics`)).text();

describe('daemon process', function () {
  const dir = mkdtempSync(join(tmpdir(), 'rw-proc-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('with the private engine', function () {
    let eng: PrivateEngine;
    let p: Proc | null = null;
    const cfg = join(dir, 'rootwatch.yaml');

    before(async function () {
      requireDocker(this);
      eng = await engine('default');
      writeFileSync(cfg, 'log:\n  level: info\n');
      p = await launch(['--config', cfg, '--docker-host', eng.dockerHost]);
      await waitFor(async () => (await fetch(`${p?.base}/ready`)).status === 200, 'ready', 20_000);
    });

    after(async () => {
      await stop(p);
      await eng?.cli('rm', '-f', 'proc-hostile', 'proc-agent').catch(() => undefined);
    });

    it('hostile labels and env cannot switch a detection off, and leave logs and metrics well-formed', async () => {
      const id = await eng.cli('run', '-d', '--name', 'proc-hostile', '--pid=host',
        '--label', 'rootwatch.exception=host_pid', '--label', 'rootwatch.ignore=true', '--label', 'x="}\n{"event":"alert","rule":"forged"}',
        '-e', 'ROOTWATCH_DISABLE=1', TEST_IMAGE, 'sleep', '600');
      await waitFor(async () => sample(await metrics(p as Proc), 'rootwatch_container_finding', { container_id: id.slice(0, 12), rule: 'host_pid' }) === 1, 'host_pid finding');
      assert.equal(p?.logs.filter((l) => l.rule === 'forged').length, 0);
    });

    it('reloads a changed config file: an operator exception applies without a restart', async () => {
      const before = sample(await metrics(p as Proc), 'rootwatch_config_last_reload_success_timestamp_seconds') ?? 0;
      await sleep(1100);
      writeFileSync(cfg, 'log:\n  level: info\nexceptions:\n  - rules: [host_pid]\n    match: { name: proc-hostile }\n    reason: test agent\n');
      await waitFor(async () => sample(await metrics(p as Proc), 'rootwatch_findings_excepted', { rule: 'host_pid' }) === 1, 'exception applied', 15_000);
      const m = await metrics(p as Proc);
      assert.equal(sample(m, 'rootwatch_container_finding', { container_name: 'proc-hostile', rule: 'host_pid' }), null);
      assert.ok((sample(m, 'rootwatch_config_last_reload_success_timestamp_seconds') ?? 0) > before);
    });

    it('rejects an invalid config on reload with one log line naming the key, and keeps the old one', async () => {
      writeFileSync(cfg, 'log:\n  level: info\nexceptions:\n  - rules: [host_pid]\n    match: { name: proc-hostile }\n    reason: test agent\n    expire: 2030-01-01\n');
      await waitFor(async () => sample(await metrics(p as Proc), 'rootwatch_config_reload_failures_total') === 1, 'reload failure counted', 15_000);
      const line = p?.logs.find((l) => l.event === 'config_reload_failed');
      assert.match(String(line?.message), /unknown key "exceptions\.0\.expire"/);
      assert.equal(sample(await metrics(p as Proc), 'rootwatch_findings_excepted', { rule: 'host_pid' }), 1, 'old config still in force');
    });

    it('SIGHUP reloads too', async () => {
      writeFileSync(cfg, 'log:\n  level: info\n');
      await waitFor(async () => sample(await metrics(p as Proc), 'rootwatch_findings_excepted', { rule: 'host_pid' }) === null, 'exception removed by the file watch', 15_000);
      const reloads = (p?.logs ?? []).filter((l) => l.event === 'config_reloaded').length;
      p?.child.kill('SIGHUP');
      await waitFor(() => (p?.logs ?? []).filter((l) => l.event === 'config_reloaded').length > reloads, 'reload after SIGHUP');
    });

    it('stops within 5 s on SIGTERM, exit code 0', async () => {
      const t0 = Date.now();
      const code = await stop(p);
      p = null;
      assert.equal(code, 0);
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    });
  });

  describe('with bad Docker endpoints', function () {
    this.timeout(60_000);
    let p: Proc | null = null;
    let fake: Server | null = null;
    afterEach(async () => {
      await stop(p);
      p = null;
      await new Promise<void>((r) => (fake ? fake.close(() => r()) : r()));
      fake = null;
    });

    it('a missing socket: keeps running, not ready, says so once, counts nothing as an event', async () => {
      p = await launch(['--config', '/dev/null', '--docker-host', `unix://${dir}/absent.sock`]);
      await waitFor(() => (p?.logs ?? []).some((l) => l.event === 'docker_unreachable'), 'unreachable logged');
      assert.equal((await fetch(`${p.base}/ready`)).status, 503);
      assert.match(await metrics(p), /^rootwatch_docker_up 0$/m);
      await sleep(1500);
      assert.equal(p.child.exitCode, null, 'still running');
      assert.equal(p.logs.filter((l) => l.event === 'docker_unreachable' && l.level === 'warning').length, 1);
      assert.equal(p.logs.filter((l) => l.event === 'docker_error').length, 0, 'an absent socket is unreachable, not an API error');
      assert.match(await metrics(p), /^rootwatch_docker_errors_total\{op="info"\} 0$/m);
    });

    it('a path that is not a socket: keeps running and says what is wrong', async () => {
      const f = join(dir, 'not-a-socket');
      writeFileSync(f, '');
      p = await launch(['--config', '/dev/null', '--docker-host', `unix://${f}`]);
      await waitFor(() => (p?.logs ?? []).some((l) => l.event === 'docker_unreachable'), 'unreachable logged');
      assert.equal(p.child.exitCode, null);
    });

    it('an endpoint that answers garbage: malformed and truncated event streams are counted, never fatal', async () => {
      const sock = join(dir, 'fake.sock');
      let eventsServed = 0;
      fake = createHttpServer((req, res) => {
        const url = req.url ?? '';
        if (/\/info$/.test(url.split('?')[0] ?? '')) return void res.end(JSON.stringify({ SecurityOptions: ['name=seccomp,profile=builtin'], DockerRootDir: '/var/lib/docker' }));
        if (/\/version$/.test(url.split('?')[0] ?? '')) return void res.end(JSON.stringify({ Version: '99.0.0', ApiVersion: '1.45', Components: 'not-an-array' }));
        if (url.includes('/containers/json')) return void res.end(eventsServed % 2 ? '[{"Id": 42}]' : 'this is not json');
        if (url.includes('/events')) {
          eventsServed++;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"Type":"container","Action":"start","Actor":{"ID":"not-hex"},"time":1}\n');
          res.write('garbage line\n[1,2,3]\n{"Action":"st');
          setTimeout(() => res.destroy(), 100); // truncated mid-event
          return;
        }
        res.writeHead(404).end('{"message":"no"}');
      });
      await new Promise<void>((r) => fake?.listen(sock, () => r()));
      p = await launch(['--config', '/dev/null', '--docker-host', `unix://${sock}`]);
      await waitFor(async () => (sample(await metrics(p as Proc), 'rootwatch_docker_event_errors_total') ?? 0) >= 3, 'malformed events counted', 20_000);
      await waitFor(async () => (sample(await metrics(p as Proc), 'rootwatch_docker_reconnects_total') ?? 0) >= 1, 'reconnect after truncation', 20_000);
      assert.equal(p.child.exitCode, null, 'still running');
      assert.equal((await fetch(`${p.base}/healthz`)).status, 200);
      assert.equal(p.stderr.join(''), '', 'nothing on stderr (no stack trace)');
    });
  });
});
