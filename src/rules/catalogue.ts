// The rule catalogue: every rule rootwatch evaluates, in a stable order (docs, metrics and the
// CLI list them in this order). Rule ids are a public interface: never rename one.
import type { ContainerRule, ExecRule, HostRule, Rule } from './rule.js';
import { privilegedRules } from './container/privileged.js';
import { mountRules } from './container/mounts.js';
import { capabilityRules } from './container/caps.js';
import { confinementRules } from './container/confinement.js';
import { namespaceRules } from './container/namespaces.js';
import { deviceRules } from './container/devices.js';
import { hardeningRules } from './container/hardening.js';
import { execRules as execRuleList } from './execRules.js';
import { hostRules as hostRuleList } from './hostRules.js';

export const containerRules: readonly ContainerRule[] = [
  ...privilegedRules,
  ...mountRules,
  ...capabilityRules,
  ...confinementRules,
  ...namespaceRules,
  ...deviceRules,
  ...hardeningRules,
];

export const execRules: readonly ExecRule[] = execRuleList;
export const hostRules: readonly HostRule[] = hostRuleList;
export const allRules: readonly Rule[] = [...containerRules, ...execRules, ...hostRules];

const byId = new Map<string, Rule>(allRules.map((r) => [r.id, r]));
if (byId.size !== allRules.length) throw new Error('duplicate rule id in the catalogue');

export function ruleById(id: string): Rule | undefined {
  return byId.get(id);
}
