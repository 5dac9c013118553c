// dockerode without gRPC and ssh2: the placeholders load, fail loudly if used, and dockerode still
// talks HTTP over a unix socket (the integration suite talks to real engines through it throughout).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';

describe('lean dockerode', () => {
  // A fresh process: in the test process the harness may have loaded dockerode (and the real modules) first.
  const run = (code: string): { status: number | null; out: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };

  it('leaves out gRPC and ssh2, and a placeholder used says why', () => {
    const r = run(`
      const { LEFT_OUT_MODULES } = await import('./src/docker/leanDockerode.ts');
      const { createRequire } = await import('node:module');
      const req = createRequire(createRequire(import.meta.url).resolve('docker-modem'));
      console.log(JSON.stringify(LEFT_OUT_MODULES));
      try { new (req('ssh2').Client)(); console.log('constructed'); } catch (e) { console.log('error:', e.message); }
    `);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /\["@grpc\/grpc-js","@grpc\/proto-loader","ssh2"\]/);
    assert.match(r.out, /error: ssh2 \(ssh:\/\/ Docker hosts\) is not loaded by rootwatch/);
  });

  it('dockerode still loads and answers over a unix socket', () => {
    const r = run(`
      const http = await import('node:http');
      const { mkdtempSync, rmSync } = await import('node:fs');
      const dir = mkdtempSync('/tmp/rw-lean-');
      const server = http.createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ ApiVersion: '1.41', Path: req.url })); });
      await new Promise((r) => server.listen(dir + '/d.sock', r));
      const { DockerApi } = await import('./src/docker/dockerApi.ts');
      const api = new DockerApi({ url: 'unix://' + dir + '/d.sock', name: 'docker', options: { socketPath: dir + '/d.sock' } }, 5000);
      try {
        console.log(JSON.stringify(await api.version()));
      } finally {
        server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    `);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /"ApiVersion":"1.41","Path":"\/version"/);
  });
});
