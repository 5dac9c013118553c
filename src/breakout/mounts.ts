// Mounts a container holds that it was not given. A container's mount namespace normally holds its
// root filesystem (overlay), pseudo filesystems of its own, and the host files Docker declares: the
// Mounts of its inspect data (binds, volumes) and resolv.conf, hostname and hosts. A mount of a host
// block filesystem that none of those explains (the host's root device mounted at /mnt after
// `mount /dev/sda1 /mnt`, a subtree of it bound in later) gives the container the host's files.
// Pure: mountinfo text in, hits out; the scanner reads the files.
import type { BreakoutHit, ContainerScope } from './types.js';
import type { MountLine } from '../proc/mountinfo.js';

export { parseMountinfo, type MountLine } from '../proc/mountinfo.js';

function under(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/**
 * Where a host path lies as (device, directory within that filesystem), through the host's mounts:
 * the longest mount point that contains it. Null when no mount does.
 */
export function locateHostPath(path: string, host: readonly MountLine[]): { device: string; fsPath: string } | null {
  let best: MountLine | null = null;
  for (const m of host) {
    if (under(path, m.mountPoint) && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  if (!best) return null;
  const rest = best.mountPoint === '/' ? path : path.slice(best.mountPoint.length);
  const fsPath = `${best.root.replace(/\/$/, '')}${rest}` || '/';
  return { device: best.device, fsPath: fsPath.startsWith('/') ? fsPath : `/${fsPath}` };
}

/** Where a (device, directory within it) is on the host, through a host mount of that device. */
export function hostPathOf(device: string, fsPath: string, host: readonly MountLine[]): string | null {
  for (const m of host) {
    if (m.device !== device || !under(fsPath, m.root)) continue;
    const rest = m.root === '/' ? fsPath : fsPath.slice(m.root.length);
    return m.mountPoint === '/' ? rest || '/' : `${m.mountPoint}${rest === '/' ? '' : rest}`;
  }
  return null;
}

/** Host block filesystems: mounted from a device node (/dev/vda1, /dev/mapper/…), as the host sees them. */
function blockDevices(host: readonly MountLine[]): Set<string> {
  return new Set(host.filter((m) => m.source.startsWith('/dev/')).map((m) => m.device));
}

/**
 * Mounts in the container's namespace (`mounts`, from a process of the container) of a host block
 * filesystem that no declared source explains. `host` is the host reference process's mountinfo.
 */
export function judgeContainerMounts(
  mounts: readonly MountLine[],
  host: readonly MountLine[],
  c: ContainerScope,
  /** Is this (device, directory within it) a directory? null when it cannot be told. */
  isDirectory: (device: string, fsPath: string) => boolean | null = () => null,
): BreakoutHit[] {
  const devices = blockDevices(host);
  const hostRoot = host.find((m) => m.mountPoint === '/');
  const declared = c.declaredSources.map((s) => locateHostPath(s, host)).filter((d): d is { device: string; fsPath: string } => d !== null);
  const hits: BreakoutHit[] = [];
  for (const m of mounts) {
    if (!devices.has(m.device)) continue;
    if (declared.some((d) => d.device === m.device && under(m.root, d.fsPath))) continue;
    // A single file the engine or a runtime hook binds in (docker-init for --init, GPU driver
    // libraries) is no view of the host's tree; a filesystem or directory mounted whole is.
    if (isDirectory(m.device, m.root) === false) continue;
    const hostRootDevice = hostRoot?.device === m.device;
    hits.push({
      reason: 'host_mount_in_container',
      message: `container ${c.name} has ${hostRootDevice ? 'the host\'s root filesystem' : `host filesystem ${m.source}`} (${m.root} of device ${m.device}) mounted at ${m.mountPoint}, which it was not given`,
      evidence: {
        mount_point: m.mountPoint.slice(0, 512), filesystem_root: m.root.slice(0, 512), device: m.device, fstype: m.fsType, source: m.source.slice(0, 256),
        host_root_device: hostRootDevice, declared_sources: c.declaredSources.slice(0, 32).map((s) => s.slice(0, 256)), cgroup_of: c.id,
      },
      container: { id: c.id, name: c.name, image: c.image },
    });
  }
  return hits;
}
