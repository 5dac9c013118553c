// Linux capabilities as Docker applies them. Inspect stores CapAdd/CapDrop verbatim as the client
// sent them (the daemon only validates), so "sys_admin", "CAP_SYS_ADMIN" and "all" all occur; we
// normalise the way moby's NormalizeLegacyCapabilities does and mirror TweakCapabilities.
import type { HostConfig } from '../model/dockerTypes.js';

export const ALL = 'ALL';

/** Docker's default set (moby daemon/pkg/oci/caps/defaults.go): 14 capabilities. */
export const DEFAULT_CAPABILITIES: ReadonlySet<string> = new Set([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

/** Every capability the kernel knows (0..40), what privileged and "ALL" grant. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/**
 * Capabilities that lead to host compromise or kernel-level power, with the severity of adding one.
 * critical: documented escapes (mount/cgroup tricks, kernel modules, open_by_handle_at file reads).
 * high: ptrace (escape together with the host pid namespace), raw I/O, eBPF, network and MAC admin.
 */
export const DANGEROUS_CAPABILITIES: ReadonlyMap<string, 'critical' | 'high'> = new Map([
  ['CAP_SYS_ADMIN', 'critical'],
  ['CAP_SYS_MODULE', 'critical'],
  ['CAP_DAC_READ_SEARCH', 'critical'],
  ['CAP_SYS_PTRACE', 'high'],
  ['CAP_SYS_RAWIO', 'high'],
  ['CAP_BPF', 'high'],
  ['CAP_PERFMON', 'high'],
  ['CAP_NET_ADMIN', 'high'],
  ['CAP_SYS_BOOT', 'high'],
  ['CAP_SYS_TIME', 'high'],
  ['CAP_MAC_ADMIN', 'high'],
  ['CAP_MAC_OVERRIDE', 'high'],
  ['CAP_SYSLOG', 'high'],
]);

/** "sys_admin" / "CAP_SYS_ADMIN" / " cap_sys_admin" → "CAP_SYS_ADMIN"; "all" → "ALL"; junk → null. */
export function normalizeCapability(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const up = raw.trim().toUpperCase();
  if (!up) return null;
  if (up === ALL) return ALL;
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

/** Normalised, de-duplicated list; null, non-arrays and non-string entries give nothing. */
export function normalizeCapabilities(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const r of raw) {
    const c = normalizeCapability(r);
    if (c && !out.includes(c)) out.push(c);
  }
  return out;
}

/** The raw strings as stored, for evidence (only strings, so evidence stays flat). */
export function rawCapabilities(raw: unknown): string[] {
  return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
}

export interface EffectiveCapabilities {
  caps: Set<string>;
  /** Privileged: everything, whatever CapAdd/CapDrop say. */
  privileged: boolean;
  /** CapAdd contained ALL (so caps is "all minus CapDrop"). */
  addAll: boolean;
}

/**
 * The set the container runs with, as moby's TweakCapabilities computes it:
 * privileged → all; ALL in CapAdd → all minus CapDrop; ALL in CapDrop → only CapAdd;
 * otherwise defaults minus CapDrop plus CapAdd. A legacy API 1.40 `Capabilities` list replaces the defaults.
 */
export function effectiveCapabilities(hc: HostConfig | undefined | null): EffectiveCapabilities {
  const h: Partial<HostConfig> = hc && typeof hc === 'object' ? hc : {};
  if (h.Privileged === true) return { caps: new Set(ALL_CAPABILITIES), privileged: true, addAll: false };
  const adds = normalizeCapabilities(h.CapAdd);
  const drops = normalizeCapabilities(h.CapDrop);
  const legacy = normalizeCapabilities(h.Capabilities).filter((c) => c !== ALL);
  const basics: Iterable<string> = legacy.length > 0 ? legacy : DEFAULT_CAPABILITIES;
  if (adds.includes(ALL)) {
    return { caps: new Set(ALL_CAPABILITIES.filter((c) => !drops.includes(c))), privileged: false, addAll: true };
  }
  const caps = new Set<string>();
  if (!drops.includes(ALL)) {
    for (const c of basics) if (!drops.includes(c)) caps.add(c);
  }
  for (const c of adds) caps.add(c);
  return { caps, privileged: false, addAll: false };
}

/** Capabilities beyond Docker's default set, sorted (re-adding a default after drop ALL is not "added"). */
export function addedCapabilities(eff: EffectiveCapabilities): string[] {
  return [...eff.caps].filter((c) => !DEFAULT_CAPABILITIES.has(c)).sort();
}
