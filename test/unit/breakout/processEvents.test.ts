import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { ProcessEventSource, type ProcessEventSink } from '../../../src/breakout/processEvents.js';
import { createLogger } from '../../../src/log/logger.js';
import { PROC_EVENT, RECORD_INTS, type ProcConnectorAddon, type ProcEventBatch } from '../../../src/proc/procConnector.js';

function rec(type: number, pid: number, tgid: number, a = 0, b = 0): number[] {
  return [type | 0, pid, tgid, a, b, 0];
}

class FakeAddon implements ProcConnectorAddon {
  wake: (() => void) | null = null;
  queue: ProcEventBatch[] = [];
  open(cb: () => void): void { this.wake = cb; }
  drain(): ProcEventBatch { return this.queue.shift() ?? { records: new Int32Array(0), dropped: 0, overruns: 0, lost: 0, received: 0, snapshots: [], snapshotsDropped: 0 }; }
  close(): void { this.wake = null; }
}

function setup(): { addon: FakeAddon; src: ProcessEventSource; calls: { examined: number[][]; scans: string[]; counted: Record<string, number>; dropped: number } } {
  const addon = new FakeAddon();
  const calls = { examined: [] as number[][], scans: [] as string[], counted: {} as Record<string, number>, dropped: 0 };
  const sink: ProcessEventSink = {
    examine: (pids) => calls.examined.push([...pids]),
    fullScan: (r) => calls.scans.push(r),
    counted: (t, n) => (calls.counted[t] = (calls.counted[t] ?? 0) + n),
    dropped: (n) => (calls.dropped += n),
  };
  const src = new ProcessEventSource(sink, createLogger({ level: 'emerg', stream: new PassThrough() }), () => ({ addon, reason: 'fake' }));
  assert.equal(src.start(), null);
  return { addon, src, calls };
}

function batch(records: number[][], dropped = 0, overruns = 0, lost = 0): ProcEventBatch {
  return { records: Int32Array.from(records.flat()), dropped, overruns, lost, received: records.length, snapshots: [], snapshotsDropped: 0 };
}

describe('process event source', () => {
  it('examines exec, uid and fork (child and parent) processes once per batch, by tgid', () => {
    const { addon, calls } = setup();
    addon.queue.push(batch([
      rec(PROC_EVENT.exec, 101, 100),
      rec(PROC_EVENT.fork, 200, 200, 100, 100),
      rec(PROC_EVENT.uid, 300, 300, 0, 0),
      rec(PROC_EVENT.exit, 200, 200),
      rec(PROC_EVENT.exec, 100, 100),
    ]));
    addon.wake?.();
    assert.deepEqual(calls.examined, [[100, 200, 300]]);
    assert.deepEqual(calls.counted, { exec: 2, fork: 1, uid: 1, exit: 1 });
    assert.equal(RECORD_INTS, 6);
  });

  it('exit events have the sign bit set and still count as exit', () => {
    const { addon, calls } = setup();
    addon.queue.push(batch([rec(PROC_EVENT.exit, 5, 5)]));
    addon.wake?.();
    assert.deepEqual(calls.counted, { exit: 1 });
    assert.deepEqual(calls.examined, []);
  });

  it('lost events (ring drops, socket overruns) are counted once and trigger a full scan', () => {
    const { addon, calls } = setup();
    addon.queue.push(batch([rec(PROC_EVENT.exec, 1, 1)], 10, 1));
    addon.wake?.();
    addon.queue.push(batch([rec(PROC_EVENT.exec, 2, 2)], 10, 1));
    addon.wake?.();
    assert.equal(calls.dropped, 11);
    assert.equal(calls.scans.length, 1);
  });

  it('kernel losses are counted from sequence gaps, not from the number of overrun incidents', () => {
    const { addon, calls } = setup();
    addon.queue.push(batch([rec(PROC_EVENT.exec, 1, 1)], 0, 1, 5000));
    addon.wake?.();
    assert.equal(calls.dropped, 5000);
    assert.equal(calls.scans.length, 1);
  });

  it('a burst beyond the per-batch cap is handed to a full scan instead of blocking', () => {
    const { addon, calls } = setup();
    addon.queue.push(batch(Array.from({ length: 5000 }, (_, i) => rec(PROC_EVENT.exec, 1000 + i, 1000 + i))));
    addon.wake?.();
    assert.equal(calls.examined[0]?.length, 4096);
    assert.equal(calls.dropped, 5000 - 4096);
    assert.equal(calls.scans.length, 1);
  });

  it('says why when the addon is unavailable', () => {
    const src = new ProcessEventSource({ examine() {}, fullScan() {}, counted() {}, dropped() {} }, createLogger({ level: 'emerg', stream: new PassThrough() }), () => ({ addon: null, reason: 'native addon not built' }));
    assert.equal(src.start(), 'native addon not built');
    assert.equal(src.active, false);
  });
});
