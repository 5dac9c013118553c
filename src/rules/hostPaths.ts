// Host paths that matter when bind-mounted into a container: container-engine API sockets (and the
// directories that contain them), and sensitive host directories. Matching is done on the bind's
// Source only, per mount, on a normalised path: text matching over the whole mount struct gave
// docker-bench false positives (volumes at /var/run/docker.sock, /etc/ssh reported as /etc).
import { posix } from 'node:path';
import type { Severity } from '../model/finding.js';
import { severityRank } from '../model/finding.js';

/**
 * "/etc/", "//etc", "/etc/./ssh/..", "/a/../etc" → "/etc" style absolute paths; null for anything that
 * is not an absolute path string (relative sources, Windows paths, junk).
 */
export function normalizePath(p: unknown): string | null {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0')) return null;
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') || '/' : n;
}

/** path is base or below it ("/etc/ssh" under "/etc"; "/etcetera" is not). */
export function isSameOrUnder(path: string, base: string): boolean {
  if (base === '/') return true;
  return path === base || path.startsWith(base + '/');
}

function segments(p: string): string[] {
  return p === '/' ? [] : p.slice(1).split('/');
}

/** One template segment: literal, or "<uid>" for a numeric user id (rootless runtime dirs). */
function segmentMatches(seg: string, tmpl: string): boolean {
  return tmpl === '<uid>' ? /^\d+$/.test(seg) : seg === tmpl;
}

/** path equals the template ("/run/user/<uid>/docker.sock" matches "/run/user/1000/docker.sock"). */
export function matchesTemplate(path: string, template: string): boolean {
  const a = segments(path);
  const b = segments(template);
  return a.length === b.length && a.every((s, i) => segmentMatches(s, b[i] as string));
}

/** path is a strict ancestor of (a directory containing) the template. */
export function isAncestorOfTemplate(path: string, template: string): boolean {
  const a = segments(path);
  const b = segments(template);
  return a.length < b.length && a.every((s, i) => segmentMatches(s, b[i] as string));
}

/** Container-engine API sockets: any of them is root on the host. Docker first, so "/" reports it. */
export const SOCKET_PATHS: readonly string[] = [
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/run/user/<uid>/docker.sock', // rootless Docker: $XDG_RUNTIME_DIR/docker.sock
  '/run/containerd/containerd.sock',
  '/var/run/containerd/containerd.sock',
  '/run/k3s/containerd/containerd.sock',
  '/run/crio/crio.sock',
  '/var/run/crio/crio.sock',
  '/run/podman/podman.sock',
  '/var/run/podman/podman.sock',
  '/run/user/<uid>/podman/podman.sock',
  '/run/cri-dockerd.sock',
  '/var/run/cri-dockerd.sock',
  '/run/buildkit/buildkitd.sock',
];

/**
 * Socket file names recognised wherever they live (custom data roots, Docker Desktop's
 * ~/.docker/run/docker.sock, a test engine's socket): a bind of a file with this name is an API socket.
 */
export const SOCKET_NAMES: ReadonlySet<string> = new Set([
  'docker.sock',
  'docker.sock.raw',
  'containerd.sock',
  'crio.sock',
  'podman.sock',
  'cri-dockerd.sock',
  'dockershim.sock',
  'buildkitd.sock',
]);

export interface SocketMatch {
  /** The socket path (or template) reached. */
  socket: string;
  /** The source is the socket itself, or a directory that contains it. */
  relation: 'socket' | 'ancestor';
}

/** Does this (normalised) bind source expose a container-engine API socket? */
export function matchSocket(source: string): SocketMatch | null {
  for (const t of SOCKET_PATHS) if (matchesTemplate(source, t)) return { socket: source, relation: 'socket' };
  if (SOCKET_NAMES.has(posix.basename(source))) return { socket: source, relation: 'socket' };
  for (const t of SOCKET_PATHS) if (isAncestorOfTemplate(source, t)) return { socket: t, relation: 'ancestor' };
  return null;
}

/** How bad a bind of one sensitive directory is, by writability and by exact path vs a path below it. */
export interface SensitiveDir {
  path: string;
  rw: Severity;
  ro: Severity;
  /** Severities for a path strictly below it; null: only the exact path counts ("/" contains everything). */
  below: { rw: Severity; ro: Severity } | null;
}

// Host executables, config and kernel interfaces: RW lets the container change what the host runs.
const SYSTEM = (path: string, belowRo: Severity = 'low'): SensitiveDir => ({
  path,
  rw: 'critical',
  ro: 'medium',
  below: { rw: 'critical', ro: belowRo },
});

/** CIS 5.6's list, Trivy KSV121's /var/lib/docker, and other dirs that hold host or cluster secrets. */
export const SENSITIVE_DIRS: readonly SensitiveDir[] = [
  // RO "/" still exposes the whole host (/etc/shadow, keys); it has no "below": everything is below it.
  { path: '/', rw: 'critical', ro: 'high', below: null },
  SYSTEM('/etc'),
  SYSTEM('/proc', 'medium'), // host processes' environ, cmdlines, kernel data
  SYSTEM('/sys'),
  // Below /dev the device cgroup still blocks opening nodes, so a subdir is no escape by itself.
  { path: '/dev', rw: 'critical', ro: 'medium', below: { rw: 'medium', ro: 'low' } },
  SYSTEM('/boot'),
  SYSTEM('/lib'),
  SYSTEM('/lib32'),
  SYSTEM('/lib64'),
  SYSTEM('/usr'),
  SYSTEM('/bin'),
  SYSTEM('/sbin'),
  // Engine state: other containers' filesystems, volumes and configs (their env included).
  SYSTEM('/var/lib/docker', 'medium'),
  SYSTEM('/var/lib/containerd', 'medium'),
  { path: '/var/lib/kubelet', rw: 'high', ro: 'medium', below: { rw: 'high', ro: 'medium' } },
  { path: '/root', rw: 'high', ro: 'medium', below: { rw: 'high', ro: 'medium' } },
  { path: '/home', rw: 'high', ro: 'medium', below: { rw: 'high', ro: 'low' } },
];

/** Read-only binds below /etc or /usr that are common and harmless (time zone, CA bundle, ids). */
export const HARMLESS_READONLY: readonly string[] = [
  '/etc/localtime',
  '/etc/timezone',
  '/usr/share/zoneinfo',
  '/etc/machine-id',
  '/etc/hostname',
  '/etc/os-release',
  '/usr/lib/os-release',
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/ssl/certs',
  '/etc/ca-certificates',
  '/etc/pki/ca-trust',
  '/usr/share/ca-certificates',
];

/** Read-only binds below a system dir that still leak secrets: graded medium instead of low. */
export const SECRET_READONLY: readonly string[] = [
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/ssh',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/etc/kubernetes',
  '/etc/docker',
  '/etc/containerd',
  '/etc/ssl/private',
  '/etc/pki/tls/private',
];

/**
 * The sensitive list for one daemon: the static list plus the daemon's own DockerRootDir. With
 * userns-remap that is "<root>/<uid>.<gid>"; its parent (the real data root) is covered because a
 * directory containing a sensitive dir counts as that dir.
 */
export function sensitiveDirsFor(dockerRootDir: string | null | undefined): SensitiveDir[] {
  const root = normalizePath(dockerRootDir);
  const dirs = [...SENSITIVE_DIRS];
  if (root && root !== '/' && !dirs.some((d) => d.path === root)) dirs.push(SYSTEM(root, 'medium'));
  return dirs;
}

export interface SensitiveMatch {
  /** The sensitive dir that matched. */
  dir: string;
  /** exact: the dir itself; below: a path inside it; contains: a parent directory of it. */
  relation: 'exact' | 'below' | 'contains';
  severity: Severity;
}

/** Worst match of one normalised bind source against the sensitive list; null when nothing matches. */
export function matchSensitive(source: string, rw: boolean, dirs: readonly SensitiveDir[]): SensitiveMatch | null {
  if (!rw && HARMLESS_READONLY.some((h) => isSameOrUnder(source, h))) return null;
  let best: SensitiveMatch | null = null;
  const consider = (m: SensitiveMatch): void => {
    if (!best || severityRank(m.severity) > severityRank(best.severity)) best = m;
  };
  for (const d of dirs) {
    if (source === d.path) {
      consider({ dir: d.path, relation: 'exact', severity: rw ? d.rw : d.ro });
    } else if (d.path !== '/' && isSameOrUnder(source, d.path)) {
      if (!d.below) continue;
      let sev = rw ? d.below.rw : d.below.ro;
      if (!rw && SECRET_READONLY.some((s) => isSameOrUnder(source, s)) && severityRank(sev) < severityRank('medium')) {
        sev = 'medium';
      }
      consider({ dir: d.path, relation: 'below', severity: sev });
    } else if (source !== '/' && isSameOrUnder(d.path, source)) {
      // A parent of a sensitive dir exposes it ("/var" contains /var/lib/docker).
      consider({ dir: d.path, relation: 'contains', severity: rw ? d.rw : d.ro });
    }
  }
  return best;
}
