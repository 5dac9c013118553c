import { strict as assert } from 'node:assert';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  addedCapabilities,
  effectiveCapabilities,
  normalizeCapabilities,
  normalizeCapability,
} from '../../../src/rules/capabilities.js';
import { inspect } from './fixtures.js';

describe('capabilities', () => {
  it('normalises the forms inspect can hold', () => {
    assert.equal(normalizeCapability('sys_admin'), 'CAP_SYS_ADMIN');
    assert.equal(normalizeCapability('SYS_ADMIN'), 'CAP_SYS_ADMIN');
    assert.equal(normalizeCapability('CAP_SYS_ADMIN'), 'CAP_SYS_ADMIN');
    assert.equal(normalizeCapability('cap_sys_admin'), 'CAP_SYS_ADMIN');
    assert.equal(normalizeCapability('Net_Admin'), 'CAP_NET_ADMIN');
    assert.equal(normalizeCapability('all'), 'ALL');
    assert.equal(normalizeCapability('ALL'), 'ALL');
    assert.equal(normalizeCapability(''), null);
    assert.equal(normalizeCapability(42), null);
    assert.equal(normalizeCapability(null), null);
  });

  it('de-duplicates and ignores junk lists', () => {
    assert.deepEqual(normalizeCapabilities(['sys_admin', 'CAP_SYS_ADMIN', 7, null, 'kill']), ['CAP_SYS_ADMIN', 'CAP_KILL']);
    assert.deepEqual(normalizeCapabilities(null), []);
    assert.deepEqual(normalizeCapabilities('SYS_ADMIN'), []);
  });

  it("has Docker's 14 default capabilities and 41 known ones", () => {
    assert.equal(DEFAULT_CAPABILITIES.size, 14);
    assert.ok(DEFAULT_CAPABILITIES.has('CAP_NET_RAW'));
    assert.ok(!DEFAULT_CAPABILITIES.has('CAP_SYS_ADMIN'));
    assert.equal(ALL_CAPABILITIES.length, 41);
    for (const c of DEFAULT_CAPABILITIES) assert.ok(ALL_CAPABILITIES.includes(c), c);
  });

  it('default container: the default set, nothing added', () => {
    const eff = effectiveCapabilities(inspect('default').HostConfig);
    assert.deepEqual([...eff.caps].sort(), [...DEFAULT_CAPABILITIES].sort());
    assert.deepEqual(addedCapabilities(eff), []);
  });

  it('privileged: every capability whatever CapAdd/CapDrop say', () => {
    const eff = effectiveCapabilities({ Privileged: true, CapDrop: ['ALL'] });
    assert.equal(eff.privileged, true);
    assert.equal(eff.caps.size, 41);
  });

  it('lower-case "all" with a drop (recorded via the API): all but the dropped one', () => {
    const hc = inspect('api-cap-all-lower').HostConfig;
    assert.deepEqual(hc?.CapAdd, ['all']);
    const eff = effectiveCapabilities(hc);
    assert.equal(eff.addAll, true);
    assert.equal(eff.caps.size, 40);
    assert.ok(!eff.caps.has('CAP_SYS_RESOURCE'));
    assert.ok(eff.caps.has('CAP_SYS_ADMIN'));
  });

  it('drop ALL then re-add defaults: only those, nothing "added"', () => {
    const eff = effectiveCapabilities(inspect('cap-drop-all-readd-default').HostConfig);
    assert.deepEqual([...eff.caps].sort(), ['CAP_CHOWN', 'CAP_SETUID']);
    assert.deepEqual(addedCapabilities(eff), []);
  });

  it('hardened (drop ALL): empty set', () => {
    assert.equal(effectiveCapabilities(inspect('hardened').HostConfig).caps.size, 0);
  });

  it('drop of a default plus add of lower-case names', () => {
    const eff = effectiveCapabilities(inspect('api-cap-lowercase').HostConfig);
    assert.ok(!eff.caps.has('CAP_NET_RAW'));
    assert.deepEqual(addedCapabilities(eff), ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
  });

  it('a legacy API 1.40 Capabilities list replaces the defaults', () => {
    const eff = effectiveCapabilities({ Capabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] });
    assert.deepEqual([...eff.caps].sort(), ['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  });

  it('never throws on junk HostConfig', () => {
    for (const hc of [undefined, null, {}, { CapAdd: 'SYS_ADMIN' }, { CapAdd: [1, {}], CapDrop: {} }] as never[]) {
      assert.doesNotThrow(() => effectiveCapabilities(hc));
    }
    assert.equal(effectiveCapabilities({ CapAdd: 'SYS_ADMIN' } as never).caps.has('CAP_SYS_ADMIN'), false);
  });
});
