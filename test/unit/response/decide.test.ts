import { strict as assert } from 'node:assert';
import { ExceptionSet } from '../../../src/audit/exceptions.js';
import { breakoutFinding } from '../../../src/breakout/breakoutWatch.js';
import type { BreakoutHit } from '../../../src/breakout/types.js';
import { validateConfig } from '../../../src/config/load.js';
import { ActionBudget } from '../../../src/response/budget.js';
import { compileRules, decide, type DecisionInput } from '../../../src/response/decide.js';

const container = { id: 'a'.repeat(64), name: 'tenant-web', image: 'nginx:1.25' };
const hit = (reason: BreakoutHit['reason'] = 'host_namespace_process', c: BreakoutHit['container'] = container): BreakoutHit =>
  ({ reason, message: 'm', evidence: { pid: 42 }, container: c });

function input(over: Partial<DecisionInput> = {}, config: unknown = { rules: [{ reasons: ['host_namespace_process'], action: 'pause', match: { name: 'tenant-*' } }] }): DecisionInput {
  const cfg = validateConfig({ response: config }, 't');
  const h = over.hit ?? hit();
  return {
    hit: h,
    finding: breakoutFinding(h),
    target: { name: 'tenant-web', image: 'nginx:1.25', labels: { team: 'a' } },
    rules: compileRules(cfg.response!),
    exceptions: new ExceptionSet([]),
    isOwn: false,
    alreadyActed: false,
    takeBudget: () => true,
    now: Date.parse('2026-01-01T00:00:00Z'),
    ...over,
  };
}

describe('response decision', () => {
  it('acts with the first rule whose reasons and match fit', () => {
    const cfg = { rules: [
      { reasons: ['kernel_helper_from_container'], action: 'stop' },
      { reasons: ['host_namespace_process'], action: 'kill', match: { label: { team: 'b' } } },
      { reasons: ['host_namespace_process'], action: 'pause', match: { image: 'nginx:*' } },
      { reasons: ['host_namespace_process'], action: 'stop' },
    ] };
    assert.deepEqual(decide(input({}, cfg)), { kind: 'act', action: 'pause' });
    assert.deepEqual(decide(input({ hit: hit('kernel_helper_from_container') }, cfg)), { kind: 'act', action: 'stop' });
  });

  it('no rule for the reason or no matching rule: nothing at all (null)', () => {
    assert.equal(decide(input({ hit: hit('capability_escalation') })), null);
    assert.equal(decide(input({ target: { name: 'other', image: 'x', labels: {} } })), null);
  });

  it('matches like exceptions: name and image globs, labels present and equal', () => {
    const cfg = (match: unknown): unknown => ({ rules: [{ reasons: ['host_namespace_process'], action: 'pause', match }] });
    assert.equal(decide(input({}, cfg({ image: '*nginx*' })))?.kind, 'act');
    assert.equal(decide(input({}, cfg({ label: { team: 'a' } })))?.kind, 'act');
    assert.equal(decide(input({}, cfg({ label: { team: 'b' } }))), null);
    assert.equal(decide(input({}, cfg({ name: 'tenant-web', label: { tier: 'x' } }))), null);
  });

  it('skips an excepted finding, our own container, a container already acted on, and past the budget, in that order', () => {
    const exceptions = new ExceptionSet([{ rules: ['host_namespace_process'], match: { name: 'tenant-*' }, reason: 'accepted' }]);
    let taken = 0;
    const takeBudget = (): boolean => { taken++; return false; };
    assert.deepEqual(decide(input({ exceptions, isOwn: true, alreadyActed: true, takeBudget })), { kind: 'skip', action: 'pause', why: 'excepted' });
    assert.deepEqual(decide(input({ isOwn: true, alreadyActed: true, takeBudget })), { kind: 'skip', action: 'pause', why: 'own_container' });
    assert.deepEqual(decide(input({ alreadyActed: true, takeBudget })), { kind: 'skip', action: 'pause', why: 'already_acted' });
    assert.equal(taken, 0, 'a skip for another cause takes nothing from the budget');
    assert.deepEqual(decide(input({ takeBudget })), { kind: 'skip', action: 'pause', why: 'rate_limited' });
    assert.equal(taken, 1);
  });

  it('an expired exception does not protect, and one for another rule does not either', () => {
    const expired = new ExceptionSet([{ rules: ['host_namespace_process'], match: { name: 'tenant-*' }, reason: 'r', expires: '2025-01-01' }]);
    const other = new ExceptionSet([{ rules: ['privileged'], match: { name: 'tenant-*' }, reason: 'r' }]);
    assert.equal(decide(input({ exceptions: expired }))?.kind, 'act');
    assert.equal(decide(input({ exceptions: other }))?.kind, 'act');
  });

  it('a hit that names no container, or one the inventory does not know, is skipped', () => {
    const cfg = { rules: [{ reasons: ['tripwire_changed', 'host_namespace_process'], action: 'stop' }] };
    assert.deepEqual(decide(input({ hit: hit('tripwire_changed', null) }, cfg)), { kind: 'skip', action: 'stop', why: 'no_container' });
    assert.deepEqual(decide(input({ target: null }, cfg)), { kind: 'skip', action: 'stop', why: 'container_unknown' });
  });
});

describe('action budget', () => {
  it('allows max actions in any 60 s window', () => {
    const b = new ActionBudget(5);
    const t0 = 1_000_000;
    const got = Array.from({ length: 20 }, (_, i) => b.take(t0 + i));
    assert.deepEqual(got.filter(Boolean).length, 5);
    assert.deepEqual(got.slice(0, 5), [true, true, true, true, true]);
    assert.equal(b.take(t0 + 59_999), false);
    assert.equal(b.take(t0 + 60_000), true, 'the first action left the window');
    assert.equal(b.take(t0 + 60_000), false);
    b.setLimit(7);
    assert.equal(b.take(t0 + 60_001), true);
  });
});
