// Bind mounts of host paths. Only Type=bind counts and only Source decides: a named or anonymous
// volume whose *destination* is /var/run/docker.sock is not the host socket (docker-bench PR #418),
// and volume sources live under the data root by design.
import type { MountPoint } from '../../model/dockerTypes.js';
import type { Evidence } from '../../model/finding.js';
import type { ContainerRule, RuleHit } from '../rule.js';
import { matchSensitive, matchSocket, normalizePath, sensitiveDirsFor, type SensitiveMatch } from '../hostPaths.js';
import { mounts, str } from './fields.js';
import { ATTACK } from '../attack.js';

interface BindMount {
  mount: MountPoint;
  source: string;
  rw: boolean;
}

/** Bind mounts with a usable absolute source. A missing RW flag counts as writable (worst case). */
function binds(c: Parameters<ContainerRule['check']>[0]): BindMount[] {
  const out: BindMount[] = [];
  for (const m of mounts(c)) {
    if (m.Type !== 'bind') continue;
    const source = normalizePath(m.Source);
    if (source) out.push({ mount: m, source, rw: m.RW !== false });
  }
  return out;
}

function mountEvidence(b: BindMount): Evidence {
  return {
    'Mounts.Type': 'bind',
    'Mounts.Source': str(b.mount.Source),
    'Mounts.Destination': str(b.mount.Destination),
    'Mounts.RW': b.rw,
  };
}

const access = (rw: boolean): string => (rw ? 'read-write' : 'read-only');

export const dockerSocketMount: ContainerRule = {
  scope: 'container',
  id: 'docker_socket_mount',
  attack: ATTACK.deployContainer,
  severity: 'critical',
  rootSensitive: true,
  title: 'Container-engine API socket mounted',
  why: 'Whoever can talk to the Docker (or containerd, CRI-O, Podman) API can start a privileged container and own the host; mounting the socket read-only does not restrict API calls.',
  remediation: 'Remove the -v /var/run/docker.sock (or parent directory such as /var/run or /) bind; if API access is required, put an authorising proxy with a read-only allow list in front of the socket.',
  references: { cis: '5.32', pss: 'Baseline: HostPath Volumes' },
  check(c) {
    const hits: RuleHit[] = [];
    for (const b of binds(c)) {
      const m = matchSocket(b.source);
      if (!m) continue;
      hits.push({
        message:
          m.relation === 'socket'
            ? `bind-mounts the container-engine API socket ${b.source}${b.rw ? '' : ' (read-only does not limit API calls)'}`
            : `bind-mounts host ${b.source} (${access(b.rw)}), which contains the API socket ${m.socket}`,
        evidence: { ...mountEvidence(b), socket: m.socket },
      });
    }
    return hits;
  },
};

function relationText(source: string, m: SensitiveMatch): string {
  if (m.relation === 'exact') return `sensitive host path ${source}`;
  if (m.relation === 'below') return `host path ${source} (inside ${m.dir})`;
  return `host path ${source} (contains ${m.dir})`;
}

export const sensitiveMount: ContainerRule = {
  scope: 'container',
  id: 'sensitive_mount',
  attack: ATTACK.escapeToHost,
  severity: 'critical',
  rootSensitive: true,
  title: 'Sensitive host directory mounted',
  why: 'Writable binds of /, /etc, /usr, /lib, /boot or the Docker data root let the container change what the host runs; /proc and /sys reach kernel interfaces, and even read-only binds expose host secrets.',
  remediation: 'Mount only the specific files the workload needs, read-only (-v /host/path:/path:ro), or use a named volume instead of a host directory.',
  references: { cis: '5.6', pss: 'Baseline: HostPath Volumes' },
  check(c, ctx) {
    const dirs = sensitiveDirsFor(ctx?.posture?.dockerRootDir);
    const hits: RuleHit[] = [];
    for (const b of binds(c)) {
      const m = matchSensitive(b.source, b.rw, dirs);
      if (!m) continue;
      hits.push({
        message: `bind-mounts ${relationText(b.source, m)} ${access(b.rw)}`,
        evidence: { ...mountEvidence(b), sensitive_path: m.dir },
        severity: m.severity,
      });
    }
    return hits;
  },
};

/** Only shared and rshared propagate mounts back to the host; slave/rslave only receive them. */
const SHARED = new Set(['shared', 'rshared']);

export const sharedPropagation: ContainerRule = {
  scope: 'container',
  id: 'shared_propagation',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  title: 'Shared mount propagation',
  why: 'With shared propagation, mounts made inside the container appear on the host, so a container that can mount (CAP_SYS_ADMIN) can change the host mount table.',
  remediation: 'Drop the shared/rshared option from -v src:dst:rshared or --mount bind-propagation=rshared (keep the default rprivate, or use rslave if host mounts must be seen inside).',
  references: { cis: '5.20' },
  check(c, ctx) {
    const dirs = sensitiveDirsFor(ctx?.posture?.dockerRootDir);
    const hits: RuleHit[] = [];
    for (const m of mounts(c)) {
      const prop = str(m.Propagation);
      if (!SHARED.has(prop)) continue;
      const source = normalizePath(m.Source);
      const sensitive = source !== null && m.Type === 'bind' && matchSensitive(source, m.RW !== false, dirs) !== null;
      hits.push({
        message: `mount ${str(m.Source) || str(m.Destination)} uses ${prop} propagation${sensitive ? ' on a sensitive host path' : ''}`,
        evidence: {
          'Mounts.Type': str(m.Type),
          'Mounts.Source': str(m.Source),
          'Mounts.Destination': str(m.Destination),
          'Mounts.Propagation': prop,
        },
        severity: sensitive ? 'high' : 'medium',
      });
    }
    return hits;
  },
};

export const mountRules: ContainerRule[] = [dockerSocketMount, sensitiveMount, sharedPropagation];
