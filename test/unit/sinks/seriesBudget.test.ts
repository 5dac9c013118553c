// The series budget the README states: a fixed set per host, whatever runs on it, plus at most one
// rootwatch_container_finding series per container and rule. A Prometheus operator sizes a fleet
// from these numbers, so they are held here.
import { strict as assert } from 'node:assert';
import { Metrics, type MetricsSource } from '../../../src/sinks/metrics.js';
import type { ContainerRecord } from '../../../src/model/inventory.js';
import type { Finding } from '../../../src/model/finding.js';
import { containerRules, execRules } from '../../../src/rules/catalogue.js';
import { posture } from '../rules/fixtures.js';

// Series per host (rootwatch_ and the runtime process_ and nodejs_ ones), whatever the containers.
const HOST_SERIES_BUDGET = 300;

function seriesOf(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function source(containers: ContainerRecord[]): MetricsSource {
  return {
    engines: () => [{ name: 'docker', up: true, findings: [], info: { kernel: 'k', distro: 'd', docker_version: 'v', runc_version: 'r', containerd_version: 'c', cgroup_version: '2', userns_remap: 'false', rootless: 'false' } }],
    containers: () => containers,
    expiredExceptions: () => 0,
    breakoutActive: () => [],
  };
}

/** A container with a finding of every rule there is, some twice (two mounts, say). */
function worstContainer(n: number): ContainerRecord {
  const findings: Finding[] = [];
  for (const r of [...containerRules, ...execRules].map((x) => x.id)) {
    findings.push({ rule: r, severity: 'high', message: 'a', evidence: {} }, { rule: r, severity: 'high', message: 'b', evidence: {} });
  }
  const id = n.toString(16).padStart(64, '0');
  return { engine: 'docker', posture: posture(), id, shortId: id.slice(0, 12), name: `c${n}`, image: 'img', labels: {}, inspect: { Id: id }, findings };
}

describe('series budget', () => {
  it(`a host without containers exports at most ${HOST_SERIES_BUDGET} series`, async () => {
    const n = seriesOf(await new Metrics(source([])).registry.metrics()).length;
    assert.ok(n > 50 && n <= HOST_SERIES_BUDGET, `${n} series`);
  });

  it('each container adds at most one series per rule, however many findings it has', async () => {
    const rules = containerRules.length + execRules.length;
    const base = seriesOf(await new Metrics(source([])).registry.metrics()).length;
    const text = await new Metrics(source(Array.from({ length: 50 }, (_, i) => worstContainer(i)))).registry.metrics();
    const perContainer = seriesOf(text).filter((l) => l.startsWith('rootwatch_container_finding{')).length / 50;
    assert.equal(perContainer, rules, 'one series per rule and container');
    // Everything else grows with rules (rootwatch_findings per rule and severity), not with containers.
    const other = seriesOf(text).length - 50 * rules;
    assert.ok(other <= base + 2 * rules, `${other} series besides the per-container ones (empty host: ${base})`);
  });
});
