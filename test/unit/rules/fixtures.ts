// Loads the inspect/exec/daemon JSON recorded from a real engine (scripts/record-fixtures.ts) and
// runs rules over it. Results are "rule_id:severity" strings so expectations read like a table.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInspect, DockerInfo, DockerVersion, ExecInspect } from '../../../src/model/dockerTypes.js';
import { postureFrom, type DaemonPosture } from '../../../src/model/posture.js';
import type { ContainerContext, ContainerRule, RuleHit } from '../../../src/rules/rule.js';
import { containerRules } from '../../../src/rules/catalogue.js';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

function json<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(FIXTURES, ...parts), 'utf8')) as T;
}

export function inspectNames(): string[] {
  return readdirSync(join(FIXTURES, 'inspect'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** A fresh copy each call, so tests may mutate it. */
export function inspect(name: string): ContainerInspect {
  return json<ContainerInspect>('inspect', `${name}.json`);
}

export function execInspect(name: string): ExecInspect {
  return json<ExecInspect>('exec', `${name}.json`);
}

export function info(userns = false): DockerInfo {
  return json<DockerInfo>('daemon', userns ? 'info-userns.json' : 'info.json');
}

export function posture(userns = false, overrides: Partial<DaemonPosture> = {}): DaemonPosture {
  const p = postureFrom(info(userns), json<DockerVersion>('daemon', userns ? 'version-userns.json' : 'version.json'));
  return { ...p, ...overrides };
}

/** Looks other containers up among all recorded fixtures, by full id, id prefix or name. */
export function fixtureLookup(id: string): ContainerInspect | undefined {
  for (const n of inspectNames()) {
    const c = inspect(n);
    if (c.Id === id || (id.length >= 12 && c.Id.startsWith(id)) || c.Name === `/${id}`) return c;
  }
  return undefined;
}

export function ctx(p: DaemonPosture = posture(), lookup: ContainerContext['lookup'] = fixtureLookup): ContainerContext {
  return { posture: p, lookup };
}

/** Posture for a fixture: the userns-* ones were recorded on the remapped engine. */
export function postureFor(name: string): DaemonPosture {
  return posture(name.startsWith('userns-'));
}

export function sev(rule: { severity: string }, hit: RuleHit): string {
  return hit.severity ?? rule.severity;
}

/** Every container rule over one container: sorted "id:severity" strings. */
export function run(c: ContainerInspect, context: ContainerContext = ctx()): string[] {
  const out: string[] = [];
  for (const r of containerRules) for (const h of r.check(c, context)) out.push(`${r.id}:${sev(r, h)}`);
  return out.sort();
}

/** One rule's hits as "id:severity" strings. */
export function runRule(rule: ContainerRule, c: ContainerInspect, context: ContainerContext = ctx()): string[] {
  return rule.check(c, context).map((h) => `${rule.id}:${sev(rule, h)}`);
}
