// docker exec into a running container: a runtime act, checked from GET /exec/{id}/json, whose
// ProcessConfig keys are lower-case (privileged, user).
import type { ExecRule } from './rule.js';
import { configUser, isRootUser, str } from './container/fields.js';
import { ATTACK } from './attack.js';

function processConfig(x: unknown): Record<string, unknown> {
  const pc: unknown = x && typeof x === 'object' ? (x as { ProcessConfig?: unknown }).ProcessConfig : undefined;
  return pc && typeof pc === 'object' && !Array.isArray(pc) ? (pc as Record<string, unknown>) : {};
}

export const execPrivileged: ExecRule = {
  scope: 'exec',
  id: 'exec_privileged',
  attack: ATTACK.containerAdministration,
  severity: 'high',
  rootSensitive: true,
  title: 'Privileged docker exec',
  why: 'docker exec --privileged runs a process with every capability and no seccomp/AppArmor confinement inside an otherwise confined container.',
  remediation: 'Do not use docker exec --privileged; grant the container the specific capability it needs, or debug from a separate, short-lived container.',
  references: { cis: '5.23' },
  check(x) {
    const pc = processConfig(x);
    if (pc.privileged !== true) return [];
    return [
      {
        message: `privileged exec of ${str(pc.entrypoint) || 'a process'}`,
        evidence: { 'ProcessConfig.privileged': true, 'ProcessConfig.user': str(pc.user), 'ProcessConfig.entrypoint': str(pc.entrypoint) },
      },
    ];
  },
};

export const execRoot: ExecRule = {
  scope: 'exec',
  id: 'exec_root',
  attack: ATTACK.containerAdministration,
  severity: 'medium',
  rootSensitive: true,
  title: 'Root docker exec into a non-root container',
  why: 'The container was set up to run as a non-root user; docker exec -u 0 bypasses that and gives an interactive root shell in it.',
  remediation: 'Run docker exec without -u 0 / --user root so it runs as the container user; limit who may reach the Docker API and deny root exec with an authorization plugin (dockerd --authorization-plugin).',
  references: { cis: '5.24' },
  check(x, c) {
    const pc = processConfig(x);
    const containerUser = configUser(c);
    if (isRootUser(containerUser)) return []; // already root: exec as root adds nothing
    // An empty exec user inherits the container's user, which is not root here.
    const user = str(pc.user);
    if (user === '' || !isRootUser(user)) return [];
    return [
      {
        message: `exec as ${user} into a container that runs as ${containerUser}`,
        evidence: { 'ProcessConfig.user': user, 'Config.User': containerUser, 'ProcessConfig.entrypoint': str(pc.entrypoint) },
      },
    ];
  },
};

export const execRules: ExecRule[] = [execPrivileged, execRoot];
