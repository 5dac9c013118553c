// Telling a daemon's /info from an answer that only looks like one, so a glitch or a fake endpoint
// is reported instead of being read as a daemon with every protection off.
import type { DockerInfo } from '../model/dockerTypes.js';

/** Why an /info answer cannot be read as a daemon's, or null when it can. */
export function infoProblem(info: unknown): string | null {
  if (!info || typeof info !== 'object' || Array.isArray(info)) return 'not a JSON object';
  const i = info as DockerInfo;
  if (typeof i.ServerVersion !== 'string' && typeof i.ID !== 'string') return 'neither ServerVersion nor ID';
  if (i.SecurityOptions !== undefined && i.SecurityOptions !== null && !Array.isArray(i.SecurityOptions)) return 'SecurityOptions is not a list';
  return null;
}
