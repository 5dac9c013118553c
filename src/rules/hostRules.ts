// Daemon-wide settings from /info and /version (through DaemonPosture).
import type { HostRule, RuleHit } from './rule.js';
import { ATTACK } from './attack.js';

export const usernsRemapDisabled: HostRule = {
  scope: 'host',
  id: 'userns_remap_disabled',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  title: 'User-namespace remapping disabled',
  why: 'Without userns-remap (or a rootless daemon), root in every container is uid 0 on the host, so any escape or writable host mount runs with full host privileges.',
  remediation: 'Docker: set "userns-remap": "default" in /etc/docker/daemon.json and restart dockerd (or run Docker in rootless mode); containers that truly need host root then opt out with --userns=host. Podman: run it rootless, or set userns = "auto" in containers.conf.',
  references: { cis: '2.9' },
  check(p) {
    // Old daemons (API < 1.24) report no SecurityOptions: unknown, not "off".
    if (!p?.securityOptionsKnown || p.usernsRemap || p.rootless) return [];
    if (p.engine === 'podman') {
      return [{ message: 'rootful Podman: container root is host root unless a container runs with its own user namespace (--userns=auto)', evidence: { engine: 'podman', 'daemon.rootless': false } }];
    }
    return [{ message: 'daemon runs without userns-remap and is not rootless', evidence: { 'daemon.usernsRemap': false, 'daemon.rootless': false } }];
  },
};

export const daemonSeccompUnconfined: HostRule = {
  scope: 'host',
  id: 'daemon_seccomp_unconfined',
  attack: ATTACK.escapeToHost,
  severity: 'high',
  title: 'Daemon default seccomp profile is unconfined',
  why: 'Every container that does not bring its own seccomp profile runs without syscall filtering.',
  remediation: 'Remove "seccomp-profile": "unconfined" from daemon.json (or --seccomp-profile=unconfined from the dockerd command line) so the builtin profile applies.',
  references: { cis: '2.17' },
  check(p) {
    if (!p?.securityOptionsKnown) return [];
    if (p.seccompProfile === 'unconfined') {
      return [{ message: 'daemon default seccomp profile is unconfined', evidence: { 'daemon.seccompProfile': 'unconfined' } }];
    }
    if (p.seccompProfile === null) {
      return [{ message: 'daemon reports no seccomp support: containers run without syscall filtering', evidence: { 'daemon.seccompProfile': null } }];
    }
    return [];
  },
};

/** Matches the address in both the old "WARNING: API is accessible on …" and the newer "[DEPRECATION NOTICE]" text. */
const API_WARNING = /API is accessible on (https?):\/\/(\S+?)(?:\s|$)/;

export const insecureApi: HostRule = {
  scope: 'host',
  id: 'insecure_api',
  attack: ATTACK.deployContainer,
  severity: 'critical',
  title: 'Docker API exposed over TCP without TLS authentication',
  why: 'Anyone who can reach the TCP port gets full control of the daemon, which is root on the host; without TLS client verification there is no authentication at all.',
  remediation: 'Remove the tcp:// host from dockerd (-H / "hosts" in daemon.json), or use --tlsverify with --tlscacert/--tlscert/--tlskey so only clients with a CA-signed certificate connect.',
  references: { cis: '2.7' },
  check(p) {
    const hits: RuleHit[] = [];
    for (const w of Array.isArray(p?.warnings) ? p.warnings : []) {
      if (typeof w !== 'string') continue;
      const m = API_WARNING.exec(w);
      if (!m) continue;
      const [, scheme, addr = ''] = m;
      if (scheme === 'http') {
        hits.push({ message: `Docker API is reachable on http://${addr} without encryption or authentication`, evidence: { 'info.Warnings': w.slice(0, 200) } });
      } else if (w.includes('without TLS client verification')) {
        hits.push({ message: `Docker API is reachable on https://${addr} without TLS client verification`, evidence: { 'info.Warnings': w.slice(0, 200) }, severity: 'high' });
      }
    }
    return hits;
  },
};

export const hostRules: HostRule[] = [usernsRemapDisabled, daemonSeccompUnconfined, insecureApi];
