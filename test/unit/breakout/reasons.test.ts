import { strict as assert } from 'node:assert';
import { BREAKOUT_REASON_CATALOGUE, BREAKOUT_REASONS, reasonRecord } from '../../../src/breakout/reasons.js';
import { breakoutFinding } from '../../../src/breakout/breakoutWatch.js';
import { isSeverity } from '../../../src/model/finding.js';

describe('breakout reason catalogue', () => {
  it('one record per reason, snake_case ids, complete records', () => {
    assert.deepEqual(BREAKOUT_REASON_CATALOGUE.map((r) => r.id), BREAKOUT_REASONS);
    assert.equal(new Set(BREAKOUT_REASONS).size, BREAKOUT_REASONS.length);
    for (const r of BREAKOUT_REASON_CATALOGUE) {
      assert.match(r.id, /^[a-z]+(_[a-z]+)*$/);
      assert.ok(isSeverity(r.severity), r.id);
      assert.ok(['active', 'event'].includes(r.kind), r.id);
      assert.match(r.attack.id, /^T\d{4}(\.\d{3})?$/, r.id);
      assert.ok(r.attack.name && r.what.length > 40 && r.action.length > 20 && r.detector.length > 10, r.id);
    }
  });

  it('the public reason ids never change (new ones are appended)', () => {
    assert.deepEqual(BREAKOUT_REASONS, [
      'host_namespace_process', 'host_root_process', 'capability_escalation', 'kernel_helper_from_container', 'container_binary_on_host',
      'tripwire_container_path', 'tripwire_changed', 'kernel_module_loaded', 'host_root_filesystem', 'cwd_outside_root',
      'host_mount_in_container', 'host_process_traced',
    ]);
  });

  it('not all critical: a hook change and a module load are weighed on their own, and are events', () => {
    assert.equal(reasonRecord('tripwire_changed').severity, 'high');
    assert.equal(reasonRecord('kernel_module_loaded').severity, 'medium');
    assert.deepEqual(BREAKOUT_REASON_CATALOGUE.filter((r) => r.kind === 'event').map((r) => r.id), ['tripwire_changed', 'kernel_module_loaded']);
  });

  it('an alert takes its severity and ATT&CK technique from the record', () => {
    const f = breakoutFinding({ reason: 'kernel_module_loaded', message: 'm', evidence: { module: 'x' }, container: null });
    assert.equal(f.severity, 'medium');
    assert.equal(f.attack, 'T1547.006');
    assert.equal(breakoutFinding({ reason: 'host_process_traced', message: 'm', evidence: {}, container: null }).attack, 'T1055.008');
  });
});
