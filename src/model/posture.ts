// The Docker daemon's security posture, derived from GET /info and GET /version.
// Pure: the Docker source fetches the JSON, this turns it into facts the rules can use.
import type { DockerInfo, DockerVersion } from './dockerTypes.js';

export interface DaemonPosture {
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
  liveRestore: boolean;
  authorizationPlugins: string[];
  dockerRootDir: string | null;
  warnings: string[];
  version: string | null;
  apiVersion: string | null;
  runc: string | null;
  containerd: string | null;
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

function componentVersion(version: DockerVersion, name: string): string | null {
  const c = (version.Components ?? []).find((x) => x?.Name?.toLowerCase() === name.toLowerCase());
  return typeof c?.Version === 'string' ? c.Version : null;
}

export function postureFrom(info: DockerInfo, version: DockerVersion): DaemonPosture {
  const known = Array.isArray(info.SecurityOptions);
  const opts = parseSecurityOptions(known ? (info.SecurityOptions as string[]) : []);
  const seccomp = opts.get('seccomp');
  return {
    securityOptionsKnown: known,
    usernsRemap: opts.has('userns'),
    rootless: opts.has('rootless'),
    seccompProfile: seccomp ? (seccomp.profile ?? 'default') : null,
    apparmor: opts.has('apparmor'),
    selinux: opts.has('selinux'),
    noNewPrivileges: opts.has('no-new-privileges'),
    cgroupVersion: info.CgroupVersion ?? null,
    cgroupDriver: info.CgroupDriver ?? null,
    defaultRuntime: info.DefaultRuntime ?? null,
    runtimes: Object.keys(info.Runtimes ?? {}),
    liveRestore: info.LiveRestoreEnabled === true,
    authorizationPlugins: (info.Plugins?.Authorization ?? []).filter((p): p is string => typeof p === 'string'),
    dockerRootDir: info.DockerRootDir ?? null,
    warnings: (info.Warnings ?? []).filter((w): w is string => typeof w === 'string'),
    version: version.Version ?? componentVersion(version, 'Engine') ?? info.ServerVersion ?? null,
    apiVersion: version.ApiVersion ?? null,
    runc: componentVersion(version, 'runc'),
    containerd: componentVersion(version, 'containerd'),
    dockerInit: componentVersion(version, 'docker-init'),
    kernelVersion: info.KernelVersion ?? version.KernelVersion ?? null,
    operatingSystem: info.OperatingSystem ?? null,
  };
}
