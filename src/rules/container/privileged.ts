// --privileged: the container gets every capability, all host devices, no seccomp/AppArmor/SELinux,
// unmasked /proc and /sys and writable cgroups. Those consequences are reported here once; the
// capability, confinement and device rules skip privileged containers to avoid echoing it.
import type { ContainerRule } from '../rule.js';
import { hostConfig } from './fields.js';
import { ATTACK } from '../attack.js';

export const privileged: ContainerRule = {
  scope: 'container',
  id: 'privileged',
  attack: ATTACK.escapeToHost,
  severity: 'critical',
  rootSensitive: true,
  title: 'Privileged container',
  why: 'A privileged container has every capability and every host device, and runs without seccomp, AppArmor or SELinux confinement; container root can take over the host in a few commands.',
  remediation: 'Remove --privileged (privileged: true in Compose) and add only the specific capabilities (--cap-add) or devices (--device) the workload needs.',
  references: { cis: '5.5', pss: 'Baseline: Privileged Containers' },
  check(c) {
    if (hostConfig(c)?.Privileged !== true) return [];
    return [{ message: 'container runs with --privileged', evidence: { 'HostConfig.Privileged': true } }];
  },
};

export const privilegedRules: ContainerRule[] = [privileged];
