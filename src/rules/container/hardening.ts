// Hardening gaps: no escape by themselves, but they make one easier or let a container starve the host.
import type { Severity } from '../../model/finding.js';
import type { ContainerRule, RuleHit } from '../rule.js';
import { hostConfig, isRootUser, resolveMode, str } from './fields.js';
import { ATTACK } from '../attack.js';

export const rootUser: ContainerRule = {
  scope: 'container',
  id: 'root_user',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  rootSensitive: true,
  title: 'Runs as root',
  why: 'Without user-namespace remapping, root in the container is root on the host: any escape, writable host mount or kernel bug lands with full privileges.',
  remediation: 'Set a non-root USER in the image or run with --user 1000:1000; enable userns-remap or rootless mode so container root maps to an unprivileged host uid.',
  references: { cis: '4.1', pss: 'Restricted: Running as Non-root' },
  check(c) {
    const cfg: unknown = c && typeof c === 'object' ? c.Config : undefined;
    if (!cfg || typeof cfg !== 'object') return []; // no Config: unknown, not root
    const raw = (cfg as { User?: unknown }).User;
    if (raw !== undefined && raw !== null && typeof raw !== 'string') return [];
    const user = raw ?? '';
    if (!isRootUser(user)) return [];
    return [
      {
        message: user === '' ? 'runs as root (no user set)' : `runs as root (user "${user}")`,
        evidence: { 'Config.User': user },
      },
    ];
  },
};

export const writableRootfs: ContainerRule = {
  scope: 'container',
  id: 'writable_rootfs',
  attack: ATTACK.deployContainer,
  severity: 'low',
  title: 'Root filesystem writable',
  why: 'A writable root filesystem lets an attacker drop tools and persist changes inside the container; read-only makes tampering visible.',
  remediation: 'Run with --read-only and mount writable paths explicitly (--tmpfs /tmp, volumes).',
  references: { cis: '5.13' },
  check(c) {
    if (hostConfig(c)?.ReadonlyRootfs !== false) return [];
    return [{ message: 'root filesystem is writable', evidence: { 'HostConfig.ReadonlyRootfs': false } }];
  },
};

export const noMemoryLimit: ContainerRule = {
  scope: 'container',
  id: 'no_memory_limit',
  attack: ATTACK.endpointDenialOfService,
  severity: 'low',
  title: 'No memory limit',
  why: 'Without a memory limit one container can exhaust host memory and trigger the OOM killer against host processes.',
  remediation: 'Run with --memory (e.g. --memory 512m).',
  references: { cis: '5.11' },
  check(c) {
    const mem = hostConfig(c)?.Memory;
    if (typeof mem !== 'number' || mem > 0) return [];
    return [{ message: 'no memory limit', evidence: { 'HostConfig.Memory': mem } }];
  },
};

export const noPidsLimit: ContainerRule = {
  scope: 'container',
  id: 'no_pids_limit',
  attack: ATTACK.endpointDenialOfService,
  severity: 'low',
  title: 'No PIDs limit',
  why: 'Without a PIDs limit a fork bomb in one container exhausts the host process table.',
  remediation: 'Run with --pids-limit (e.g. --pids-limit 200).',
  references: { cis: '5.29' },
  check(c) {
    const hc = hostConfig(c);
    if (!hc) return [];
    const pl: unknown = hc.PidsLimit;
    // null (current daemons store ≤0 as null), missing, 0 (old daemons) and -1 all mean unlimited.
    const unlimited = pl === null || pl === undefined || (typeof pl === 'number' && pl <= 0);
    if (!unlimited) return [];
    return [{ message: 'no PIDs limit', evidence: { 'HostConfig.PidsLimit': typeof pl === 'number' ? pl : null } }];
  },
};

/** PSS Baseline "Sysctls" allow list: namespaced and safe. */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_slow_start_after_idle',
  'net.ipv4.tcp_notsent_lowat',
]);

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** Which namespace a sysctl belongs to; null when it is not namespaced (it then acts on the host). */
function sysctlNamespace(key: string): 'NetworkMode' | 'IpcMode' | 'UTSMode' | null {
  if (key.startsWith('net.')) return 'NetworkMode';
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return 'IpcMode';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'UTSMode';
  return null;
}

export const unsafeSysctl: ContainerRule = {
  scope: 'container',
  id: 'unsafe_sysctl',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  title: 'Unsafe sysctl set',
  why: "Sysctls outside the Pod Security Standards' safe list change kernel behaviour; in a namespace shared with the host (or not namespaced at all) they change it for the whole host.",
  remediation: 'Remove the --sysctl, or restrict it to the safe list (e.g. net.ipv4.ip_unprivileged_port_start, net.ipv4.ip_local_port_range).',
  references: { pss: 'Baseline: Sysctls' },
  check(c, ctx) {
    const sysctls: unknown = hostConfig(c)?.Sysctls;
    if (!sysctls || typeof sysctls !== 'object' || Array.isArray(sysctls)) return [];
    const hits: RuleHit[] = [];
    for (const [rawKey, value] of Object.entries(sysctls as Record<string, unknown>)) {
      const key = rawKey.replace(/\//g, '.');
      if (SAFE_SYSCTLS.has(key)) continue;
      const ns = sysctlNamespace(key);
      const shared = ns === null || resolveMode(c, ns, ctx).mode === 'host';
      const severity: Severity = shared ? 'medium' : 'low';
      hits.push({
        message: `sets sysctl ${key}${shared ? (ns ? ' in a namespace shared with the host' : ' (not namespaced: affects the host)') : ''}`,
        evidence: { 'HostConfig.Sysctls': `${rawKey}=${str(value) || String(value)}` },
        severity,
      });
    }
    return hits;
  },
};

export const hardeningRules: ContainerRule[] = [rootUser, writableRootfs, noMemoryLimit, noPidsLimit, unsafeSysctl];
