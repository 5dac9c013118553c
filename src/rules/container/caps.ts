// Capabilities beyond Docker's default set, computed from the effective set (so "--cap-drop ALL
// --cap-add CHOWN" re-adding a default is not "added", docker-bench #207) and normalised (so
// "sys_admin" and "CAP_SYS_ADMIN" are the same, docker-bench PR #491).
import type { Evidence } from '../../model/finding.js';
import type { ContainerRule, RuleHit } from '../rule.js';
import {
  DANGEROUS_CAPABILITIES,
  addedCapabilities,
  effectiveCapabilities,
  normalizeCapabilities,
  rawCapabilities,
  type EffectiveCapabilities,
} from '../capabilities.js';
import type { HostConfig } from '../../model/dockerTypes.js';
import { hostConfig, resolveMode } from './fields.js';
import { ATTACK } from '../attack.js';

function capEvidence(hc: HostConfig): Evidence {
  const ev: Evidence = {
    'HostConfig.CapAdd': rawCapabilities(hc.CapAdd),
    'HostConfig.CapDrop': rawCapabilities(hc.CapDrop),
  };
  const legacy = rawCapabilities(hc.Capabilities);
  if (legacy.length > 0) ev['HostConfig.Capabilities'] = legacy;
  return ev;
}

function dangerousIn(eff: EffectiveCapabilities): string[] {
  return [...DANGEROUS_CAPABILITIES.keys()].filter((c) => eff.caps.has(c));
}

export const dangerousCapability: ContainerRule = {
  scope: 'container',
  id: 'dangerous_capability',
  attack: ATTACK.escapeToHost,
  severity: 'critical',
  rootSensitive: true,
  title: 'Escape-grade capability added',
  why: 'CAP_SYS_ADMIN, CAP_SYS_MODULE and CAP_DAC_READ_SEARCH have public container-escape techniques; CAP_SYS_PTRACE, CAP_SYS_RAWIO, CAP_BPF, CAP_NET_ADMIN and similar give kernel-level power over host resources.',
  remediation: 'Remove the --cap-add for this capability (or replace --cap-add ALL with the specific ones needed); start from --cap-drop ALL and add back only what the workload needs.',
  references: { cis: '5.4', pss: 'Baseline: Capabilities' },
  check(c, ctx) {
    const hc = hostConfig(c);
    if (!hc || hc.Privileged === true) return []; // reported by "privileged"
    const eff = effectiveCapabilities(hc);
    const present = dangerousIn(eff);
    if (present.length === 0) return [];
    const ev = capEvidence(hc);
    if (eff.addAll) {
      const drops = normalizeCapabilities(hc.CapDrop);
      return [
        {
          message: `CapAdd ALL grants every capability${drops.length ? ` except ${drops.join(', ')}` : ''}, including ${present.join(', ')}`,
          evidence: { ...ev, capabilities: present },
          severity: 'critical',
        },
      ];
    }
    const hostPid = resolveMode(c, 'PidMode', ctx).mode === 'host';
    return present.map((cap): RuleHit => {
      // ptrace plus the host pid namespace is code injection into host processes.
      if (cap === 'CAP_SYS_PTRACE' && hostPid) {
        return {
          message: 'adds CAP_SYS_PTRACE and shares the host pid namespace: can inject into host processes',
          evidence: { ...ev, capability: cap, 'HostConfig.PidMode': 'host' },
          severity: 'critical',
        };
      }
      return { message: `adds ${cap}`, evidence: { ...ev, capability: cap }, severity: DANGEROUS_CAPABILITIES.get(cap) ?? 'high' };
    });
  },
};

export const addedCapability: ContainerRule = {
  scope: 'container',
  id: 'added_capability',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  rootSensitive: true,
  title: 'Capability added beyond the default set',
  why: "Every capability beyond Docker's default 14 widens what container root can do to the kernel and to host resources.",
  remediation: 'Remove the --cap-add unless the workload needs it; prefer --cap-drop ALL plus the few capabilities it does need.',
  references: { cis: '5.4', pss: 'Baseline: Capabilities' },
  check(c) {
    const hc = hostConfig(c);
    if (!hc || hc.Privileged === true) return [];
    const eff = effectiveCapabilities(hc);
    // With ALL and a dangerous cap left, dangerous_capability already reports the whole set.
    if (eff.addAll && dangerousIn(eff).length > 0) return [];
    const extra = addedCapabilities(eff).filter((cap) => !DANGEROUS_CAPABILITIES.has(cap));
    if (extra.length === 0) return [];
    return [
      {
        message: `adds capabilities beyond Docker's default set: ${extra.join(', ')}`,
        evidence: { ...capEvidence(hc), capabilities: extra },
      },
    ];
  },
};

export const capabilityRules: ContainerRule[] = [dangerousCapability, addedCapability];
