import { strict as assert } from 'node:assert';
import { PENDING_MAX_AGE_MS, PENDING_MAX_IDS, PENDING_MAX_PER_ID, PendingCopies } from '../../../src/breakout/pendingCopies.js';
import type { RawProcessCapture } from '../../../src/proc/procConnector.js';

const copy = (pid: number): RawProcessCapture => ({ pid, event: 'exec', ns: [1, 2, 3, 4, 5, 6, 7], status: 'Name:\tsh\n', cgroup: '0::/x\n', stat: '', exe: '/bin/sh', parentExe: '', cmdline: 'sh\0' });
const id = (n: number): string => n.toString(16).padStart(64, '0');

describe('copies waiting for their container', () => {
  it('hands over the copies of a container once it is known, in arrival order, once', () => {
    const p = new PendingCopies();
    p.add(id(1), copy(10), 0);
    p.add(id(2), copy(20), 0);
    p.add(id(1), copy(11), 1);
    assert.deepEqual(p.take(() => false, 10), []);
    assert.deepEqual(p.take((c) => c === id(1), 20).map((c) => c.pid), [10, 11]);
    assert.deepEqual(p.take((c) => c === id(1), 30), []);
    assert.equal(p.size, 1);
  });

  it('drops copies whose container never becomes known, and counts them', () => {
    const p = new PendingCopies();
    p.add(id(1), copy(10), 0);
    p.add(id(1), copy(11), 0);
    assert.deepEqual(p.take(() => false, PENDING_MAX_AGE_MS + 1), []);
    assert.equal(p.size, 0);
    assert.equal(p.discarded, 2);
  });

  it('is bounded in containers and in copies per container', () => {
    const p = new PendingCopies();
    for (let i = 0; i < PENDING_MAX_IDS + 10; i++) p.add(id(i), copy(i), 0);
    for (let i = 0; i < PENDING_MAX_PER_ID + 5; i++) p.add(id(0), copy(1000 + i), 0);
    assert.equal(p.size, PENDING_MAX_IDS);
    assert.equal(p.discarded, 10 + 6);
    assert.equal(p.take((c) => c === id(0), 1).length, PENDING_MAX_PER_ID);
  });
});
