// Builds what the breakout detectors need to know about a container from its inspect data and its
// init process (namespaces, cgroup directories).
import { realpathSync } from 'node:fs';
import { rootIsRemapped } from '../audit/context.js';
import { resolveMode } from '../rules/container/fields.js';
import type { ContainerRecord } from '../model/inventory.js';
import type { DaemonPosture } from '../model/posture.js';
import type { CgroupTree } from '../proc/cgroupTree.js';
import type { Namespaces, NsKind, ProcFs } from '../proc/procfs.js';
import { containerCapabilityMask } from './capabilityMask.js';
import type { ContainerScope } from './types.js';

export interface ScopedContainer {
  scope: ContainerScope;
  initPid: number;
  /** Start time of the init process: a reused pid has another one. */
  initStartTime: string;
  /**
   * Cgroup directories (one per mounted hierarchy) holding the container's processes. Every one is
   * listed at each scan: a process can leave any hierarchy on its own (write its pid to that root's
   * cgroup.procs), so membership read from one hierarchy (the unified one, say) misses a process that
   * left just that one. Costs ~0.4 ms per container per scan on a v1 host with ten hierarchies.
   */
  cgroupDirs: string[];
}

export function sharedHostNamespaces(r: ContainerRecord, posture: DaemonPosture, lookup: (id: string) => ContainerRecord | undefined): Set<NsKind> {
  const hc = r.inspect.HostConfig ?? {};
  // container:<id> modes resolve one hop, exactly as the host_pid/host_network/host_ipc rules do.
  const ctx = { posture, lookup: (id: string) => lookup(id)?.inspect };
  const s = new Set<NsKind>();
  if (resolveMode(r.inspect, 'PidMode', ctx).mode === 'host') s.add('pid');
  if (resolveMode(r.inspect, 'NetworkMode', ctx).mode === 'host') s.add('net');
  if (resolveMode(r.inspect, 'IpcMode', ctx).mode === 'host') s.add('ipc');
  if (hc.UTSMode === 'host') s.add('uts');
  // Empty CgroupnsMode: an old daemon, where the cgroup namespace was the host's.
  if (hc.CgroupnsMode === 'host' || !hc.CgroupnsMode) s.add('cgroup');
  if (!rootIsRemapped(r.inspect, posture, r.rootHostUid)) s.add('user');
  return s;
}

/**
 * Host paths of the container's filesystem, from GraphDriver (overlay2 upper/merged, others' dirs),
 * and its image's layers (overlay2 LowerDir, colon-separated): a binary of the image run straight
 * from a lower layer is the container's code too. Lower layers are shared by the containers of one
 * image; such a file is attributed to one of them.
 */
export function storagePaths(r: ContainerRecord): string[] {
  const data = r.inspect.GraphDriver?.Data ?? {};
  const out: string[] = [];
  for (const key of ['UpperDir', 'MergedDir', 'WorkDir', 'DeviceName', 'Dir', 'RootDir']) {
    const v = data?.[key];
    if (typeof v === 'string' && v.startsWith('/')) out.push(v.replace(/\/+$/, ''));
  }
  const lower = data?.LowerDir;
  if (typeof lower === 'string') {
    for (const v of lower.split(':').slice(0, 128)) if (v.startsWith('/')) out.push(v.replace(/\/+$/, ''));
  }
  return out;
}

function resolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Host paths the container was given: its Mounts' sources and the files Docker binds in itself. */
export function declaredSources(r: ContainerRecord): string[] {
  const i = r.inspect;
  const out = (i.Mounts ?? []).map((m) => m.Source ?? '');
  out.push(i.ResolvConfPath ?? '', i.HostnamePath ?? '', i.HostsPath ?? '');
  // As given and as resolved: mountinfo shows a bind's source with its symlinks resolved.
  const given = out.filter((s) => s.startsWith('/')).map((s) => s.replace(/(.)\/+$/, '$1'));
  return [...new Set([...given, ...given.map(resolved)])];
}

/** The namespaces a container's init had when it first exec'd (copied by the process-event addon). */
export interface InitNamespaces {
  pid: number;
  startTime: string;
  ns: Namespaces;
}

/**
 * Where container filesystems live on the host: Docker's data root plus every container storage path
 * outside it (another graph driver's directory, say); paths under a listed one add nothing, and a
 * data root of "/" is no prefix. The process-event addon filters host processes with these; the
 * tripwires use the data root alone.
 */
export function storagePrefixes(dockerRootDirs: string | null | readonly string[], storagePaths: Iterable<string>): string[] {
  // One data root per engine: dockerd's, rootful Podman's graph root, each rootless user's.
  const given = dockerRootDirs === null ? [] : typeof dockerRootDirs === 'string' ? [dockerRootDirs] : dockerRootDirs;
  const out: string[] = [];
  for (const r of given.map((d) => d.replace(/\/+$/, '')).filter((d) => d !== '')) if (!out.includes(r)) out.push(r);
  for (const p of storagePaths) {
    if (!out.some((r) => p === r || p.startsWith(`${r}/`))) out.push(p);
  }
  return out;
}

export function scopeContainer(
  r: ContainerRecord,
  posture: DaemonPosture,
  proc: ProcFs,
  cgroups: CgroupTree,
  lookup: (id: string) => ContainerRecord | undefined,
  atExec?: InitNamespaces,
): ScopedContainer | null {
  const initPid = r.inspect.State?.Pid;
  if (typeof initPid !== 'number' || initPid <= 0) return null;
  const initStartTime = proc.startTime(initPid);
  // No such process (a stale or foreign pid): one failed read, not a dozen.
  if (initStartTime === null) return null;
  // The init's namespaces now, unless they were seen at its first exec: an entrypoint that nsenters
  // into the host moves the init itself, and judged against its moved self it would look legitimate.
  const live = proc.namespaces(initPid);
  const ns = live && atExec && atExec.pid === initPid && atExec.startTime === initStartTime ? { ...live, ...atExec.ns } : live;
  const lines = proc.cgroups(initPid);
  if (!ns || !lines) return null; // the container died in the meantime
  // Inspect data can be stale (a restarting container's old pid, reused by another process), and a
  // dying init can show "/" in some hierarchies: only cgroups whose path names the container id
  // (/docker/<id>, docker-<id>.scope, with every driver) are the container's. Never a hierarchy root.
  const own = lines.filter((l) => l.path.includes(r.id));
  if (own.length === 0) return null;
  const cgroupDirs = cgroups.dirsFor(own);
  if (cgroupDirs.length === 0) return null;
  const scope = describeContainer(r, posture, lookup, ns);
  // The init's parent is the container's shim (containerd-shim, conmon): the runtime's process the
  // engine reports, outside the container. Its pid is what a real `runc init` may be reaped by.
  const ppid = proc.status(initPid)?.ppid;
  if (ppid !== undefined && ppid > 1) scope.shimPid = ppid;
  return { initPid, initStartTime, cgroupDirs, scope };
}

/** What the detectors compare a container's processes with, given its init's namespaces. */
export function describeContainer(r: ContainerRecord, posture: DaemonPosture, lookup: (id: string) => ContainerRecord | undefined, initNs: Namespaces): ContainerScope {
  const caps = containerCapabilityMask(r.inspect.HostConfig);
  return {
    id: r.id,
    name: r.name,
    image: r.image,
    initNs,
    sharesHost: sharedHostNamespaces(r, posture, lookup),
    rootRemapped: rootIsRemapped(r.inspect, posture, r.rootHostUid),
    privileged: caps.privileged,
    allowedCaps: caps.mask,
    storagePaths: storagePaths(r),
    declaredSources: declaredSources(r),
    mountsGiven: (r.inspect.Mounts ?? []).length > 0,
  };
}
