// Context that changes how bad a setting is: is container root really host root?
import type { ContainerInspect } from '../model/dockerTypes.js';
import type { DaemonPosture } from '../model/posture.js';

/** Runtimes that put the container behind its own kernel (gVisor) or a VM (Kata). */
const SANDBOX_RUNTIME = /runsc|gvisor|kata/i;

/**
 * Container root maps to an unprivileged host uid. The kernel decides: when the init's uid_map was
 * read (`rootHostUid`, the host uid of container uid 0), that is the answer, whatever the engine says
 * (Podman's --userns=auto and rootless containers leave UsernsMode empty). Otherwise the engine's word:
 * userns-remap or rootless, and no --userns=host.
 */
export function rootIsRemapped(c: ContainerInspect, posture: DaemonPosture, rootHostUid?: number | null): boolean {
  if (typeof rootHostUid === 'number') return rootHostUid !== 0;
  return (posture.usernsRemap || posture.rootless) && c.HostConfig?.UsernsMode !== 'host';
}

export function runsSandboxed(c: ContainerInspect, posture: DaemonPosture): boolean {
  const runtime = c.HostConfig?.Runtime || posture.defaultRuntime || '';
  return SANDBOX_RUNTIME.test(runtime);
}

/** Docker names start with "/"; rootwatch shows them without it. */
export function containerName(c: ContainerInspect): string {
  const n = typeof c.Name === 'string' ? c.Name : '';
  return n.startsWith('/') ? n.slice(1) : n;
}

export function containerImage(c: ContainerInspect): string {
  const img = c.Config?.Image;
  return typeof img === 'string' && img ? img : typeof c.Image === 'string' ? c.Image : '';
}
