// The inventory's version: what the breakout watch compares every second instead of walking every
// record to learn whether the addon's filter must be made again.
import { strict as assert } from 'node:assert';
import { ContainerInventory, type ContainerRecord } from '../../../src/model/inventory.js';

function record(id: string, pid: number): ContainerRecord {
  return {
    engine: 'docker', posture: {} as ContainerRecord['posture'], id, shortId: id.slice(0, 12), name: id, image: 'busybox', labels: {},
    inspect: { Id: id, State: { Pid: pid } } as ContainerRecord['inspect'], findings: [],
  };
}

describe('container inventory', () => {
  it('grows its version at every add, replace (a restart: a new init) and removal, and only then', () => {
    const inv = new ContainerInventory();
    const v0 = inv.version;
    inv.set(record('a'.repeat(64), 10));
    assert.equal(inv.version, v0 + 1, 'added');
    inv.set(record('a'.repeat(64), 11));
    assert.equal(inv.version, v0 + 2, 'replaced');
    assert.equal(inv.get('a'.repeat(64))?.inspect.State?.Pid, 11);
    inv.delete('b'.repeat(64));
    assert.equal(inv.version, v0 + 2, 'removing an unknown id changes nothing');
    inv.delete('a'.repeat(64));
    assert.equal(inv.version, v0 + 3, 'removed');
    assert.equal(inv.size, 0);
  });
});
