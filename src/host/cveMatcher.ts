// Known container-escape CVEs against the versions this host runs. Pure: the facts arrive as data
// (collected elsewhere from uname, /proc and the Docker API), the CVE list comes from cveData.ts.
//
// Verdicts, in order of concern:
//   vulnerable           the version is inside an affected range and the version string can be trusted
//                        (upstream kernel, or any runc/containerd/engine version);
//   possibly_vulnerable  a distribution kernel whose upstream base is inside a range: distributions
//                        backport fixes without changing the upstream version, so only the vendor can tell;
//   not_affected         outside every range, or a prerequisite the exploit needs is absent on this host;
//   unknown              the component's version is not known or cannot be parsed (never a finding).
// Host prerequisites then exclude, lower or raise the version verdict; each step is explained in `reason`.
import { ATTACK } from '../rules/attack.js';
import { globMatcher } from '../audit/exceptions.js';
import { severityRank, SEVERITIES, type Finding, type Severity } from '../model/finding.js';
import {
  compareParsed,
  distroKernelVersion,
  parseKernelRelease,
  parseVersion,
  upstreamString,
  type KernelDistro,
  type ParsedVersion,
} from './versions.js';

export const CVE_COMPONENTS = ['kernel', 'runc', 'containerd', 'engine', 'podman'] as const;
export type CveComponent = (typeof CVE_COMPONENTS)[number];

export const CVE_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type CveSeverity = (typeof CVE_SEVERITIES)[number];

/** The prerequisite vocabulary: each one is a fact the host can check (see PREREQUISITE_CHECKS). */
export const PREREQUISITES = [
  'cgroup_v1',
  'unprivileged_userns',
  'unprivileged_bpf',
  'no_apparmor_selinux',
  'no_selinux',
  'apparmor',
  'authz_plugin',
  'host_network_containers',
  'cri_plugin',
] as const;
export type Prerequisite = (typeof PREREQUISITES)[number];

/** One affected range: introduced <= v < fixed, or introduced <= v <= last_affected. */
export interface CveRange {
  /** First affected version; absent means "every earlier version". */
  introduced?: string;
  /** First fixed version of this branch (exclusive upper bound). */
  fixed?: string;
  /** Last affected version (inclusive upper bound) when the record names no fixed release. */
  last_affected?: string;
}

export interface CveEntry {
  id: string;
  component: CveComponent;
  title: string;
  severity: CveSeverity;
  /** Kernel entries only: the CVE exists only in this distribution's kernel; ranges use its ABI numbers. */
  distro?: KernelDistro;
  affected: CveRange[];
  prerequisites: Prerequisite[];
  /** Conditions the host cannot check (for people reading the data file; not used by the matcher). */
  notes?: string;
  references: string[];
}

/** An operator's acknowledgement: the CVE stays reported but is marked as accepted. */
export interface CveAck {
  cve: string;
  reason: string;
  /** Glob on the host name; absent means every host. */
  host?: string;
  /** YYYY-MM-DD; the acknowledgement applies through that day. */
  expires?: string;
}

/** What the matcher needs to know about the host. Versions are null when they could not be read. */
export interface CveHostFacts {
  kernelRelease: string | null;
  /** The Docker Engine's version; null on a Podman host (its CVEs are not Podman's). */
  engineVersion: string | null;
  /** Podman's version; null or absent on a Docker host. */
  podmanVersion?: string | null;
  runcVersion: string | null;
  containerdVersion: string | null;
  cgroupV1Mounted: boolean;
  /** null when neither kernel.unprivileged_userns_clone nor user.max_user_namespaces could be read. */
  unprivilegedUsernsAllowed: boolean | null;
  apparmor: boolean;
  selinux: boolean;
  authzPlugins: string[];
  /** Running containers with --network=host. */
  hostNetworkContainers: number;
  /** kernel.unprivileged_bpf_disabled == 0; absent or null when unknown. */
  unprivilegedBpfAllowed?: boolean | null;
  /** containerd's CRI plugin is enabled (Kubernetes path); absent or null when unknown. */
  criPluginEnabled?: boolean | null;
  /** For acknowledgements restricted to some hosts. */
  hostname?: string;
}

export type CveVerdictKind = 'vulnerable' | 'possibly_vulnerable' | 'not_affected' | 'unknown';

export interface CveVerdict {
  cve: string;
  component: CveComponent;
  title: string;
  verdict: CveVerdictKind;
  /** Entry severity after the adjustments explained in `reason`. */
  severity: Severity;
  /** The component version that was checked, as reported. */
  version: string | null;
  /** Fixed version of the matching range; null when none matched or the range has no fixed release. */
  fixed: string | null;
  /** The matching affected range in human form (">= 1.0.0-rc93, < 1.1.12"); null when none matched. */
  affectedRange: string | null;
  /** Why: range match, distribution build, each prerequisite adjustment, acknowledgement status. */
  reason: string;
  references: string[];
  acknowledged?: { reason: string; expires?: string };
}

// ---------------------------------------------------------------------------------------------------
// Prerequisites: one row per vocabulary word. `met` answers "is the exploit's condition present here?"
// (null: cannot tell). The effects say what a missing (or unknown) condition does to the verdict:
//   exclude → not_affected (the exploit path does not exist on this host);
//   lower   → one level down (vulnerable → possibly_vulnerable) and one severity step down;
//   keep    → no change, only a note.
// `onMet: 'raise'` is for conditions whose absence is what the published rating assumed (CVSS "attack
// complexity high"): seeing them present means the escape is reachable now, so severity goes one step up.

type Effect = 'exclude' | 'lower' | 'keep';
interface PrerequisiteCheck {
  met(f: CveHostFacts): boolean | null;
  onUnmet: Effect;
  onUnknown: Effect;
  onMet: 'raise' | 'keep';
  /** Sentence fragments for the reason. */
  metText: string;
  unmetText: string;
  unknownText: string;
}

const PREREQUISITE_CHECKS: Record<Prerequisite, PrerequisiteCheck> = {
  cgroup_v1: {
    met: (f) => f.cgroupV1Mounted,
    onUnmet: 'exclude',
    onUnknown: 'keep',
    onMet: 'keep',
    metText: 'a cgroup v1 hierarchy is mounted',
    unmetText: 'no cgroup v1 hierarchy is mounted, and the exploit needs one',
    unknownText: '',
  },
  unprivileged_userns: {
    met: (f) => f.unprivilegedUsernsAllowed,
    // Still reachable with capabilities (privileged containers), hence lower rather than exclude.
    onUnmet: 'lower',
    onUnknown: 'keep',
    onMet: 'keep',
    metText: 'unprivileged user namespaces are allowed',
    unmetText: 'unprivileged user namespaces are disabled, so only processes that already hold capabilities can reach the bug',
    unknownText: 'whether unprivileged user namespaces are allowed is unknown',
  },
  unprivileged_bpf: {
    met: (f) => f.unprivilegedBpfAllowed ?? null,
    onUnmet: 'lower',
    onUnknown: 'keep',
    onMet: 'keep',
    metText: 'unprivileged BPF is allowed',
    unmetText: 'unprivileged BPF is disabled, so only processes with CAP_BPF or CAP_SYS_ADMIN can load programs',
    unknownText: 'whether unprivileged BPF is allowed is unknown',
  },
  no_apparmor_selinux: {
    met: (f) => !f.apparmor && !f.selinux,
    // A container can still be started unconfined, so the mitigation lowers instead of excluding.
    onUnmet: 'lower',
    onUnknown: 'keep',
    onMet: 'keep',
    metText: 'neither AppArmor nor SELinux is enabled in the engine',
    unmetText: 'AppArmor or SELinux is enabled in the engine and blocks the known exploit for confined containers',
    unknownText: '',
  },
  no_selinux: {
    met: (f) => !f.selinux,
    onUnmet: 'lower',
    onUnknown: 'keep',
    onMet: 'keep',
    metText: 'SELinux is not enabled in the engine',
    unmetText: 'SELinux is enabled in the engine and its container policy mitigates the exploit',
    unknownText: '',
  },
  apparmor: {
    met: (f) => f.apparmor,
    onUnmet: 'exclude',
    onUnknown: 'keep',
    onMet: 'keep',
    metText: 'AppArmor is enabled in the engine',
    unmetText: 'AppArmor is not enabled in the engine, so there is no AppArmor confinement to bypass',
    unknownText: '',
  },
  authz_plugin: {
    met: (f) => f.authzPlugins.length > 0,
    onUnmet: 'exclude',
    onUnknown: 'keep',
    onMet: 'keep',
    metText: 'authorization plugins are configured',
    unmetText: 'no authorization plugin is configured, so there is nothing to bypass',
    unknownText: '',
  },
  host_network_containers: {
    met: (f) => f.hostNetworkContainers > 0,
    onUnmet: 'exclude',
    onUnknown: 'keep',
    onMet: 'raise',
    metText: 'containers with host networking are running, so the exploit is reachable now',
    unmetText: 'no container runs with host networking, which the exploit needs',
    unknownText: '',
  },
  cri_plugin: {
    met: (f) => f.criPluginEnabled ?? null,
    onUnmet: 'exclude',
    // Docker's own containerd configuration disables CRI, so "unknown" leans towards not reachable.
    onUnknown: 'lower',
    onMet: 'keep',
    metText: "containerd's CRI plugin is enabled",
    unmetText: "containerd's CRI plugin is disabled; the bug is only reachable through CRI (Kubernetes)",
    unknownText: "whether containerd's CRI plugin is enabled is unknown (Docker's containerd setup usually disables it)",
  },
};

// ---------------------------------------------------------------------------------------------------
// Version ranges

/** Human form of a range, e.g. ">= 1.0.0-rc93, < 1.1.12". */
export function formatRange(r: CveRange): string {
  const parts: string[] = [];
  if (r.introduced) parts.push(`>= ${r.introduced}`);
  if (r.fixed) parts.push(`< ${r.fixed}`);
  if (r.last_affected) parts.push(`<= ${r.last_affected}`);
  return parts.join(', ') || 'all versions';
}

/**
 * True when `v` lies in the range. `normalise` maps both sides to the comparable form (identity for
 * upstream comparison, distroKernelVersion for records written in a distribution's own versions).
 * A bound that does not parse never matches; cveData.ts rejects such bounds when loading.
 */
export function inRange(
  v: ParsedVersion,
  r: CveRange,
  normalise: (p: ParsedVersion) => ParsedVersion = (p) => p,
): boolean {
  const bound = (s: string | undefined): ParsedVersion | null | undefined => {
    if (s === undefined) return undefined;
    const p = parseVersion(s);
    return p ? normalise(p) : null;
  };
  const lo = bound(r.introduced);
  const fixed = bound(r.fixed);
  const last = bound(r.last_affected);
  if (lo === null || fixed === null || last === null) return false;
  const x = normalise(v);
  if (lo && compareParsed(x, lo) < 0) return false;
  if (fixed && compareParsed(x, fixed) >= 0) return false;
  if (last && compareParsed(x, last) > 0) return false;
  return true;
}

/** The first range of `ranges` that contains `v`, or null. */
export function matchingRange(
  v: ParsedVersion,
  ranges: readonly CveRange[],
  normalise?: (p: ParsedVersion) => ParsedVersion,
): CveRange | null {
  return ranges.find((r) => inRange(v, r, normalise)) ?? null;
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

const COMPONENT_LABEL: Record<CveComponent, string> = {
  kernel: 'kernel',
  runc: 'runc',
  containerd: 'containerd',
  engine: 'Docker Engine',
  podman: 'Podman',
};

const DISTRO_LABEL: Record<KernelDistro, string> = {
  ubuntu: 'Ubuntu',
  debian: 'Debian',
  rhel: 'RHEL-family',
  fedora: 'Fedora',
  amazon: 'Amazon Linux',
  suse: 'SUSE',
  alpine: 'Alpine',
  arch: 'Arch Linux',
  azurelinux: 'Azure Linux',
  photon: 'Photon OS',
  raspberrypi: 'Raspberry Pi OS',
};

function componentVersion(c: CveComponent, f: CveHostFacts): string | null {
  switch (c) {
    case 'kernel':
      return f.kernelRelease;
    case 'runc':
      return f.runcVersion;
    case 'containerd':
      return f.containerdVersion;
    case 'engine':
      return f.engineVersion;
    case 'podman':
      return f.podmanVersion ?? null;
  }
}

const LEVELS: CveVerdictKind[] = ['not_affected', 'possibly_vulnerable', 'vulnerable'];

/** Severity moved by `steps` (negative = lower), kept within low…critical: a real CVE is never "info". */
function shiftSeverity(s: CveSeverity, steps: number): Severity {
  const rank = Math.min(severityRank('critical'), Math.max(severityRank('low'), severityRank(s) + steps));
  return SEVERITIES[rank] as Severity;
}

interface VersionResult {
  level: number; // index into LEVELS
  steps: number; // severity adjustment so far
  range: CveRange | null;
  parts: string[];
}

/** The verdict from versions alone; null when the version is unknown or unparseable. */
function versionVerdict(entry: CveEntry, raw: string): VersionResult | null {
  const label = COMPONENT_LABEL[entry.component];
  if (entry.component !== 'kernel') {
    const v = parseVersion(raw);
    if (!v) return null;
    const range = matchingRange(v, entry.affected);
    if (!range) return { level: 0, steps: 0, range, parts: [`${label} ${raw} is outside every affected range`] };
    const parts = [`${label} ${raw} is in the affected range ${formatRange(range)}`];
    // The acceptance rule is that userland versions are trusted as reported; the hint tells the operator
    // where a backport may hide (Debian's runc 1.1.5+ds1-1+deb12u1 carries the CVE-2024-21626 fix).
    if (v.suffix) {
      parts.push(
        `the suffix "${v.suffix}" marks a distribution or custom build, which may carry a backported fix: ` +
          'check the package changelog and acknowledge the CVE if it is fixed',
      );
    }
    return { level: 2, steps: 0, range, parts };
  }

  const k = parseKernelRelease(raw);
  if (!k) return null;
  const base = upstreamString(k.upstream);
  if (entry.distro) {
    // A vendor-specific CVE: only that vendor's kernels have the bug, and the record's versions are the
    // vendor's own, so the comparison is exact (up to the upload number uname does not show).
    if (k.distro !== entry.distro) {
      return {
        level: 0,
        steps: 0,
        range: null,
        parts: [`${entry.id} exists only in ${DISTRO_LABEL[entry.distro]} kernels; kernel ${raw} is not one`],
      };
    }
    const range = matchingRange(k.upstream, entry.affected, distroKernelVersion);
    if (!range) return { level: 0, steps: 0, range, parts: [`kernel ${raw} is outside every affected range`] };
    return {
      level: 2,
      steps: 0,
      range,
      parts: [`kernel ${raw} is in the ${DISTRO_LABEL[entry.distro]} affected range ${formatRange(range)}`],
    };
  }

  const range = matchingRange(k.upstream, entry.affected);
  if (!k.distro) {
    const what = `kernel ${raw} (taken as an upstream build, version ${base})`;
    if (!range) return { level: 0, steps: 0, range, parts: [`${what} is outside every affected range`] };
    return { level: 2, steps: 0, range, parts: [`${what} is in the affected range ${formatRange(range)}`] };
  }
  const what = `kernel ${raw} is a ${DISTRO_LABEL[k.distro]} build based on upstream ${base}`;
  if (!range) {
    // Backports work both ways: vendors also carry newer code, so "below introduced" is not proof either.
    return {
      level: 0,
      steps: 0,
      range,
      parts: [`${what}, outside every upstream affected range (vendors also backport features: their tracker is authoritative)`],
    };
  }
  return {
    level: 1,
    steps: -1,
    range,
    parts: [
      `${what}, inside the upstream affected range ${formatRange(range)}; ` +
        'distributions backport fixes without changing the upstream version, so check the vendor tracker',
    ],
  };
}

/** Apply the host prerequisites to an in-range verdict. */
function applyPrerequisites(entry: CveEntry, facts: CveHostFacts, r: VersionResult): void {
  for (const name of entry.prerequisites) {
    const check = PREREQUISITE_CHECKS[name];
    const met = check.met(facts);
    const effect = met === true ? check.onMet : met === false ? check.onUnmet : check.onUnknown;
    const text = met === true ? check.metText : met === false ? check.unmetText : check.unknownText;
    switch (effect) {
      case 'exclude':
        r.level = 0;
        r.parts.push(`not affected here: ${text}`);
        return; // nothing can bring an excluded verdict back
      case 'lower':
        r.level = Math.max(1, r.level - 1);
        r.steps -= 1;
        r.parts.push(`lowered: ${text}`);
        break;
      case 'raise':
        r.steps += 1;
        r.parts.push(`raised: ${text}`);
        break;
      case 'keep':
        if (text) r.parts.push(text);
        break;
    }
  }
}

function findAck(entry: CveEntry, facts: CveHostFacts, acks: readonly CveAck[], today: string): { ack?: CveAck; note?: string } {
  let note: string | undefined;
  for (const ack of acks) {
    if (ack.cve !== entry.id) continue;
    // A host-restricted acknowledgement needs a host name to match against; without one it does not apply.
    // Same glob syntax as the config's exceptions; host names compare case-insensitively (DNS rules).
    if (ack.host !== undefined) {
      if (facts.hostname === undefined || !globMatcher(ack.host.toLowerCase())(facts.hostname.toLowerCase())) continue;
    }
    if (ack.expires !== undefined && ack.expires < today) {
      note = `acknowledgement expired on ${ack.expires}`;
      continue;
    }
    return { ack };
  }
  return note ? { note } : {};
}

export interface EvaluateOptions {
  /** For acknowledgement expiry; defaults to the current date. */
  now?: Date;
}

/** Evaluate every entry against the host: one verdict per entry, in entry order. */
export function evaluateCves(
  entries: readonly CveEntry[],
  facts: CveHostFacts,
  acks: readonly CveAck[] = [],
  options: EvaluateOptions = {},
): CveVerdict[] {
  const today = (options.now ?? new Date()).toISOString().slice(0, 10);
  return entries.map((entry) => {
    const version = componentVersion(entry.component, facts);
    const base = {
      cve: entry.id,
      component: entry.component,
      title: entry.title,
      version,
      references: entry.references,
    };
    let verdict: CveVerdict;
    const r = version === null ? null : versionVerdict(entry, version);
    if (!r) {
      const label = COMPONENT_LABEL[entry.component];
      verdict = {
        ...base,
        verdict: 'unknown',
        severity: entry.severity,
        fixed: null,
        affectedRange: null,
        reason: version === null ? `the ${label} version is not known` : `cannot parse the ${label} version "${version}"`,
      };
    } else {
      if (r.level > 0) applyPrerequisites(entry, facts, r);
      const kind = LEVELS[r.level] as CveVerdictKind;
      verdict = {
        ...base,
        verdict: kind,
        severity: kind === 'not_affected' ? entry.severity : shiftSeverity(entry.severity, r.steps),
        fixed: r.range?.fixed ?? null,
        affectedRange: r.range ? formatRange(r.range) : null,
        reason: r.parts.join('; '),
      };
    }
    const { ack, note } = findAck(entry, facts, acks, today);
    if (ack) {
      verdict.acknowledged = ack.expires ? { reason: ack.reason, expires: ack.expires } : { reason: ack.reason };
      verdict.reason += `; acknowledged by the operator: ${ack.reason}`;
    } else if (note) {
      verdict.reason += `; ${note}`;
    }
    return verdict;
  });
}

// ---------------------------------------------------------------------------------------------------
// Findings

function fixedText(v: CveVerdict): string {
  if (v.fixed) return `fixed in ${v.fixed}`;
  return `no fixed release recorded for the affected range ${v.affectedRange ?? '?'}`;
}

/** Findings (rule known_cve) for vulnerable and possibly vulnerable verdicts; the others produce none. */
export function cveFindings(verdicts: readonly CveVerdict[]): Finding[] {
  const out: Finding[] = [];
  for (const v of verdicts) {
    if (v.verdict !== 'vulnerable' && v.verdict !== 'possibly_vulnerable') continue;
    const label = COMPONENT_LABEL[v.component];
    const how = v.verdict === 'vulnerable' ? 'is vulnerable to' : 'is possibly vulnerable to';
    const finding: Finding = {
      rule: 'known_cve',
      // A known escape CVE is exploited to get out: privilege escalation by exploiting a bug.
      attack: ATTACK.privilegeEscalation.id,
      severity: v.severity,
      message: `${label} ${v.version ?? '?'} ${how} ${v.cve} (${v.title}); ${fixedText(v)}`,
      evidence: {
        component: v.component,
        version: v.version,
        fixed: v.fixed,
        affected: v.affectedRange,
        verdict: v.verdict,
        reason: v.reason,
      },
      cve: v.cve,
    };
    if (v.acknowledged) finding.excepted = { ...v.acknowledged };
    out.push(finding);
  }
  return out;
}
