// HostConfig.SecurityOpt, parsed the way the daemon's parseSecurityOpt does (moby daemon_unix.go):
// bare "no-new-privileges" / "writable-cgroups" / "disable"; else split on the first "=", or if there
// is none on the first ":" (deprecated but accepted). Splitting on ":" when "=" exists would break
// "label=type:spc_t" and inlined seccomp JSON. Keys compare case-sensitively, as in the daemon.

export interface ParsedSecurityOpt {
  /** Last seccomp value ("unconfined", "builtin", or an inlined JSON profile); null when unset. */
  seccomp: string | null;
  /** Last apparmor value; null when unset. */
  apparmor: string | null;
  /** Label option values in order ("disable", "type:spc_t", "level:s0:c1,c2", …). */
  labels: string[];
  /** true/false when set (last wins); null when unset, so the daemon default applies. */
  noNewPrivileges: boolean | null;
  writableCgroups: boolean | null;
  /** Entries the daemon would have rejected (or that are not strings). */
  invalid: string[];
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return null;
}

/** Split one entry into key and value like the daemon; null when it has neither "=" nor ":". */
export function splitSecurityOpt(entry: string): [string, string] | null {
  let i = entry.indexOf('=');
  if (i < 0) i = entry.indexOf(':');
  return i < 0 ? null : [entry.slice(0, i), entry.slice(i + 1)];
}

export function parseSecurityOpt(raw: unknown): ParsedSecurityOpt {
  const out: ParsedSecurityOpt = {
    seccomp: null,
    apparmor: null,
    labels: [],
    noNewPrivileges: null,
    writableCgroups: null,
    invalid: [],
  };
  if (!Array.isArray(raw)) return out;
  for (const entry of raw as unknown[]) {
    if (typeof entry !== 'string') {
      out.invalid.push(String(entry));
      continue;
    }
    if (entry === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (entry === 'writable-cgroups') {
      out.writableCgroups = true;
      continue;
    }
    if (entry === 'disable') {
      // What newer go-selinux DisableSecOpt() returns; the daemon treats it as a label option.
      out.labels.push('disable');
      continue;
    }
    const kv = splitSecurityOpt(entry);
    if (!kv) {
      out.invalid.push(entry);
      continue;
    }
    const [k, v] = kv;
    switch (k) {
      case 'label':
        out.labels.push(v);
        break;
      case 'apparmor':
        out.apparmor = v;
        break;
      case 'seccomp':
        out.seccomp = v;
        break;
      case 'no-new-privileges':
      case 'writable-cgroups': {
        const b = parseGoBool(v);
        if (b === null) out.invalid.push(entry);
        else if (k === 'no-new-privileges') out.noNewPrivileges = b;
        else out.writableCgroups = b;
        break;
      }
      default:
        out.invalid.push(entry);
    }
  }
  return out;
}

export type SeccompKind = 'unconfined' | 'builtin' | 'custom' | 'unset';

export interface SeccompSummary {
  kind: SeccompKind;
  /** For custom JSON profiles: the profile's defaultAction, when it parses. */
  defaultAction?: string;
  /** For custom JSON profiles: how many syscall rules it has (0 with a default allow = no filter). */
  syscallRules?: number;
}

/** What a seccomp value means, without keeping the (possibly huge) JSON around. */
export function summarizeSeccomp(value: string | null): SeccompSummary {
  if (value === null) return { kind: 'unset' };
  if (value === 'unconfined') return { kind: 'unconfined' };
  if (value === 'builtin' || value === 'default' || value === '') return { kind: 'builtin' };
  try {
    const profile: unknown = JSON.parse(value);
    if (profile && typeof profile === 'object') {
      const p = profile as { defaultAction?: unknown; syscalls?: unknown };
      return {
        kind: 'custom',
        ...(typeof p.defaultAction === 'string' ? { defaultAction: p.defaultAction } : {}),
        syscallRules: Array.isArray(p.syscalls) ? p.syscalls.length : 0,
      };
    }
  } catch {
    // Not JSON: a profile the daemon will resolve some other way; call it custom.
  }
  return { kind: 'custom' };
}
