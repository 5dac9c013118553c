// Host devices passed in (--device) and device-cgroup rules (--device-cgroup-rule). Privileged
// containers get every device anyway and are reported by "privileged".
import type { Severity } from '../../model/finding.js';
import type { ContainerRule, RuleHit } from '../rule.js';
import { normalizePath } from '../hostPaths.js';
import { hostConfig, str, strings } from './fields.js';
import { ATTACK } from '../attack.js';

/** Raw physical memory and I/O ports: reading or writing them bypasses every kernel boundary. */
const RAW_MEMORY = new Set(['/dev/mem', '/dev/kmem', '/dev/port']);
/** Block devices (disks, partitions, loop, device-mapper): raw access bypasses the filesystem view. */
const BLOCK = /^\/dev\/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|loop\d|dm-\d|md\d|nbd\d|zram\d|sr\d|mapper\/|disk\/)/;
/** Devices every container already has: passing them again adds nothing. */
const ALREADY_PRESENT = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);

export function deviceSeverity(path: string): Severity {
  if (RAW_MEMORY.has(path) || BLOCK.test(path)) return 'critical';
  if (ALREADY_PRESENT.has(path)) return 'low';
  return 'medium';
}

/** "b 8:* rwm" / "a *:* rwm" / "c *:* rwm": block or all-type rules allow raw disks (MKNOD is a default cap). */
export function cgroupRuleSeverity(rule: string): Severity {
  const [type = '', majmin = ''] = rule.trim().split(/\s+/);
  const major = majmin.split(':')[0] ?? '';
  if (type === 'a' || type === 'b') return 'critical';
  // Major 1 is mem/kmem/port/null…; "*" includes it.
  if (type === 'c' && (major === '*' || major === '1')) return 'high';
  return 'medium';
}

export const deviceAccess: ContainerRule = {
  scope: 'container',
  id: 'device_access',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  rootSensitive: true,
  title: 'Host device passed in',
  why: 'Host disks, /dev/mem and similar devices give raw access that bypasses the container filesystem and memory isolation; device-cgroup rules with wildcards allow creating such nodes.',
  remediation: 'Remove --device / --device-cgroup-rule entries the workload does not need; never pass block devices or /dev/mem, and avoid wildcard rules such as "c *:* rwm".',
  references: { cis: '5.18' },
  check(c) {
    const hc = hostConfig(c);
    if (!hc || hc.Privileged === true) return [];
    const hits: RuleHit[] = [];
    const devices: unknown[] = Array.isArray(hc.Devices) ? hc.Devices : [];
    for (const d of devices) {
      if (typeof d !== 'object' || d === null) continue;
      const dev = d as Record<string, unknown>;
      const onHost = str(dev.PathOnHost);
      if (!onHost) continue;
      const path = normalizePath(onHost) ?? onHost;
      hits.push({
        message: `host device ${path} passed in as ${str(dev.PathInContainer) || path}`,
        evidence: {
          'HostConfig.Devices.PathOnHost': onHost,
          'HostConfig.Devices.PathInContainer': str(dev.PathInContainer),
          'HostConfig.Devices.CgroupPermissions': str(dev.CgroupPermissions),
        },
        severity: deviceSeverity(path),
      });
    }
    for (const rule of strings(hc.DeviceCgroupRules)) {
      hits.push({
        message: `device cgroup rule "${rule}" allows access to host devices`,
        evidence: { 'HostConfig.DeviceCgroupRules': rule },
        severity: cgroupRuleSeverity(rule),
      });
    }
    return hits;
  },
};

export const deviceRules: ContainerRule[] = [deviceAccess];
