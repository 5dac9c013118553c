// Version strings as the host reports them: upstream releases, release candidates, distribution
// packages and kernel releases. Comparison looks at the upstream part only (numeric core + pre-release);
// whatever a distribution or a local build appends is kept as `suffix` and never affects ordering,
// because it says nothing about which upstream fixes are in (see isDistributionKernel for kernels).

/** Pre-release labels, lowest first: "1.0.0-dev" < "-alpha" < "-beta" < "-pre" < "-rc" < "1.0.0". */
const PRE_LABELS = ['dev', 'alpha', 'beta', 'pre', 'rc'] as const;
type PreLabel = (typeof PRE_LABELS)[number];

export interface ParsedVersion {
  /** The string as given. */
  raw: string;
  /** Numeric core: "1.0-rc6" → [1, 0]; missing trailing parts compare as 0. */
  release: number[];
  /** Pre-release, e.g. rc 93 for "1.0.0-rc93" and "1.4.0-rc.3"; null for a release. */
  pre: { label: PreLabel; num: number[] } | null;
  /** Everything after the upstream part ("+ds1", "~ds1-1+deb12u3", "-27-amd64", "-fc-v782"); ignored by compare. */
  suffix: string;
}

// The core needs at least major.minor: a git commit such as "7b11cfaa…" or a bare "20" is not a version.
const CORE = /^(\d+(?:\.\d+)+)/;
// A pre-release directly after the core. The label must end at a separator so that Debian's "~ds1"
// (a repacked release) or "+deb12u3" are not mistaken for "dev"/"pre"-style labels; "~rc1" is
// Debian's spelling of an upstream release candidate and counts.
const PRE = /^[-~.]?(dev|alpha|beta|pre|rc)\.?(\d+(?:\.\d+)*)?(?=$|[-+~_.])/i;

/** Parse a version; null when the string has no recognisable numeric core (empty, "unknown", a commit id). */
export function parseVersion(input: string): ParsedVersion | null {
  const raw = input;
  let s = input.trim();
  if (/^v\d/i.test(s)) s = s.slice(1); // containerd and Go modules say "v1.7.0"
  const core = CORE.exec(s);
  if (!core) return null;
  const release = (core[1] as string).split('.').map(Number);
  let rest = s.slice(core[0].length);
  let pre: ParsedVersion['pre'] = null;
  const p = PRE.exec(rest);
  if (p) {
    pre = {
      label: (p[1] as string).toLowerCase() as PreLabel,
      num: p[2] ? p[2].split('.').map(Number) : [],
    };
    rest = rest.slice(p[0].length);
  }
  // After the upstream part only a separator may follow; "1.2x" is not a version we understand.
  if (rest !== '' && !/^[-+~_.]/.test(rest)) return null;
  return { raw, release, pre, suffix: rest };
}

function compareNumbers(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Order two parsed versions by upstream release and pre-release; suffixes are ignored. */
export function compareParsed(a: ParsedVersion, b: ParsedVersion): number {
  const r = compareNumbers(a.release, b.release);
  if (r !== 0) return r;
  if (!a.pre || !b.pre) return a.pre ? -1 : b.pre ? 1 : 0; // a pre-release sorts before its release
  const l = PRE_LABELS.indexOf(a.pre.label) - PRE_LABELS.indexOf(b.pre.label);
  if (l !== 0) return Math.sign(l);
  return compareNumbers(a.pre.num, b.pre.num);
}

/** Compare two version strings (-1, 0, 1). Throws on a string parseVersion cannot read. */
export function compareVersions(a: string, b: string): number {
  return compareParsed(mustParse(a), mustParse(b));
}

export function mustParse(v: string): ParsedVersion {
  const p = parseVersion(v);
  if (!p) throw new Error(`not a version: "${v}"`);
  return p;
}

/** The upstream part as a normalised string: "1.0-rc6" → "1.0-rc.6", "v1.7.0" → "1.7.0". */
export function upstreamString(p: ParsedVersion): string {
  const pre = p.pre ? `-${p.pre.label}${p.pre.num.length ? `.${p.pre.num.join('.')}` : ''}` : '';
  return p.release.join('.') + pre;
}

// ---------------------------------------------------------------------------------------------------
// Kernel releases (uname -r)

export const KERNEL_DISTROS = [
  'ubuntu',
  'debian',
  'rhel',
  'fedora',
  'amazon',
  'suse',
  'alpine',
  'arch',
  'azurelinux',
  'photon',
  'raspberrypi',
] as const;
export type KernelDistro = (typeof KERNEL_DISTROS)[number];

// Patterns on the suffix after the upstream version. Debian and Ubuntu share the "-ABI-flavour" shape,
// so they are told apart by flavour name. The lists are deliberately explicit: a suffix that matches
// nothing here is a local or vendor build we know nothing about, and its version is taken at face value.
const UBUNTU_FLAVOURS =
  'generic|generic-64k|generic-lpae|lowlatency|lowlatency-64k|aws|azure|azure-fde|gcp|gke|gkeop|oracle|' +
  'oracle-64k|kvm|ibm|nvidia|nvidia-64k|nvidia-lowlatency|oem|raspi|raspi-nolpae|xilinx-zynqmp|intel-iotg|realtime|virtual';
const DEBIAN_FLAVOURS =
  'amd64|arm64|arm64-16k|686|686-pae|armmp|armmp-lpae|cloud-amd64|cloud-arm64|rt-amd64|rt-arm64|rt-686-pae|' +
  'rt-armmp|powerpc64le|ppc64el|s390x|marvell|rpi|octeon|loongson-3|4kc-malta|5kc-malta|mips32r2el|mips64r2el|' +
  'riscv64|loong64';

const DISTRO_PATTERNS: ReadonlyArray<[KernelDistro, RegExp]> = [
  ['ubuntu', new RegExp(`^-\\d+-(?:${UBUNTU_FLAVOURS})$`)], // 5.15.0-91-generic, 6.8.0-1015-aws
  // 6.1.0-27-amd64, backports 6.1.0-0.deb11.13-amd64, Debian 13 6.12.38+deb13-amd64, 6.12.9+bpo-amd64
  ['debian', new RegExp(`^(?:-\\d+(?:\\.deb\\d+\\.\\d+)?|\\+deb\\d+(?:\\.\\d+)?|\\+bpo)-(?:${DEBIAN_FLAVOURS})$`)],
  ['raspberrypi', /^(?:\+rpt-rpi-|-v[678]l?\+$)/], // 6.6.31+rpt-rpi-v8, 6.1.21-v8+
  ['rhel', /\.el\d+/], // 4.18.0-477.el8.x86_64, 5.15.0-200.131.27.el9uek.x86_64 (Oracle UEK)
  ['fedora', /\.fc\d+/], // 6.5.6-300.fc39.x86_64 (note the dot: "-fc-v782" is not Fedora)
  ['amazon', /\.amzn\d+/], // 5.10.228-219.884.amzn2.x86_64
  ['azurelinux', /\.(?:cm|azl)\d+/], // 5.15.138.1-4.cm2, 6.6.57.1-1.azl3
  ['photon', /\.ph\d+/], // 4.19.225-3.ph3
  ['suse', /^-\d+(?:\.\d+)*-(?:default|azure|rt|64kb|kvmsmall|preempt)$/], // 5.14.21-150500.55.39-default
  ['alpine', /^-\d+-(?:lts|virt|edge|rpi|rpi4|rpi2)$/], // 6.6.8-0-lts
  ['arch', /^-arch\d+-\d+$/], // 6.6.1-arch1-1
];

export interface KernelRelease {
  raw: string;
  /** The upstream version the build is based on ("5.15.0-91-generic" → 5.15.0). */
  upstream: ParsedVersion;
  /** The recognised distribution, or null for an upstream/vanilla or unknown local build. */
  distro: KernelDistro | null;
  /**
   * Debian/Ubuntu-style ABI number ("5.4.0-72-generic" → 72), or null. Vendor records such as Canonical's
   * state fixed versions as package versions ("5.4.0-72.80"); uname only shows the ABI part.
   */
  abi: number | null;
}

/** Parse `uname -r`; null when it does not start with a version. */
export function parseKernelRelease(release: string): KernelRelease | null {
  const upstream = parseVersion(release);
  if (!upstream) return null;
  const distro = DISTRO_PATTERNS.find(([, re]) => re.test(upstream.suffix))?.[0] ?? null;
  const abiMatch = /^-(\d+)(?=[.-]|$)/.exec(upstream.suffix);
  return { raw: release, upstream, distro, abi: abiMatch ? Number(abiMatch[1]) : null };
}

/**
 * True for a distribution build (Debian, Ubuntu, RHEL and rebuilds, Fedora, Amazon, SUSE, Alpine, Arch,
 * Azure Linux, Photon, Raspberry Pi OS). Distributions backport fixes without changing the upstream
 * version, so for them an upstream range can only say "possibly vulnerable". A kernel whose suffix matches
 * no known pattern (none at all as in "6.18.44", or a local build tag such as "-fc-v782", "-gentoo",
 * "-flatcar") is treated as upstream: its version is taken as-is.
 */
export function isDistributionKernel(release: string): boolean {
  return parseKernelRelease(release)?.distro != null;
}

/**
 * The version to compare against a distribution's own records: upstream core plus the ABI number as an
 * extra component ("5.4.0-72-generic" → 5.4.0.72, and the record's "5.4.0-72.80" → 5.4.0.72).
 * The upload number after the ABI (".80") is not visible in uname -r and is therefore dropped.
 */
export function distroKernelVersion(v: ParsedVersion): ParsedVersion {
  const abi = /^-(\d+)(?=[.-]|$)/.exec(v.suffix);
  const release = [...v.release];
  while (release.length < 3) release.push(0);
  release.push(abi ? Number(abi[1]) : 0);
  return { ...v, release };
}
