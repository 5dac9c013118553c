import { strict as assert } from 'node:assert';
import { parseGoBool, parseSecurityOpt, splitSecurityOpt, summarizeSeccomp } from '../../../src/rules/securityOpt.js';
import { inspect } from './fixtures.js';

describe('SecurityOpt parsing', () => {
  it('accepts "=" and the deprecated ":" separator', () => {
    assert.equal(parseSecurityOpt(['seccomp=unconfined']).seccomp, 'unconfined');
    assert.equal(parseSecurityOpt(['seccomp:unconfined']).seccomp, 'unconfined');
    assert.equal(parseSecurityOpt(['apparmor:unconfined']).apparmor, 'unconfined');
    assert.deepEqual(parseSecurityOpt(['label:disable']).labels, ['disable']);
  });

  it('splits on the first "=" only, so label=type:spc_t keeps its colon', () => {
    assert.deepEqual(splitSecurityOpt('label=type:spc_t'), ['label', 'type:spc_t']);
    assert.deepEqual(parseSecurityOpt(inspect('label-type-spc').HostConfig?.SecurityOpt).labels, ['type:spc_t']);
    // Colon form of the same: key is before the first colon, the rest is the value.
    assert.deepEqual(parseSecurityOpt(['label:type:spc_t']).labels, ['type:spc_t']);
  });

  it('keeps an inlined seccomp JSON profile whole (recorded from the CLI)', () => {
    const opt = inspect('seccomp-custom-json').HostConfig?.SecurityOpt ?? [];
    const parsed = parseSecurityOpt(opt);
    assert.ok(parsed.seccomp?.startsWith('{"defaultAction":"SCMP_ACT_ALLOW"'));
    assert.deepEqual(summarizeSeccomp(parsed.seccomp), { kind: 'custom', defaultAction: 'SCMP_ACT_ALLOW', syscallRules: 0 });
    assert.deepEqual(parsed.invalid, []);
  });

  it('reads no-new-privileges in every form; =false means off', () => {
    assert.equal(parseSecurityOpt(['no-new-privileges']).noNewPrivileges, true);
    assert.equal(parseSecurityOpt(['no-new-privileges=true']).noNewPrivileges, true);
    assert.equal(parseSecurityOpt(inspect('nnp-colon-true').HostConfig?.SecurityOpt).noNewPrivileges, true);
    assert.equal(parseSecurityOpt(inspect('nnp-false').HostConfig?.SecurityOpt).noNewPrivileges, false);
    assert.equal(parseSecurityOpt(['no-new-privileges=1']).noNewPrivileges, true);
    assert.equal(parseSecurityOpt(['no-new-privileges=F']).noNewPrivileges, false);
    assert.equal(parseSecurityOpt([]).noNewPrivileges, null);
    assert.deepEqual(parseSecurityOpt(['no-new-privileges=maybe']).invalid, ['no-new-privileges=maybe']);
  });

  it('bare writable-cgroups and disable, as the daemon accepts them', () => {
    assert.equal(parseSecurityOpt(['writable-cgroups']).writableCgroups, true);
    assert.equal(parseSecurityOpt(['writable-cgroups=false']).writableCgroups, false);
    assert.deepEqual(parseSecurityOpt(inspect('api-secopt-bare-disable').HostConfig?.SecurityOpt).labels, ['disable']);
  });

  it('compares keys case-sensitively and records what the daemon would reject', () => {
    const p = parseSecurityOpt(['Seccomp=unconfined', 'bogus', 'systempaths=unconfined', 5]);
    assert.equal(p.seccomp, null);
    assert.deepEqual(p.invalid, ['Seccomp=unconfined', 'bogus', 'systempaths=unconfined', '5']);
  });

  it('last value wins, like the daemon', () => {
    assert.equal(parseSecurityOpt(['seccomp=unconfined', 'seccomp=builtin']).seccomp, 'builtin');
    assert.equal(parseSecurityOpt(['no-new-privileges', 'no-new-privileges=false']).noNewPrivileges, false);
  });

  it('null, non-arrays and empty lists parse to "nothing set"', () => {
    for (const v of [null, undefined, 'seccomp=unconfined', {}, []]) {
      const p = parseSecurityOpt(v);
      assert.equal(p.seccomp, null);
      assert.equal(p.noNewPrivileges, null);
      assert.deepEqual(p.labels, []);
    }
  });

  it('Go bools', () => {
    assert.equal(parseGoBool('True'), true);
    assert.equal(parseGoBool('0'), false);
    assert.equal(parseGoBool('yes'), null);
  });

  it('seccomp summaries', () => {
    assert.equal(summarizeSeccomp('unconfined').kind, 'unconfined');
    assert.equal(summarizeSeccomp('builtin').kind, 'builtin');
    assert.equal(summarizeSeccomp(null).kind, 'unset');
    assert.deepEqual(summarizeSeccomp('/etc/profile.json'), { kind: 'custom' });
    assert.deepEqual(summarizeSeccomp('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{}]}'), {
      kind: 'custom',
      defaultAction: 'SCMP_ACT_ERRNO',
      syscallRules: 1,
    });
  });
});
