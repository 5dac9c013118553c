import { strict as assert } from 'node:assert';
import { ExceptionSet, globMatcher } from '../../../src/audit/exceptions.js';
import type { Finding } from '../../../src/model/finding.js';

const f = (rule: string): Finding => ({ rule, severity: 'high', message: `${rule} hit`, evidence: {} });
const NOW = Date.parse('2026-11-28T12:00:00Z');

describe('exceptions', () => {
  const set = new ExceptionSet([
    { rules: ['docker_socket_mount', 'sensitive_mount'], match: { name: 'cadvisor', image: '*cadvisor*' }, reason: 'cAdvisor needs /var/run' },
    { rules: ['host_pid'], match: { label: { 'ops.example/agent': 'node-exporter' } }, reason: 'node-exporter', expires: '2026-11-28' },
    { rules: ['privileged'], match: { name: 'old-*' }, reason: 'legacy', expires: '2026-11-27' },
  ]);

  it('marks findings of matching containers as excepted and leaves others alone', () => {
    const out = set.apply([f('docker_socket_mount'), f('privileged')], { name: 'cadvisor', image: 'gcr.io/cadvisor/cadvisor:v0.47', labels: {} }, NOW);
    assert.deepEqual(out[0]?.excepted, { reason: 'cAdvisor needs /var/run' });
    assert.equal(out[1]?.excepted, undefined);
  });

  it('needs every match field: the right name with another image is not excepted', () => {
    const out = set.apply([f('docker_socket_mount')], { name: 'cadvisor', image: 'evil/miner', labels: {} }, NOW);
    assert.equal(out[0]?.excepted, undefined);
  });

  it('a label only counts when the operator config names it, with the exact value', () => {
    const t = (labels: Record<string, string>) => set.apply([f('host_pid')], { name: 'x', image: 'y', labels }, NOW)[0]?.excepted;
    assert.ok(t({ 'ops.example/agent': 'node-exporter' }));
    assert.equal(t({ 'ops.example/agent': 'node-exporter ' }), undefined);
    assert.equal(t({ 'rootwatch.exception': 'host_pid', 'rootwatch/ignore': 'true' }), undefined);
    assert.equal(t({ ['__proto__']: 'x' }), undefined);
  });

  it('applies through the expiry day and not after it; expired ones are listed', () => {
    assert.ok(set.apply([f('host_pid')], { name: 'x', image: 'y', labels: { 'ops.example/agent': 'node-exporter' } }, NOW)[0]?.excepted);
    assert.equal(set.apply([f('privileged')], { name: 'old-db', image: 'y', labels: {} }, NOW)[0]?.excepted, undefined);
    assert.deepEqual(set.expired(NOW).map((e) => e.rules), [['privileged']]);
  });

  it('globs: * spans slashes, regex characters are literal', () => {
    assert.equal(globMatcher('*cadvisor*')('gcr.io/cadvisor/cadvisor:v0.47'), true);
    assert.equal(globMatcher('nginx:1.2?')('nginx:1.27'), true);
    assert.equal(globMatcher('a.b')('axb'), false);
    assert.equal(globMatcher('web')('web-2'), false);
  });
});
