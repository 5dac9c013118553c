// Escapes that walk around the container attribution (issue 13, part A), for real, on the plain and
// the userns-remapped private engine: a static helper (test/fixtures/breakout/walkaround.c, gcc
// -static) bind-mounted into a --pid=host SYS_ADMIN container (--userns=host on the remapped engine:
// the container's root must be host root to join the host's namespaces) wears the runtime's clothes
// (a renamed shim and runc pair, a memfd named like runc's copy, an exec through a detached mount) or
// walks out of the container's cgroups (all of them then exec; the unified one only, no exec). Each
// escape is verified host-side (the process is in dockerd's mount namespace, as uid 0) before rootwatch
// is asked; each must be flagged for the right container within 3 s. A host process running the
// container's binary through /proc/<init>/root must be flagged too. Every breakout alert the daemon
// logs must be one of the staged escapes: the docker execs and starts around them stay silent.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { BREAKOUT_REASONS } from '../../src/breakout/types.js';

const HELPER_SRC = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/breakout/walkaround.c');
const DETECT_WITHIN_MS = 3000;

interface Escape {
  name: string;
  /** The shell command run in the container with `docker exec -d` ($W: the helper, $P: the pidfile). */
  command: string;
  /** Escapes a process event shows (an exec after the escape): caught at once with the connector alone. */
  evented: boolean;
  /** Host-side checks beyond "in the host's mount namespace as root". */
  verify?: (pid: number, containerId: string) => void;
}

const CONTAINER_ID = /[0-9a-f]{64}/;
let escapes = 0;

function cgroupLines(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
}

const ESCAPES: Escape[] = [
  {
    name: 'a renamed fake shim and runc pair',
    command: 'mkdir -p $D && cp $W $D/containerd-shim && cp $W $D/runc && exec $D/containerd-shim shim $H $P $D/runc enter $H $P',
    evented: false,
    verify: (pid) => {
      assert.match(readlinkSync(`/proc/${pid}/exe`), /^\/tmp\/s\d+\/runc$/);
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      assert.match(readlinkSync(`/proc/${ppid}/exe`), /^\/tmp\/s\d+\/containerd-shim$/);
    },
  },
  {
    name: 'a memfd exec named like runc\'s copy',
    command: 'exec $W memfd $H $P',
    evented: false,
    verify: (pid) => assert.match(readlinkSync(`/proc/${pid}/exe`), /^\/memfd:runc_cloned:\/proc\/self\/exe/),
  },
  {
    name: 'an exec through a detached mount (exe reads "/")',
    command: 'exec $W detached $H $P',
    evented: false,
    verify: (pid) => assert.equal(readlinkSync(`/proc/${pid}/exe`), '/'),
  },
  {
    name: 'leaving every cgroup of the container, then exec of the host\'s shell',
    command: 'exec $W leave-exec $H $P',
    evented: true,
    verify: (pid) => {
      assert.ok(!cgroupLines(pid).some((l) => CONTAINER_ID.test(l)), `left every hierarchy: ${cgroupLines(pid).join(' ')}`);
      assert.ok(!readlinkSync(`/proc/${pid}/exe`).includes('walkaround'), 'runs the host\'s shell');
    },
  },
  {
    name: 'leaving only the unified hierarchy, no exec',
    command: 'exec $W leave-unified $H $P',
    evented: false,
    verify: (pid, id) => {
      const lines = cgroupLines(pid);
      assert.ok(lines.some((l) => l === '0::/'), `unified: root: ${lines.join(' ')}`);
      assert.ok(lines.some((l) => !l.startsWith('0:') && l.includes(id)), 'still in the container\'s v1 cgroups');
    },
  },
];

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** Kill a staged escape and what it started (processes that left the container survive `docker rm`). */
function killTree(pid: number): void {
  for (const c of childrenOf(pid)) killTree(c);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

const modes = [
  { name: 'process connector with the 1 s poll', breakout: { interval: '1s' }, evented: false },
  { name: 'polling only, 1 s', breakout: { interval: '1s', process_events: 'off' }, evented: false },
  { name: 'process connector alone (poll of 1 h)', breakout: { interval: '1h' }, evented: true },
] as const;

for (const kind of ['default', 'userns'] as const) {
  describe(`escapes around the container attribution (issue 13) are caught (${kind} engine)`, function () {
    let eng: PrivateEngine;
    let dir = '';
    let id = '';
    const staged: number[] = [];

    before(async function () {
      requireDocker(this);
      dir = mkdtempSync('/tmp/rw-walk-');
      chmodSync(dir, 0o755);
      execFileSync('gcc', ['-static', '-O2', '-o', join(dir, 'walkaround'), HELPER_SRC]);
      eng = await engine(kind);
      id = await eng.cli('run', '-d', '--name', `walkaround-${kind}`, '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
        '--security-opt', 'seccomp=unconfined', ...(kind === 'userns' ? ['--userns=host'] : []),
        '-v', `${join(dir, 'walkaround')}:/wa:ro`, '-v', `${dir}:/out`, TEST_IMAGE, 'sleep', '3600');
    });

    after(async () => {
      for (const pid of staged) killTree(pid);
      await eng?.cli('rm', '-f', `walkaround-${kind}`).catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const mode of modes) {
      describe(mode.name, function () {
        let d: TestDaemon;
        before(async () => {
          d = await startTestDaemon(eng.dockerHost, { breakout: { ...mode.breakout, host_reference_pid: eng.pid() } });
          await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container audited');
          // The addon learns the containers' root filesystem devices at its filter refresh (every 1 s).
          await sleep(1200);
        });
        after(async () => {
          // Every breakout alert of this daemon is one of the staged escapes (or a process they started).
          const ours = new Set(staged.flatMap((p) => [p, ...(existsSync(`/proc/${p}`) ? childrenOf(p) : [])]));
          const alerts = d?.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule))) ?? [];
          // Process alerts only: hook and module alerts are host-wide (another suite's release_agent
          // test running at the same time on a shared machine shows here too).
          const foreign = alerts.filter((a) => typeof (a.evidence as Record<string, unknown>).pid === 'number' && !ours.has(Number((a.evidence as Record<string, unknown>).pid)));
          await d?.stop();
          assert.deepEqual(foreign.map((a) => [a.rule, (a.evidence as Record<string, unknown>).pid, (a.evidence as Record<string, unknown>).exe]), [], 'no breakout alert beside the staged escapes');
        });

        for (const esc of ESCAPES.filter((e) => !mode.evented || e.evented)) {
          it(`${esc.name} → host_namespace_process for the container`, async () => {
            const pidfile = `escape-${++escapes}.pid`;
            const command = esc.command.replaceAll('$D', `/tmp/s${escapes}`).replaceAll('$W', '/wa').replaceAll('$H', String(eng.pid())).replaceAll('$P', `/out/${pidfile}`);
            const started = Date.now();
            await eng.cli('exec', '-d', `walkaround-${kind}`, 'sh', '-c', command);
            let pid = 0;
            await waitFor(() => {
              const t = existsSync(join(dir, pidfile)) ? readFileSync(join(dir, pidfile), 'utf8').trim() : '';
              pid = Number(t);
              return pid > 0;
            }, 'the escape wrote its pid', 5000, 10);
            staged.push(pid);
            // Host-side: the escaped process is host root in dockerd's namespaces.
            for (const ns of ['mnt', 'net', 'uts', 'ipc']) assert.equal(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/${eng.pid()}/ns/${ns}`), ns);
            assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+0\s+0\s+0\s+0$/m);
            esc.verify?.(pid, id);
            const found = (): Record<string, unknown> | undefined =>
              d.alerts('host_namespace_process').find((a) => (a.evidence as Record<string, unknown>).pid === pid);
            await waitFor(() => found() !== undefined, `host_namespace_process for pid ${pid}`, DETECT_WITHIN_MS, 10);
            console.log(`      detected ${Date.now() - started} ms after docker exec -d`);
            const alert = found() as Record<string, unknown>;
            assert.equal((alert.container as { id: string }).id, id);
            assert.ok(((alert.evidence as Record<string, unknown>).host_namespaces as string[]).includes('mnt'));
          });
        }

        if (!mode.evented) {
          it('a host process running the container\'s binary through a bind mount of its upper directory → container_binary_on_host', async () => {
            const upper = await eng.cli('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id);
            // Named busybox: busybox picks its applet from argv[0]'s name.
            const file = `bb-${++escapes}/busybox`;
            await eng.cli('exec', `walkaround-${kind}`, 'sh', '-c', `mkdir /bb-${escapes} && cp /bin/busybox /${file}`);
            const bound = mkdtempSync('/tmp/rw-bound-');
            execFileSync('mount', ['--bind', upper, bound]);
            let child: ChildProcess | null = null;
            try {
              const started = Date.now();
              child = spawn(join(bound, file), ['sleep', '30'], { stdio: 'ignore' });
              const pid = child.pid as number;
              staged.push(pid);
              await waitFor(() => existsSync(`/proc/${pid}/exe`) && readlinkSync(`/proc/${pid}/exe`) === join(bound, file), 'exec done', 2000, 5);
              // Host-side: a path outside container storage, on the host's filesystem, the file in the upper directory.
              assert.equal(statSync(`/proc/${pid}/exe`).ino, statSync(join(upper, file)).ino);
              assert.notEqual(statSync(`/proc/${pid}/exe`).dev, statSync(`/proc/${await eng.cli('inspect', '-f', '{{.State.Pid}}', id)}/root/`).dev);
              const found = (): Record<string, unknown> | undefined =>
                d.alerts('container_binary_on_host').find((a) => (a.evidence as Record<string, unknown>).pid === pid);
              await waitFor(() => found() !== undefined, `container_binary_on_host for pid ${pid}`, DETECT_WITHIN_MS, 10);
              console.log(`      detected ${Date.now() - started} ms after the exec`);
              const alert = found() as Record<string, unknown>;
              assert.equal((alert.container as { id: string }).id, id);
              assert.equal((alert.evidence as Record<string, unknown>).matched_by, 'storage_directory');
            } finally {
              child?.kill('SIGKILL');
              await new Promise((r) => setTimeout(r, 100));
              execFileSync('umount', ['-l', bound]);
              rmSync(bound, { recursive: true, force: true });
            }
          });
        }

        it('a host process running the container\'s binary through /proc/<init>/root → container_binary_on_host', async () => {
          const initPid = Number(await eng.cli('inspect', '-f', '{{.State.Pid}}', id));
          let child: ChildProcess | null = null;
          try {
            const started = Date.now();
            child = spawn(`/proc/${initPid}/root/bin/busybox`, ['sleep', '30'], { stdio: 'ignore' });
            const pid = child.pid as number;
            staged.push(pid);
            await waitFor(() => existsSync(`/proc/${pid}/exe`) && readlinkSync(`/proc/${pid}/exe`) === '/bin/busybox', 'exec done', 2000, 5);
            // Host-side: the exe reads like a host path, but lies on the container's root filesystem.
            assert.equal(statSync(`/proc/${pid}/exe`).dev, statSync(`/proc/${initPid}/root/bin/busybox`).dev);
            assert.notEqual(statSync(`/proc/${pid}/exe`).dev, statSync(`/proc/${eng.pid()}/root/`).dev);
            const found = (): Record<string, unknown> | undefined =>
              d.alerts('container_binary_on_host').find((a) => (a.evidence as Record<string, unknown>).pid === pid);
            await waitFor(() => found() !== undefined, `container_binary_on_host for pid ${pid}`, DETECT_WITHIN_MS, 10);
            console.log(`      detected ${Date.now() - started} ms after the exec`);
            assert.equal(((found() as Record<string, unknown>).container as { id: string }).id, id);
          } finally {
            child?.kill('SIGKILL');
          }
        });
      });
    }
  });
}

// The runtime under load must not look like a walk-around: runc processes of the shim caught in the
// middle of an exec, container processes gone between two reads of the addon. Three shells run
// /bin/true as fast as they can in a container (about 1,000 execs a second on the reference machine)
// while the container is restarted under them; no breakout alert may follow.
describe('a container exec storm and restarts raise no walk-around alert (issue 13)', function () {
  let eng: PrivateEngine;
  let d: TestDaemon;

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
    d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', host_reference_pid: eng.pid() } });
  });

  after(async () => {
    await eng?.cli('rm', '-f', 'walkaround-storm').catch(() => undefined);
    await d?.stop();
  });

  it('three loops of /bin/true, twice, with a restart in between', async function () {
    this.timeout(120_000);
    const id = await eng.cli('run', '-d', '--name', 'walkaround-storm', TEST_IMAGE, 'sleep', '3600');
    await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'container audited');
    const execs = async (): Promise<number> => Number(/^rootwatch_process_events_total\{type="exec"\} (\d+)/m.exec(await d.metrics())?.[1] ?? 0);
    const before = await execs();
    for (let round = 0; round < 2; round++) {
      await eng.cli('exec', '-d', 'walkaround-storm', 'sh', '-c', 'loop() { while :; do /bin/true; done; }; loop & loop & loop & wait');
      await sleep(6000);
      await eng.cli('restart', '-t', '0', 'walkaround-storm');
      await sleep(1500);
    }
    // The storm happened (the connector counted it), and nothing was flagged.
    assert.ok((await execs()) - before > 3000, `exec events during the storm: ${(await execs()) - before}`);
    const alerts = d.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule)));
    assert.deepEqual(alerts.map((a) => [a.rule, (a.evidence as Record<string, unknown>).comm, (a.evidence as Record<string, unknown>).exe]), []);
  });
});
