// What the host-exposure evaluation needs to know about the machine: kernel, distribution, cgroup
// layout, user-namespace and BPF sysctls, plus what the Docker daemon reports about itself.
//
// rootwatch may run natively (procfs = /proc) or in a container with the host's /proc at /host/proc.
// systeminformation only sees the local system, which in a container is the container's image, so in
// that case the host's own files (through procfs) are preferred and systeminformation is the fallback.
// Every read is best-effort: a missing or unreadable file makes the fact unknown, never an exception.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname as osHostname, release as osRelease } from 'node:os';
import { join, resolve } from 'node:path';
import type { DaemonPosture } from '../model/posture.js';
import { CgroupTree } from '../proc/cgroupTree.js';
import type { CveHostFacts } from './cveMatcher.js';

export type CgroupVersion = 1 | 2 | 'hybrid';

/** The matcher's facts plus what the host-info metric and reports show. */
export interface HostFacts extends CveHostFacts {
  /** Always known: the evaluation falls back to the local host name. */
  hostname: string;
  /** Distribution name ("Debian GNU/Linux"), null when unknown. */
  distro: string | null;
  /** Distribution version ("12"), null when unknown. */
  distroVersion: string | null;
  /** CPU architecture as Node names it ("x64", "arm64"); null when unknown. */
  arch: string | null;
  /** Cgroup layout of the mounted hierarchies; null when nothing could be read. */
  cgroupVersion: CgroupVersion | null;
  unprivilegedBpfAllowed: boolean | null;
}

export interface CollectHostFactsOptions {
  procfs: string;
  sysfs: string;
  posture: DaemonPosture;
  /** Running containers with --network=host (from the inventory). */
  hostNetworkContainers: number;
}

/** First line of a file, trimmed; null when it cannot be read or is empty. */
function readLine(path: string): string | null {
  try {
    const line = readFileSync(path, 'utf8').split('\n')[0]?.trim();
    return line ? line : null;
  } catch {
    return null;
  }
}

/** KEY=value pairs of an os-release file, surrounding quotes removed. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    out[m[1] as string] = (m[2] as string).replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

function readOsRelease(path: string): Record<string, string> | null {
  try {
    return parseOsRelease(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * May unprivileged users create user namespaces? Most kernel escapes reach their bug through
 * capabilities held inside a fresh user namespace. Any switch that turns it off wins; null when no
 * switch is readable.
 */
export function unprivilegedUsernsAllowed(procfs: string): boolean | null {
  const values = [
    readLine(join(procfs, 'sys/kernel/unprivileged_userns_clone')), // Debian/Ubuntu patch: 0 = off
    readLine(join(procfs, 'sys/user/max_user_namespaces')), // upstream: 0 = no user namespaces at all
  ];
  if (values.includes('0')) return false;
  // Ubuntu 23.10+: unconfined processes still get a user namespace, but without any capability in it,
  // which closes the same exploit paths as switching unprivileged user namespaces off.
  if (readLine(join(procfs, 'sys/kernel/apparmor_restrict_unprivileged_userns')) === '1') return false;
  return values.some((v) => v !== null) ? true : null;
}

/** kernel.unprivileged_bpf_disabled: 0 = allowed, 1 or 2 = disabled; null when unreadable. */
export function unprivilegedBpfAllowed(procfs: string): boolean | null {
  const v = readLine(join(procfs, 'sys/kernel/unprivileged_bpf_disabled'));
  return v === null ? null : v === '0';
}

/**
 * Cgroup layout from <sysfs>/fs/cgroup, for when mountinfo is unreadable: a cgroup2 root has
 * cgroup.controllers; v1 hierarchies are subdirectories with cgroup.procs but no cgroup.controllers.
 */
function cgroupVersionFromSysfs(sysfs: string): CgroupVersion | null {
  const root = join(sysfs, 'fs/cgroup');
  if (existsSync(join(root, 'cgroup.controllers'))) return 2;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return null;
  }
  const v2 = existsSync(join(root, 'unified', 'cgroup.controllers'));
  const v1 = names.some((n) => n !== 'unified' && existsSync(join(root, n, 'cgroup.procs')) && !existsSync(join(root, n, 'cgroup.controllers')));
  return v1 && v2 ? 'hybrid' : v1 ? 1 : v2 ? 2 : null;
}

/** Mountinfo first (what is actually mounted), then sysfs, then what the daemon says ("1"/"2"). */
function cgroupVersion(procfs: string, sysfs: string, posture: DaemonPosture): CgroupVersion | null {
  const fromMounts = CgroupTree.fromProc(procfs).version;
  if (fromMounts !== null) return fromMounts;
  const fromSysfs = cgroupVersionFromSysfs(sysfs);
  if (fromSysfs !== null) return fromSysfs;
  return posture.cgroupVersion === '1' ? 1 : posture.cgroupVersion === '2' ? 2 : null;
}

interface OsInfo {
  kernel: string;
  distro: string;
  release: string;
  hostname: string;
  arch: string;
}

/**
 * The local system: the kernel, /etc/os-release, the host name and Node's architecture, read directly
 * (the audit CLI must start fast). systeminformation, which knows more distributions' quirks and
 * shells out on some paths, is loaded only when /etc/os-release cannot be read.
 */
async function localOsInfo(): Promise<OsInfo | null> {
  const rel = readOsRelease('/etc/os-release') ?? readOsRelease('/usr/lib/os-release');
  if (rel?.NAME) return { kernel: osRelease(), distro: rel.NAME, release: rel.VERSION_ID ?? '', hostname: osHostname(), arch: process.arch };
  try {
    const { default: si } = await import('systeminformation');
    return await si.osInfo();
  } catch {
    return null;
  }
}

export async function collectHostFacts(opts: CollectHostFactsOptions): Promise<HostFacts> {
  const { procfs, sysfs, posture } = opts;
  // In a container the local files describe the image, not the host: read the host's through procfs.
  const foreign = resolve(procfs) !== '/proc';
  const os = await localOsInfo();

  let kernelRelease: string | null = null;
  let distro: string | null = null;
  let distroVersion: string | null = null;
  let hostname: string | null = null;
  if (foreign) {
    // The kernel is shared, so osrelease is the host's. The root of pid 1 (with --pid=host: the host's
    // init) gives the host's os-release and host name; without access to it the local values are used.
    kernelRelease = readLine(join(procfs, 'sys/kernel/osrelease'));
    const hostRoot = join(procfs, '1/root');
    const rel = readOsRelease(join(hostRoot, 'etc/os-release')) ?? readOsRelease(join(hostRoot, 'usr/lib/os-release'));
    distro = rel?.NAME ?? null;
    distroVersion = rel?.VERSION_ID ?? null;
    hostname = readLine(join(hostRoot, 'etc/hostname'));
  }
  kernelRelease ??= os?.kernel || posture.kernelVersion;
  if (!foreign || distro === null) {
    distro = os?.distro || null;
    distroVersion = os?.release || null;
  }
  hostname ??= os?.hostname || osHostname();

  const cgroup = cgroupVersion(procfs, sysfs, posture);
  return {
    kernelRelease: kernelRelease ?? null,
    // An engine's own CVEs are matched against that engine only: Podman's version is no Docker version.
    engineVersion: posture.engine === 'docker' ? posture.version : null,
    podmanVersion: posture.engine === 'podman' ? posture.version : null,
    runcVersion: posture.runc,
    containerdVersion: posture.containerd,
    cgroupV1Mounted: cgroup === 1 || cgroup === 'hybrid',
    unprivilegedUsernsAllowed: unprivilegedUsernsAllowed(procfs),
    apparmor: posture.apparmor,
    selinux: posture.selinux,
    authzPlugins: [...posture.authorizationPlugins],
    hostNetworkContainers: opts.hostNetworkContainers,
    unprivilegedBpfAllowed: unprivilegedBpfAllowed(procfs),
    // Docker's bundled containerd config disables CRI and the API does not say: leave it unknown.
    criPluginEnabled: null,
    hostname,
    distro,
    distroVersion,
    arch: os?.arch || null,
    cgroupVersion: cgroup,
  };
}
