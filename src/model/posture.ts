// The Docker daemon's security posture, derived from GET /info and GET /version.
// Pure: the Docker source fetches the JSON, this turns it into facts the rules can use.
import type { DockerInfo, DockerVersion } from './dockerTypes.js';
import { sanitize } from '../log/sanitize.js';

/** Which engine answers the Docker-compatible API. */
export type EngineKind = 'docker' | 'podman';

export interface DaemonPosture {
  /** Docker Engine or Podman (its `system service` speaks the same API): decides which CVEs apply. */
  engine: EngineKind;
  /** False when /info had no SecurityOptions at all (API < 1.24): unknown, not "off". */
  securityOptionsKnown: boolean;
  usernsRemap: boolean;
  rootless: boolean;
  /** builtin | default | unconfined | <path of a custom profile>; null when seccomp is not available. */
  seccompProfile: string | null;
  apparmor: boolean;
  selinux: boolean;
  noNewPrivileges: boolean;
  cgroupVersion: string | null;
  cgroupDriver: string | null;
  defaultRuntime: string | null;
  runtimes: string[];
  /** The runtimes' executables as /info names them (`Runtimes.<name>.path`: "runc", or an absolute path). */
  runtimePaths: string[];
  liveRestore: boolean;
  authorizationPlugins: string[];
  dockerRootDir: string | null;
  warnings: string[];
  version: string | null;
  apiVersion: string | null;
  /** runc's version: Docker's `runc` component, or Podman's OCI runtime when that is runc. */
  runc: string | null;
  containerd: string | null;
  /** The OCI runtime Podman reports (crun or runc) with its version; null for Docker (see runc). */
  ociRuntime: { name: string; version: string | null } | null;
  /** Podman's container monitor, conmon. */
  conmon: string | null;
  dockerInit: string | null;
  kernelVersion: string | null;
  operatingSystem: string | null;
}

/**
 * Parse /info SecurityOptions: each entry is "name=X,key=value,…" (the Docker client's DecodeOptions).
 * Returns a map from option name to its extra key/values.
 */
export function parseSecurityOptions(entries: readonly string[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const entry of entries) {
    if (typeof entry !== 'string') continue;
    const kv: Record<string, string> = {};
    for (const part of entry.split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      kv[part.slice(0, eq)] = part.slice(eq + 1);
    }
    if (kv.name) out.set(kv.name, kv);
  }
  return out;
}

/** Longest string kept from /info or /version: versions, paths and names are far shorter. */
const MAX_FIELD = 256;

/**
 * The JSON is untrusted: a field of the wrong type counts as absent, and a string keeps no control
 * characters and at most MAX_FIELD characters (it reaches labels, logs and terminals).
 */
function str(v: unknown): string | null {
  return typeof v === 'string' ? sanitize(v, MAX_FIELD) : null;
}
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 100).map((x) => sanitize(x, MAX_FIELD)) : [];
}

function componentVersion(version: DockerVersion, name: string): string | null {
  const comps: unknown = version.Components;
  if (!Array.isArray(comps)) return null;
  const c = comps.find((x: unknown) => typeof (x as { Name?: unknown })?.Name === 'string' && (x as { Name: string }).Name.toLowerCase() === name.toLowerCase()) as
    | { Version?: unknown }
    | undefined;
  return str(c?.Version);
}

/** A component whose name matches, e.g. Podman's "OCI Runtime (crun)" or "Conmon". */
function componentMatching(version: DockerVersion, name: RegExp): { name: string; version: string | null } | null {
  const comps: unknown = version.Components;
  if (!Array.isArray(comps)) return null;
  for (const x of comps as unknown[]) {
    const n = (x as { Name?: unknown })?.Name;
    if (typeof n === 'string' && name.test(n)) return { name: n, version: str((x as { Version?: unknown }).Version) };
  }
  return null;
}

/**
 * Podman writes whole tool banners as component versions ("crun version 1.8.1\ncommit: …",
 * "conmon version 2.1.6, commit: unknown"): the version is the token after "version".
 */
export function bannerVersion(banner: string | null): string | null {
  if (banner === null) return null;
  const m = /\bversion\s+v?([0-9][0-9A-Za-z.+~_-]*)/.exec(banner);
  return m ? (m[1] as string).replace(/[,;]$/, '') : banner.split(/[\s,]/)[0] || null;
}

/** Podman names itself in /version ("Podman Engine" component); anything else is Docker's API. */
export function engineKind(version: DockerVersion): EngineKind {
  if (componentMatching(version, /^podman\b/i)) return 'podman';
  const platform = (version as { Platform?: { Name?: unknown } }).Platform?.Name;
  return typeof platform === 'string' && /podman/i.test(platform) ? 'podman' : 'docker';
}

/** Podman's libpod /info: host.security.rootless, which its Docker-compatible /info leaves out. */
export function libpodRootless(libpodInfo: unknown): boolean {
  const security = (libpodInfo as { host?: { security?: { rootless?: unknown } } } | null)?.host?.security;
  return security?.rootless === true;
}

export function postureFrom(rawInfo: DockerInfo, rawVersion: DockerVersion, libpodInfo?: unknown): DaemonPosture {
  const info: DockerInfo = rawInfo && typeof rawInfo === 'object' ? rawInfo : {};
  const version: DockerVersion = rawVersion && typeof rawVersion === 'object' ? rawVersion : {};
  const known = Array.isArray(info.SecurityOptions);
  const opts = parseSecurityOptions(strings(info.SecurityOptions));
  const seccomp = opts.get('seccomp');
  const engine = engineKind(version);
  const oci = engine === 'podman' ? componentMatching(version, /^oci runtime\b/i) : null;
  // "OCI Runtime (crun)": the runtime's name is in parentheses; the version is in its banner.
  const ociRuntime = oci ? { name: /\(([^)]+)\)/.exec(oci.name)?.[1]?.toLowerCase() ?? 'unknown', version: bannerVersion(oci.version) } : null;
  return {
    engine,
    securityOptionsKnown: known,
    usernsRemap: opts.has('userns'),
    rootless: opts.has('rootless') || libpodRootless(libpodInfo),
    seccompProfile: seccomp ? (seccomp.profile ?? 'default') : null,
    apparmor: opts.has('apparmor'),
    selinux: opts.has('selinux'),
    noNewPrivileges: opts.has('no-new-privileges'),
    cgroupVersion: str(info.CgroupVersion),
    cgroupDriver: str(info.CgroupDriver),
    defaultRuntime: str(info.DefaultRuntime),
    runtimes: info.Runtimes && typeof info.Runtimes === 'object' && !Array.isArray(info.Runtimes) ? Object.keys(info.Runtimes) : [],
    runtimePaths: info.Runtimes && typeof info.Runtimes === 'object' && !Array.isArray(info.Runtimes)
      ? strings(Object.values(info.Runtimes).map((r: unknown) => (r && typeof r === 'object' ? (r as { path?: unknown }).path : undefined)))
      : [],
    liveRestore: info.LiveRestoreEnabled === true,
    authorizationPlugins: strings(info.Plugins && typeof info.Plugins === 'object' ? info.Plugins.Authorization : null),
    dockerRootDir: str(info.DockerRootDir),
    warnings: strings(info.Warnings),
    version: str(version.Version) ?? componentVersion(version, 'Engine') ?? str(info.ServerVersion),
    apiVersion: str(version.ApiVersion),
    runc: engine === 'podman' ? (ociRuntime?.name === 'runc' ? ociRuntime.version : null) : componentVersion(version, 'runc'),
    containerd: engine === 'podman' ? null : componentVersion(version, 'containerd'),
    ociRuntime,
    conmon: engine === 'podman' ? bannerVersion(componentMatching(version, /^conmon$/i)?.version ?? null) : null,
    dockerInit: componentVersion(version, 'docker-init'),
    kernelVersion: str(info.KernelVersion) ?? str(version.KernelVersion),
    operatingSystem: str(info.OperatingSystem),
  };
}
