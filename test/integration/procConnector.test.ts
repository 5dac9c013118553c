// The process-connector addon on its own (no Docker needed): what it counts, what it copies and
// what it leaves alone. Copying is the cost, so the filter is tested against real execs.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProcConnector, type ProcConnectorAddon, type ProcEventBatch } from '../../src/proc/procConnector.js';
import { waitFor } from '../harness/waitFor.js';
import { memoryReducingCollect } from '../../src/runtime/memory.js';
import { RUNTIME_EXECUTABLES } from '../../src/breakout/runtimeHelpers.js';

/** The addon, or (outside CI only) a skip of the suite: CI must never skip these. */
function requireAddon(ctx: Mocha.Context): ProcConnectorAddon {
  const loaded = loadProcConnector();
  if (!loaded.addon) {
    if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') assert.fail(`native addon unavailable in CI: ${loaded.reason}`);
    console.error(`\n!!! SKIPPING process connector addon tests: ${loaded.reason} !!!\n`);
    ctx.skip();
  }
  return loaded.addon as ProcConnectorAddon;
}

/** A copy of /bin/sh in `dir`: run from there, a host exec whose path names the storage prefix `dir`. */
function shellIn(dir: string): string {
  copyFileSync('/bin/sh', join(dir, 'sh'));
  spawnSync('chmod', ['755', join(dir, 'sh')]);
  return join(dir, 'sh');
}

describe('process connector addon', function () {
  let addon: ProcConnectorAddon;
  let dir: string;
  let wakes = 0;

  before(function () {
    addon = requireAddon(this);
    dir = mkdtempSync(join(tmpdir(), 'rwt-pc-'));
    // A shell under the prefix: `sh -c 'sleep 0.1; true' marker` stays that shell for 100 ms, so its
    // command line is read whole (`sh -c 'sleep 0.1'` would exec sleep at once, and a process that is
    // exiting or in the middle of another exec shows an empty one).
    shellIn(dir);
    addon.setFilter([dir], [...RUNTIME_EXECUTABLES], []);
    addon.open(() => wakes++);
  });

  after(() => {
    addon?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Drain until `done` holds for the accumulated batches (the reader thread runs on its own). */
  async function collect(done: (snaps: ProcEventBatch['snapshots'], last: ProcEventBatch) => boolean): Promise<{ snaps: ProcEventBatch['snapshots']; last: ProcEventBatch }> {
    const snaps: ProcEventBatch['snapshots'] = [];
    let last = addon.drain();
    snaps.push(...last.snapshots);
    await waitFor(() => {
      last = addon.drain();
      snaps.push(...last.snapshots);
      return done(snaps, last);
    }, 'the expected process events', 5000);
    return { snaps, last };
  }

  it('copies a host process that runs a file under a storage prefix, and wakes JavaScript for it', async () => {
    const before = addon.drain();
    const wakesBefore = wakes;
    const r = spawnSync(join(dir, 'sh'), ['-c', 'sleep 0.1; true', 'marker-arg']);
    assert.equal(r.status, 0);
    // The exec's copy: the fork's copy, when the reader gets to the fork while the child is already
    // in the middle of its exec, shows the new exe with an empty command line (and is a copy too).
    const { snaps } = await collect((s) => s.some((c) => c.pid === r.pid && c.event === 'exec' && c.exe.startsWith(dir)));
    const c = snaps.find((x) => x.pid === r.pid && x.event === 'exec' && x.exe.startsWith(dir));
    assert.ok(c, 'the copy of the process');
    assert.match(c.cmdline, /marker-arg/);
    assert.match(c.stat, new RegExp(`^${r.pid} `));
    assert.equal(c.status, '', 'a host process is copied lightly (no status, no namespaces)');
    await waitFor(() => wakes > wakesBefore, 'a wake-up for the copy', 2000);
    assert.ok(addon.drain().copied > before.copied);
  });

  it('counts but does not copy host processes that name no container and no storage prefix', async () => {
    const before = addon.drain();
    const pids: number[] = [];
    for (let i = 0; i < 20; i++) pids.push(spawnSync('/bin/true').pid ?? -1);
    const { snaps, last } = await collect((_, b) => b.counts.exec - before.counts.exec >= 20);
    assert.deepEqual(snaps.filter((c) => pids.includes(c.pid)), [], 'no copy of a plain host /bin/true');
    assert.ok(last.skipped - before.skipped + (last.gone - before.gone) >= 20, 'each exec skipped (or already gone)');
    assert.ok(last.counts.fork - before.counts.fork >= 20, 'forks counted');
    // Exit events are only subscribed where the kernel cannot filter them out (before Linux 6.6).
    if (last.exitEvents) assert.ok(last.counts.exit - before.counts.exit >= 20, 'exits counted');
    else assert.equal(last.counts.exit - before.counts.exit, 0, 'exits filtered out by the kernel');
  });

  it('follows new prefixes: with none set, the storage binary is no longer copied', async () => {
    addon.setFilter([], [...RUNTIME_EXECUTABLES], []);
    try {
      const before = addon.drain();
      const r = spawnSync(join(dir, 'sh'), ['-c', ':']);
      const { snaps } = await collect((_, b) => b.counts.exec > before.counts.exec && b.skipped + b.gone > before.skipped + before.gone);
      assert.deepEqual(snaps.filter((c) => c.pid === r.pid), []);
    } finally {
      addon.setFilter([dir], [...RUNTIME_EXECUTABLES], []);
    }
  });

  it('rejects a filter that is not three arrays with a type error', () => {
    assert.throws(() => (addon.setFilter as (x: unknown, y: unknown, z: unknown) => void)('/var/lib/docker', [], []), /setFilter/);
  });
});

describe('process connector addon: mount-table watch (poll on /proc/<pid>/mountinfo)', function () {
  it('reports a process whose mount namespace gained a mount, once, and not one whose table is unchanged', async function () {
    const { addon } = loadProcConnector();
    if (!addon?.watchMounts || !addon.mountsChanged) {
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') assert.fail('native addon without the mount watch in CI');
      this.skip();
      return;
    }
    // Two processes in mount namespaces of their own; only the first mounts something, after a second.
    const mounter = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'sleep 1; mount -t tmpfs rwt /mnt; sleep 5'], { stdio: 'ignore' });
    const quiet = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '5'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(addon.watchMounts([mounter.pid as number, quiet.pid as number, 999_999_999]), 2, 'a pid that does not exist is not watched');
      assert.deepEqual(addon.mountsChanged(), [], 'nothing changed since the watch began');
      await waitFor(() => {
        const changed = addon.mountsChanged?.() ?? [];
        if (changed.length === 0) return false;
        assert.deepEqual(changed, [mounter.pid]);
        return true;
      }, 'the mount reported', 5000, 50);
      assert.deepEqual(addon.mountsChanged(), [], 'reported once per change');
      assert.equal(addon.watchMounts([]), 0);
    } finally {
      mounter.kill();
      quiet.kill();
    }
  });
});

describe('process connector addon: trimNativeHeap (glibc malloc_trim)', function () {
  it('hands back the arena pages that freed native allocations left', function () {
    const { addon } = loadProcConnector();
    if (!addon?.trimNativeHeap) {
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') assert.fail('native addon without trimNativeHeap in CI');
      this.skip();
    }
    // 20,000 small buffers (malloc'd by node, below glibc's mmap threshold), one in ten kept: the
    // freed ones leave whole pages unused inside the arena, which only malloc_trim() returns.
    let buffers: Buffer[] | null = Array.from({ length: 20_000 }, () => Buffer.alloc(2048, 1));
    const kept = buffers.filter((_, i) => i % 10 === 0);
    buffers = null;
    memoryReducingCollect();
    const before = process.memoryUsage().rss;
    assert.equal(addon.trimNativeHeap(), true);
    const after = process.memoryUsage().rss;
    assert.equal(kept.length, 2000);
    assert.ok(before - after > 16 * 2 ** 20, `RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB`);
  });
});

describe('process connector addon under a fork storm, with a tiny socket buffer', function () {
  let addon: ProcConnectorAddon;

  before(function () {
    addon = requireAddon(this);
    addon.setFilter([], [...RUNTIME_EXECUTABLES], []);
    // The kernel's smallest receive buffer holds a couple of events: a storm from another CPU overruns it.
    // Without real-time priority: a real-time reader keeps up with the storm even through it.
    addon.open(() => undefined, 1, false);
  });

  after(() => addon?.close());

  it('accounts for every fork: counted, or lost (from the socket drop counter) and reported for a full scan', async () => {
    const before = addon.drain();
    const forks = 4000;
    // Four loops of `( : ) &` in one shell session; `wait` every 500 keeps the pid count bounded.
    const script = 'storm() { i=0; while [ $i -lt 1000 ]; do ( : ) & i=$((i+1)); if [ $((i % 500)) -eq 0 ]; then wait; fi; done; wait; }; storm & storm & storm & storm & wait';
    const r = spawnSync('/bin/sh', ['-c', script]);
    assert.equal(r.status, 0);
    let last = addon.drain();
    await waitFor(() => {
      last = addon.drain();
      return last.counts.fork - before.counts.fork + (last.lost - before.lost) >= forks;
    }, 'forks counted + lost to reach the number of forks', 5000);
    const counted = last.counts.fork - before.counts.fork;
    const lost = last.lost - before.lost;
    assert.ok(last.overruns > before.overruns, `the tiny buffer overran (counted ${counted}, lost ${lost})`);
    assert.ok(lost > 0, 'drops were read from the socket drop counter');
    // Lost counts every dropped event (forks and the rest), not one per overrun incident.
    assert.ok(lost > last.overruns - before.overruns, `lost ${lost} vs ${last.overruns - before.overruns} overruns`);
  });
});

describe('process connector addon: reads through paths.procfs (procRoot)', function () {
  let addon: ProcConnectorAddon;
  let dir: string;
  let boundProc: string;

  before(function () {
    addon = requireAddon(this);
    dir = mkdtempSync(join(tmpdir(), 'rwt-pcroot-'));
    shellIn(dir);
    // The host's procfs somewhere else, as in a deployment that mounts it at /host/proc.
    boundProc = join(dir, 'host', 'proc');
    mkdirSync(boundProc, { recursive: true });
    const m = spawnSync('mount', ['--bind', '/proc', boundProc]);
    assert.equal(m.status, 0, `mount --bind /proc: ${m.stderr}`);
    mkdirSync(join(dir, 'empty'));
  });

  after(() => {
    addon?.close();
    if (boundProc) spawnSync('umount', [boundProc]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One run of the shell under the prefix with the addon open on `procRoot`: its copies and the counters' growth. */
  async function runUnder(procRoot: string): Promise<{ copies: ProcEventBatch['snapshots']; gone: number; execs: number }> {
    addon.setFilter([dir], [...RUNTIME_EXECUTABLES], []);
    addon.open(() => undefined, undefined, undefined, procRoot);
    try {
      const before = addon.drain();
      const r = spawnSync(join(dir, 'sh'), ['-c', 'sleep 0.1; true', 'marker-arg']);
      assert.equal(r.status, 0);
      const copies: ProcEventBatch['snapshots'] = [];
      let last = before;
      // Until the exec of the shell is accounted for: copied, or found gone.
      await waitFor(() => {
        last = addon.drain();
        copies.push(...last.snapshots.filter((c) => c.pid === r.pid));
        return copies.some((c) => c.event === 'exec') || (last.counts.exec > before.counts.exec && last.gone > before.gone);
      }, 'the exec of the shell under the prefix accounted for', 5000);
      return { copies, gone: last.gone - before.gone, execs: last.counts.exec - before.counts.exec };
    } finally {
      addon.close();
    }
  }

  it('copies a process through a bind mount of the host\'s /proc given as procRoot (a trailing slash is fine)', async () => {
    const { copies } = await runUnder(`${boundProc}/`);
    const c = copies.find((x) => x.event === 'exec');
    assert.ok(c, 'the copy of the exec, read through the bind mount');
    assert.match(c.cmdline, /marker-arg/);
    assert.ok(c.exe.startsWith(dir), c.exe);
  });

  it('reads no process where procRoot holds none: the same exec is counted and gone, never copied from /proc', async () => {
    const { copies, gone, execs } = await runUnder(join(dir, 'empty'));
    assert.deepEqual(copies, [], 'nothing copied: the addon did not fall back to /proc');
    assert.ok(execs >= 1 && gone >= 1, `exec counted (${execs}) and found gone (${gone})`);
  });

  it('refuses a relative or an overlong procRoot with a TypeError, and stays closed', () => {
    assert.throws(() => addon.open(() => undefined, undefined, undefined, 'proc'), /procRoot must be an absolute path/);
    assert.throws(() => addon.open(() => undefined, undefined, undefined, `/${'x'.repeat(300)}`), /procRoot must be an absolute path/);
    // Nothing was opened: a valid open now succeeds.
    addon.open(() => undefined, undefined, undefined, '/proc');
    addon.close();
  });
});
