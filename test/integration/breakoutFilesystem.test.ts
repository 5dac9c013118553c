// Filesystem escapes that keep the container's namespaces, reproduced for real against the private
// engine from a `--pid=host` container with SYS_PTRACE: a chroot into a host process's root, and a
// working directory in the host's tree. Each must be found with the right reason and container
// within 3 s on the default 1 s poll, and at once (well under a second) from the process connector's
// exec copy with the poll an hour away; the latency is printed.
import { strict as assert } from 'node:assert';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

const MODES = [
  // Process events off: the poll alone must find these within 3 s.
  { name: 'default 1 s poll', breakout: { interval: '1s', process_events: 'off' }, within: 3000, tag: 'poll' },
  // The poll an hour away: only the exec copy can find them.
  { name: 'process connector, 1 h poll', breakout: { interval: '1h' }, within: 1000, tag: 'events' },
] as const;

function detections(text: string, reason: string): number {
  const n = sample(text, 'rootwatch_breakout_detections_total', { reason });
  assert.notEqual(n, null, `rootwatch_breakout_detections_total{reason="${reason}"} is exported`);
  return n as number;
}

for (const mode of MODES) describe(`filesystem escapes that keep the container's namespaces (${mode.name})`, function () {
  const DETECT_WITHIN_MS = mode.within;
  const name = `escape-fs-${mode.tag}`;
  let eng: PrivateEngine;
  let d: TestDaemon;
  let id = '';

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
    d = await startTestDaemon(eng.dockerHost, { breakout: { ...mode.breakout, host_reference_pid: eng.pid() } });
    id = await eng.cli('run', '-d', '--name', name, '--pid=host', '--cap-add', 'SYS_PTRACE', TEST_IMAGE, 'sleep', '600');
    await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container audited');
  });

  after(async () => {
    await d?.stop();
    await eng?.cli('rm', '-f', name).catch(() => undefined);
  });

  async function detect(reason: string, escape: string[]): Promise<{ alert: Record<string, unknown>; ms: number }> {
    const before = detections(await d.metrics(), reason);
    const start = Date.now();
    await eng.cli('exec', '-d', name, ...escape);
    await waitFor(async () => detections(await d.metrics(), reason) > before, `${reason} detection`, DETECT_WITHIN_MS, 20);
    const ms = Date.now() - start;
    console.log(`      ${reason} detected after ${ms} ms (${mode.name})`);
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
    // An exec copy taken while the exec is under way can have no command line yet: "unreadable".
    const cmd = Array.isArray(ev.cmdline) ? ev.cmdline.join(' ') : String(ev.cmdline);
    if (cmd === '/bin/sleep 600') {
      // The host's coreutils sleep, not the container's busybox: host code under the container's cgroup.
      assert.match(String(ev.exe), /^\/usr\/bin\/sleep$|^\/bin\/sleep$/);
    } else {
      // From the exec copy of chroot, judged a moment later when it has already chrooted: the same
      // process (pid) before it exec'd the host's sleep, as copied then (or not yet readable then).
      assert.ok(mode.tag === 'events', `the poll reads the process as it is now: ${JSON.stringify(ev)}`);
      assert.ok([`chroot /proc/${eng.pid()}/root /bin/sleep 600`, 'unreadable'].includes(cmd), JSON.stringify(ev));
    }
    assert.equal(alert.severity, 'critical');
    await eng.cli('exec', name, 'pkill', '-f', `^/bin/sleep 600$`).catch(() => undefined);
  });

  it('cd /proc/<dockerd pid>/root/tmp (a directory of the host\'s tree) → cwd_outside_root', async () => {
    const { alert } = await detect('cwd_outside_root', ['sh', '-c', `cd /proc/${eng.pid()}/root/tmp && exec sleep 601`]);
    const ev = alert.evidence as Record<string, unknown>;
    assert.equal(ev.cwd, '/tmp');
    // From the poll: sleep. From the exec copy of the shell, judged a moment later when the shell has
    // already cd'ed: the same process (pid) before it exec'd sleep, with the command line copied then.
    const cmd = Array.isArray(ev.cmdline) ? ev.cmdline.join(' ') : String(ev.cmdline);
    assert.ok(['sleep 601', `sh -c cd /proc/${eng.pid()}/root/tmp && exec sleep 601`, ...(mode.tag === 'events' ? ['unreadable'] : [])].includes(cmd), cmd);
    // The same process is not also rooted in the host: its root is still the container's.
    assert.ok(!d.alerts('host_root_filesystem').some((a) => (a.evidence as Record<string, unknown>).pid === ev.pid));
  });

  it('a shell that cds into the host\'s tree and execs nothing after it → cwd_outside_root (the addon\'s re-check, with events)', async () => {
    // The shell execs only before the cd (its own start and `sleep 1`); the cd and the blocking read
    // of a FIFO are builtins. With the poll an hour away, only the addon's re-check of the root and
    // working directory of a judged process can see it (every 1 s for a process that cannot call
    // setns, as this shell). Timed from the end of `sleep 1`.
    const fifo = `/tmp/hold-${mode.tag}`;
    const before = detections(await d.metrics(), 'cwd_outside_root');
    await eng.cli('exec', '-d', name, 'sh', '-c', `rm -f ${fifo}; mkfifo ${fifo}; sleep 1; cd /proc/${eng.pid()}/root/tmp && read x < ${fifo}`);
    const start = Date.now() + 1000;
    await waitFor(async () => detections(await d.metrics(), 'cwd_outside_root') > before, 'cwd_outside_root detection', 1000 + DETECT_WITHIN_MS + 500, 20);
    console.log(`      cd without exec: detected ${Date.now() - start} ms after the cd (${mode.name})`);
    const alert = d.alerts('cwd_outside_root').filter((a) => (a.container as { id: string } | null)?.id === id).pop() as Record<string, unknown>;
    const ev = alert.evidence as Record<string, unknown>;
    assert.equal(ev.cwd, '/tmp');
    assert.equal(ev.comm, 'sh');
    await eng.cli('exec', name, 'sh', '-c', `echo > ${fifo}`).catch(() => undefined);
  });

  it('an ordinary cd inside the container, and a chroot into its own filesystem, raise nothing', async () => {
    const before = await d.metrics();
    await eng.cli('exec', '-d', name, 'sh', '-c', 'mkdir -p /jail/bin && cp /bin/busybox /jail/bin/ && cd /tmp && exec chroot /jail /bin/busybox sleep 602');
    await eng.cli('exec', '-d', '-w', '/tmp', name, 'sleep', '603');
    await new Promise((r) => setTimeout(r, 2500));
    const after = await d.metrics();
    for (const r of ['host_root_filesystem', 'cwd_outside_root', 'host_mount_in_container', 'container_binary_on_host']) {
      assert.equal(detections(after, r), detections(before, r), r);
    }
  });
});
