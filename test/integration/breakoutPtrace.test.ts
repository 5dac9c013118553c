// A host process traced from a container, for real: a static ptrace helper (test/fixtures/breakout/
// ptrace-hold.c, gcc -static) bind-mounted into a busybox container with --pid=host, SYS_PTRACE and
// no seccomp attaches to a host `sleep` the test started, and holds. Found within 3 s on the 1 s
// poll, and from the process connector's ptrace event with a poll of one hour.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

const HELPER_SRC = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/breakout/ptrace-hold.c');
const DETECT_WITHIN_MS = 3000;

function detections(text: string, reason: string): number {
  const n = sample(text, 'rootwatch_breakout_detections_total', { reason });
  assert.notEqual(n, null, `rootwatch_breakout_detections_total{reason="${reason}"} is exported`);
  return n as number;
}

function tracerOf(pid: number): number {
  return Number(/^TracerPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? -1);
}

for (const mode of [{ name: '1 s poll, process events off', breakout: { interval: '1s', process_events: 'off' } }, { name: 'process connector, 1 h poll', breakout: { interval: '1h' } }]) {
  describe(`a host process traced from a container → host_process_traced (${mode.name})`, function () {
    let eng: PrivateEngine;
    let d: TestDaemon;
    let dir = '';
    let victim: ChildProcess | null = null;
    const name = `escape-ptrace-${mode.breakout.interval}`;

    before(async function () {
      requireDocker(this);
      dir = mkdtempSync('/tmp/rw-ptrace-');
      execFileSync('gcc', ['-static', '-O2', '-o', join(dir, 'ptrace-hold'), HELPER_SRC]);
      eng = await engine('default');
      d = await startTestDaemon(eng.dockerHost, { breakout: { ...mode.breakout, host_reference_pid: eng.pid() } });
    });

    after(async () => {
      victim?.kill('SIGKILL');
      await eng?.cli('rm', '-f', name).catch(() => undefined);
      await d?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('names the container, the tracer and the traced host process', async () => {
      const id = await eng.cli('run', '-d', '--name', name, '--pid=host', '--cap-add', 'SYS_PTRACE', '--security-opt', 'seccomp=unconfined',
        '-v', `${join(dir, 'ptrace-hold')}:/ptrace-hold:ro`, TEST_IMAGE, 'sleep', '600');
      await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container audited');
      victim = spawn('sleep', ['600'], { stdio: 'ignore' });
      const pid = victim.pid as number;
      await new Promise((r) => setTimeout(r, 1200)); // the victim is an old host process by now
      const before = detections(await d.metrics(), 'host_process_traced');
      const start = Date.now();
      await eng.cli('exec', '-d', name, '/ptrace-hold', String(pid));
      await waitFor(() => tracerOf(pid) > 0, 'the helper attached (verified host-side)', 5000, 10);
      await waitFor(async () => detections(await d.metrics(), 'host_process_traced') > before, 'host_process_traced detection', DETECT_WITHIN_MS, 20);
      console.log(`      host_process_traced detected ${Date.now() - start} ms after docker exec`);
      const alert = d.alerts('host_process_traced').find((a) => (a.evidence as Record<string, unknown>).pid === pid);
      assert.ok(alert, 'alert names the traced host process');
      assert.equal((alert.container as { id: string }).id, id);
      const ev = alert.evidence as Record<string, unknown>;
      assert.equal(ev.tracer_pid, tracerOf(pid));
      assert.equal(ev.tracer_exe, '/ptrace-hold');
      assert.deepEqual(ev.cmdline, ['sleep', '600']);
      assert.equal(ev.uids, '0 0 0 0');
      assert.equal(ev.tracer_uids, '0 0 0 0');
      assert.equal((ev.namespaces as string[]).length, 7);
      // Once per traced process, not once per scan.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(detections(await d.metrics(), 'host_process_traced'), before + 1);
    });
  });
}
