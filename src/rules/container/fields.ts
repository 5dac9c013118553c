// Safe reads of inspect JSON for the container rules. Inspect is untrusted input: any field may be
// missing, null or of the wrong type, and a check must answer "no finding" rather than throw.
import type { ContainerInspect, HostConfig, MountPoint } from '../../model/dockerTypes.js';
import type { ContainerContext } from '../rule.js';

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** HostConfig when it is an object; null otherwise, so checks can tell "unknown" from "default". */
export function hostConfig(c: ContainerInspect | null | undefined): HostConfig | null {
  const hc: unknown = isObject(c) ? c.HostConfig : undefined;
  return isObject(hc) ? (hc as HostConfig) : null;
}

/** Top-level Mounts[] entries that are objects. */
export function mounts(c: ContainerInspect): MountPoint[] {
  const m: unknown = isObject(c) ? c.Mounts : undefined;
  return Array.isArray(m) ? m.filter(isObject).map((x) => x as MountPoint) : [];
}

export function isPrivileged(c: ContainerInspect): boolean {
  return hostConfig(c)?.Privileged === true;
}

export function configUser(c: ContainerInspect): string {
  const cfg: unknown = isObject(c) ? c.Config : undefined;
  return isObject(cfg) ? str(cfg.User) : '';
}

/**
 * Is a user spec root? "" (image default, which is root unless the image sets USER: inspect shows
 * the effective Config.User, so empty means root), "root", "0", "0:…", "root:…" (Trivy DS002 forms).
 * A named user that maps to uid 0 in the image's /etc/passwd cannot be seen from inspect.
 */
export function isRootUser(user: string): boolean {
  return user === '' || /^(root|0)(:.*)?$/.test(user);
}

export type NsField = 'PidMode' | 'IpcMode' | 'NetworkMode';

export interface ResolvedMode {
  /** The mode in effect: the container's own, or the joined container's for container:<id>. */
  mode: string;
  /** Raw value as stored on this container. */
  raw: string;
  /** The joined container when raw is container:<id> and it was found. */
  joined?: ContainerInspect;
}

/**
 * Resolve container:<id> one hop: joining a container that uses the host namespace is using the host
 * namespace. Two hops are not followed (the daemon rewrites names to ids; chains are rare).
 */
export function resolveMode(c: ContainerInspect, field: NsField | 'UTSMode' | 'UsernsMode' | 'CgroupnsMode', ctx: ContainerContext): ResolvedMode {
  const raw = str(hostConfig(c)?.[field]);
  if (!raw.startsWith('container:')) return { mode: raw, raw };
  let target: ContainerInspect | undefined;
  try {
    target = ctx.lookup(raw.slice('container:'.length));
  } catch {
    target = undefined;
  }
  if (!target) return { mode: raw, raw };
  return { mode: str(hostConfig(target)?.[field]), raw, joined: target };
}

/** Evidence for a namespace mode, including the joined container when there was one. */
export function modeEvidence(field: string, r: ResolvedMode): Record<string, string> {
  const ev: Record<string, string> = { [`HostConfig.${field}`]: r.raw };
  if (r.joined) {
    ev[`joined.HostConfig.${field}`] = r.mode;
    const name = str(r.joined.Name);
    if (name) ev['joined.Name'] = name;
  }
  return ev;
}
