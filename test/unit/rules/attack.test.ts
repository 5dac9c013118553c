// Every rule and every breakout reason names its MITRE ATT&CK technique, and the alert event carries it
// (`attack_technique`), as the README's tables do; it is never a metric label.
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { allRules } from '../../../src/rules/catalogue.js';
import { BREAKOUT_REASONS } from '../../../src/breakout/types.js';
import { reasonRecord } from '../../../src/breakout/reasons.js';
import { breakoutFinding } from '../../../src/breakout/breakoutWatch.js';
import { auditContainer } from '../../../src/audit/evaluate.js';
import { createLogger, logAlert } from '../../../src/log/logger.js';
import { ALL_METRICS } from '../../../src/sinks/metricCatalogue.js';
import { inspect, posture } from './fixtures.js';

const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;

describe('MITRE ATT&CK techniques', () => {
  it('every rule names one', () => {
    for (const r of allRules) {
      assert.match(r.attack.id, TECHNIQUE, r.id);
      assert.ok(r.attack.name.length > 3, r.id);
    }
  });

  it('every breakout reason names one', () => {
    for (const reason of BREAKOUT_REASONS) assert.match(reasonRecord(reason).attack.id, TECHNIQUE, reason);
  });

  it('findings and alert events carry the technique; no metric has it as a label', () => {
    const f = auditContainer(inspect('privileged'), { posture: posture(), lookup: () => undefined }).find((x) => x.rule === 'privileged');
    assert.equal(f?.attack, 'T1611');
    const b = breakoutFinding({ reason: 'host_process_traced', message: 'm', evidence: {}, container: null });
    assert.equal(b.attack, 'T1055.008');
    const lines: Record<string, unknown>[] = [];
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => lines.push(JSON.parse(d.toString()) as Record<string, unknown>));
    const log = createLogger({ level: 'debug', stream });
    if (f) logAlert(log, f, { id: 'x', name: 'n', image: 'i' });
    logAlert(log, b, null);
    return new Promise<void>((resolve) => setImmediate(() => {
      assert.deepEqual(lines.map((l) => l.attack_technique), ['T1611', 'T1055.008']);
      assert.ok(ALL_METRICS.every((m) => !m.labels.some((l) => /attack|technique/.test(l))));
      resolve();
    }));
  });
});
