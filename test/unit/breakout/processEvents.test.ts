import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { BATCH_DELAY_MS, CATCH_UP_MIN_MS, COUNTER_INTERVAL_MS, ProcessEventSource, type LossReason, type ProcessEventSink } from '../../../src/breakout/processEvents.js';
import { storagePrefixes } from '../../../src/breakout/containerScope.js';
import { createLogger } from '../../../src/log/logger.js';
import { PROC_EVENT_TYPES, type ProcConnectorAddon, type ProcEventBatch, type ProcEventName, type RawProcessCapture } from '../../../src/proc/procConnector.js';

/** Replays batches shaped like the real addon's drain() (cumulative counters). */
class FakeAddon implements ProcConnectorAddon {
  wake: (() => void) | null = null;
  queue: ProcEventBatch[] = [];
  prefixes: string[][] = [];
  open(cb: () => void): void { this.wake = cb; }
  drain(): ProcEventBatch { return this.queue.shift() ?? batch({}); }
  close(): void { this.wake = null; }
  setFilter(p: string[], runtimes: string[], hostNs: number[]): void { assert.ok(runtimes.includes('runc')); this.prefixes.push(p); this.hostNs.push(hostNs); }
  hostNs: number[][] = [];
}

interface Calls { examined: number[][]; examined2: Record<string, number>; scans: string[]; counted: Partial<Record<ProcEventName, number>>; dropped: number; lost: Partial<Record<LossReason, number>>; rechecked: Record<string, number> }

function setup(): { addon: FakeAddon; src: ProcessEventSource; calls: Calls } {
  const addon = new FakeAddon();
  const calls: Calls = { examined: [], examined2: {}, scans: [], counted: {}, dropped: 0, lost: {}, rechecked: {} };
  const sink: ProcessEventSink = {
    examine: (captured) => calls.examined.push(captured.map((c) => c.pid)),
    fullScan: (r) => calls.scans.push(r),
    counted: (t, n) => (calls.counted[t] = (calls.counted[t] ?? 0) + n),
    examined: (o, n) => (calls.examined2[o] = (calls.examined2[o] ?? 0) + n),
    dropped: (n) => (calls.dropped += n),
    lost: (why, n) => (calls.lost[why] = (calls.lost[why] ?? 0) + n),
    rechecked: (o, n) => (calls.rechecked[o] = (calls.rechecked[o] ?? 0) + n),
    recheckCpu: (s) => (calls.rechecked.cpu = (calls.rechecked.cpu ?? 0) + s),
    cached: (n) => (calls.rechecked.cached = n),
    filter: () => ({ storagePrefixes: [], hostNamespaces: [] }),
  };
  const src = new ProcessEventSource(sink, createLogger({ level: 'emerg', stream: new PassThrough() }), '/proc', () => ({ addon, reason: 'fake' }));
  assert.equal(src.start(), null);
  return { addon, src, calls };
}

function capture(pid: number): RawProcessCapture {
  return { pid, event: 'exec', ns: [0, 0, 0, 0, 0, 0, 0], status: '', cgroup: '0::/\n', stat: '', exe: '/bin/true', parentExe: '', cmdline: 'true\0' };
}

function batch(counts: Partial<Record<ProcEventName, number>>, more: Partial<ProcEventBatch> = {}): ProcEventBatch {
  const all = Object.fromEntries(PROC_EVENT_TYPES.map((t) => [t, counts[t] ?? 0])) as Record<ProcEventName, number>;
  const received = Object.values(all).reduce((a, b) => a + b, 0);
  return { snapshots: [], counts: all, snapshotsDropped: 0, overruns: 0, lost: 0, received, copied: 0, skipped: 0, unchanged: 0, gone: 0, lostExited: 0, lostExecUnread: 0, recheckPasses: 0, recheckReads: 0, recheckMoved: 0, recheckCpuSeconds: 0, realtimeReader: false, exitEvents: true, ...more };
}

describe('process event source', () => {
  it('counts events by type from the cumulative counters, once each', () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ exec: 2, fork: 1, exit: 1 }), batch({ exec: 5, fork: 1, exit: 3, other: 1 }));
    src.sync();
    src.sync();
    assert.deepEqual(calls.counted, { exec: 5, fork: 1, exit: 3, other: 1 });
    assert.deepEqual(calls.examined, []);
    src.stop();
  });

  it('judges the copies of a burst of wake-ups in one batch, a few milliseconds later', async () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ exec: 3 }, { snapshots: [capture(1), capture(2), capture(3)], copied: 3 }));
    addon.wake?.();
    addon.wake?.();
    addon.wake?.();
    assert.deepEqual(calls.examined, [], 'not judged synchronously');
    await new Promise((r) => setTimeout(r, BATCH_DELAY_MS + 20));
    assert.deepEqual(calls.examined, [[1, 2, 3]]);
    assert.equal(addon.queue.length, 0);
    src.stop();
  });

  it('counts what the addon did with each process, from its cumulative outcome counters', () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ exec: 10, fork: 10 }, { copied: 2, skipped: 15, unchanged: 1, gone: 2 }), batch({ exec: 11, fork: 10 }, { copied: 2, skipped: 15, unchanged: 1, gone: 3 }));
    src.sync();
    src.sync();
    assert.deepEqual(calls.examined2, { copied: 2, skipped: 15, unchanged: 1, gone: 3 });
    src.stop();
  });

  it('hands the copies to the detectors in one call per batch', () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ exec: 3 }, { snapshots: [capture(100), capture(200)], copied: 2, skipped: 1 }));
    src.sync();
    assert.deepEqual(calls.examined, [[100, 200]]);
    src.stop();
  });

  it("kernel losses are counted from the socket's drop counter, not from the number of overrun incidents, and trigger one full scan", () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ exec: 1 }, { overruns: 1, lost: 5000 }), batch({ exec: 2 }, { overruns: 1, lost: 5000 }));
    src.sync();
    src.sync();
    assert.equal(calls.dropped, 5000);
    assert.equal(calls.scans.length, 1);
    src.stop();
  });

  it('an overrun without a sequence gap still counts as a loss', () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({}, { overruns: 2 }));
    src.sync();
    assert.equal(calls.dropped, 2);
    assert.equal(calls.scans.length, 1);
    src.stop();
  });

  it('copies the ring had no room for are losses too: counted and followed by a full scan', () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ exec: 3000 }, { snapshotsDropped: 952 }));
    src.sync();
    assert.equal(calls.dropped, 952);
    assert.match(calls.scans[0] ?? '', /952 copies/);
    src.stop();
  });

  it('counts every loss by why, kernel drops and ring overflows also as dropped (the old counter)', () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ fork: 100 }, { overruns: 1, lost: 40, snapshotsDropped: 3, lostExited: 7 }), batch({ fork: 200 }, { overruns: 1, lost: 40, snapshotsDropped: 3, lostExited: 9, lostExecUnread: 12 }));
    src.sync();
    src.sync();
    assert.deepEqual(calls.lost, { kernel_dropped: 40, copy_ring_full: 3, exited_before_read: 9, exec_unread: 12 });
    assert.equal(calls.dropped, 43);
    src.stop();
  });

  it('processes that exited before they were read trigger a catch-up scan, at most one per CATCH_UP_MIN_MS however long the storm', async () => {
    const { addon, src, calls } = setup();
    for (let i = 1; i <= 5; i++) addon.queue.push(batch({ fork: 1000 * i }, { lostExited: 10 * i, gone: 900 * i }));
    src.sync();
    assert.deepEqual(calls.scans, [], 'scheduled, not run synchronously');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls.scans.length, 1);
    assert.match(calls.scans[0] ?? '', /10\+ container processes exited before they could be read/);
    for (let i = 0; i < 4; i++) src.sync();
    await new Promise((r) => setTimeout(r, CATCH_UP_MIN_MS / 2));
    assert.equal(calls.scans.length, 1, 'the next catch-up waits');
    await new Promise((r) => setTimeout(r, CATCH_UP_MIN_MS / 2 + 100));
    assert.equal(calls.scans.length, 2, 'one more after the period, for all the losses since');
    assert.equal(calls.lost.exited_before_read, 50);
    src.stop();
  });

  it('execs read too late (exec_unread) are counted but trigger no scan: the process is gone, what it started comes as events', async () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ exec: 3000 }, { lostExecUnread: 25, gone: 25 }));
    src.sync();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls.scans, []);
    assert.deepEqual(calls.lost, { exec_unread: 25 });
    src.stop();
  });

  it('gone processes that are not losses (host processes, vouched container forks) trigger nothing', async () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({ fork: 5000 }, { gone: 4000 }));
    src.sync();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls.scans, []);
    assert.deepEqual(calls.lost, {});
    src.stop();
  });

  it('counts the namespace re-check: processes read, and moved', () => {
    const { addon, src, calls } = setup();
    addon.queue.push(batch({}, { recheckPasses: 4, recheckReads: 40, recheckCpuSeconds: 0.25, namespaceCacheEntries: 40 }), batch({}, { recheckPasses: 8, recheckReads: 81, recheckMoved: 1, recheckCpuSeconds: 0.5, namespaceCacheEntries: 12 }));
    src.sync();
    src.sync();
    assert.deepEqual(calls.rechecked, { read: 81, moved: 1, cpu: 0.5, cached: 12 }, 'counters summed, the cache size as it is now');
    src.stop();
  });

  it('hands the storage prefixes to the addon at start and on its timer, only when they change', async () => {
    const addon = new FakeAddon();
    let prefixes = ['/var/lib/docker'];
    const sink = { examine() {}, fullScan() {}, counted() {}, examined() {}, dropped() {}, lost() {}, rechecked() {}, recheckCpu() {}, cached() {}, filter: () => ({ storagePrefixes: prefixes, hostNamespaces: [4026531841, 0, 0, 0, 0, 0, 0] }) };
    const src = new ProcessEventSource(sink, createLogger({ level: 'emerg', stream: new PassThrough() }), '/proc', () => ({ addon, reason: 'fake' }));
    assert.equal(src.start(), null);
    await new Promise((r) => setTimeout(r, COUNTER_INTERVAL_MS + 100));
    prefixes = ['/var/lib/docker', '/srv/zfs/a', ''];
    await new Promise((r) => setTimeout(r, COUNTER_INTERVAL_MS + 100));
    src.stop();
    assert.deepEqual(addon.prefixes, [[], ['/var/lib/docker'], ['/srv/zfs/a', '/var/lib/docker']]);
    assert.deepEqual(addon.hostNs.at(-1), [4026531841, 0, 0, 0, 0, 0, 0]);
  });

  it('says why when the addon is unavailable', () => {
    const src = new ProcessEventSource({ examine() {}, fullScan() {}, counted() {}, examined() {}, dropped() {}, lost() {}, rechecked() {}, recheckCpu() {}, cached() {}, filter: () => ({ storagePrefixes: [], hostNamespaces: [] }) }, createLogger({ level: 'emerg', stream: new PassThrough() }), '/proc', () => ({ addon: null, reason: 'native addon not built' }));
    assert.equal(src.start(), 'native addon not built');
    assert.equal(src.active, false);
  });
});

describe('storage prefixes for the addon filter', () => {
  it('is the data root plus storage paths outside it', () => {
    assert.deepEqual(
      storagePrefixes('/var/lib/docker/', ['/var/lib/docker/overlay2/abc/merged', '/srv/zfs/graph/abc', '/var/lib/docker-other/x']),
      ['/var/lib/docker', '/srv/zfs/graph/abc', '/var/lib/docker-other/x'],
    );
  });

  it('without a data root (posture unknown), the storage paths themselves', () => {
    assert.deepEqual(storagePrefixes(null, ['/a/merged', '/a/diff']), ['/a/merged', '/a/diff']);
  });

  it('a data root of "/" is not a prefix (it would copy every process)', () => {
    assert.deepEqual(storagePrefixes('/', ['/var/lib/docker/overlay2/x/merged']), ['/var/lib/docker/overlay2/x/merged']);
  });
});
