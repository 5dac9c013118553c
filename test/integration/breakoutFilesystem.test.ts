// Filesystem escapes that keep the container's namespaces, reproduced for real against the private
// engine from a `--pid=host` container with SYS_PTRACE: a chroot into a host process's root, and a
// working directory in the host's tree. Each must be found with the right reason and container
// within 3 s on the default 1 s poll; the latency is printed.
import { strict as assert } from 'node:assert';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

const DETECT_WITHIN_MS = 3000;

function detections(text: string, reason: string): number {
  const n = sample(text, 'rootwatch_breakout_detections_total', { reason });
  assert.notEqual(n, null, `rootwatch_breakout_detections_total{reason="${reason}"} is exported`);
  return n as number;
}

describe('filesystem escapes that keep the container\'s namespaces (default 1 s poll)', function () {
  let eng: PrivateEngine;
  let d: TestDaemon;
  let id = '';

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
    // Process events off: the poll alone must find these within 3 s.
    d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', process_events: 'off', host_reference_pid: eng.pid() } });
    id = await eng.cli('run', '-d', '--name', 'escape-fs', '--pid=host', '--cap-add', 'SYS_PTRACE', TEST_IMAGE, 'sleep', '600');
    await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container audited');
  });

  after(async () => {
    await d?.stop();
    await eng?.cli('rm', '-f', 'escape-fs').catch(() => undefined);
  });

  async function detect(reason: string, escape: string[]): Promise<{ alert: Record<string, unknown>; ms: number }> {
    const before = detections(await d.metrics(), reason);
    const start = Date.now();
    await eng.cli('exec', '-d', 'escape-fs', ...escape);
    await waitFor(async () => detections(await d.metrics(), reason) > before, `${reason} detection`, DETECT_WITHIN_MS, 20);
    const ms = Date.now() - start;
    console.log(`      ${reason} detected after ${ms} ms`);
    const alert = d.alerts(reason).find((a) => (a.container as { id: string } | null)?.id === id);
    assert.ok(alert, `${reason} alert names the container`);
    // Evidence a responder can use: everything read, nothing left as -1 or an empty list.
    const ev = alert.evidence as Record<string, unknown>;
    assert.ok(Number(ev.pid) > 0 && Number(ev.ppid) > 0, 'pid and ppid');
    assert.match(String(ev.uids), /^\d+ \d+ \d+ \d+$/);
    assert.equal((ev.namespaces as string[]).length, 7);
    assert.ok((ev.namespaces as string[]).every((n) => /^\w+=\w+:\[\d+\]$/.test(n)), String(ev.namespaces));
    assert.deepEqual(Object.keys(alert.container as object).sort(), ['id', 'image', 'name']);
    return { alert, ms };
  }

  it('chroot /proc/<dockerd pid>/root /bin/sleep → host_root_filesystem', async () => {
    const { alert } = await detect('host_root_filesystem', ['chroot', `/proc/${eng.pid()}/root`, '/bin/sleep', '600']);
    const ev = alert.evidence as Record<string, unknown>;
    assert.equal(ev.root_is, 'host_root');
    // The host's coreutils sleep, not the container's busybox: host code under the container's cgroup.
    assert.match(String(ev.exe), /^\/usr\/bin\/sleep$|^\/bin\/sleep$/);
    assert.deepEqual(ev.cmdline, ['/bin/sleep', '600']);
    assert.equal(alert.severity, 'critical');
    await eng.cli('exec', 'escape-fs', 'pkill', '-f', `^/bin/sleep 600$`).catch(() => undefined);
  });

  it('cd /proc/<dockerd pid>/root/tmp (a directory of the host\'s tree) → cwd_outside_root', async () => {
    const { alert } = await detect('cwd_outside_root', ['sh', '-c', `cd /proc/${eng.pid()}/root/tmp && exec sleep 601`]);
    const ev = alert.evidence as Record<string, unknown>;
    assert.equal(ev.cwd, '/tmp');
    assert.deepEqual(ev.cmdline, ['sleep', '601']);
    // The same process is not also rooted in the host: its root is still the container's.
    assert.ok(!d.alerts('host_root_filesystem').some((a) => (a.evidence as Record<string, unknown>).pid === ev.pid));
  });

  it('an ordinary cd inside the container, and a chroot into its own filesystem, raise nothing', async () => {
    const before = await d.metrics();
    await eng.cli('exec', '-d', 'escape-fs', 'sh', '-c', 'mkdir -p /jail/bin && cp /bin/busybox /jail/bin/ && cd /tmp && exec chroot /jail /bin/busybox sleep 602');
    await eng.cli('exec', '-d', '-w', '/tmp', 'escape-fs', 'sleep', '603');
    await new Promise((r) => setTimeout(r, 2500));
    const after = await d.metrics();
    for (const r of ['host_root_filesystem', 'cwd_outside_root', 'host_mount_in_container', 'container_binary_on_host']) {
      assert.equal(detections(after, r), detections(before, r), r);
    }
  });
});
