// Host namespaces. PidMode/IpcMode/NetworkMode may be container:<id>; joining a container that is
// in the host namespace is being in the host namespace, so those are resolved one hop via ctx.lookup.
import type { ContainerRule } from '../rule.js';
import { hostConfig, modeEvidence, resolveMode, str, type NsField } from './fields.js';
import { ATTACK } from '../attack.js';

function hostNamespaceRule(
  field: NsField | 'UTSMode',
  doc: Omit<ContainerRule, 'scope' | 'check'>,
  what: string,
): ContainerRule {
  return {
    scope: 'container',
    ...doc,
    check(c, ctx) {
      const r = resolveMode(c, field, ctx);
      if (r.mode !== 'host') return [];
      // Name the joined container: its name without Docker's leading "/", else a short id.
      const joinedName = r.joined ? str(r.joined.Name).replace(/^\//, '') || r.raw.slice('container:'.length).slice(0, 12) : '';
      const via = r.joined ? ` (joined from container ${joinedName})` : '';
      return [{ message: `shares the host ${what} namespace${via}`, evidence: modeEvidence(field, r) }];
    },
  };
}

export const hostPid = hostNamespaceRule(
  'PidMode',
  {
    id: 'host_pid',
    attack: ATTACK.escapeToHost,
    severity: 'high',
    rootSensitive: true,
    title: 'Host PID namespace',
    why: 'The container sees every host process, can signal them as root, and with CAP_SYS_PTRACE can inject code into them; /proc/<pid>/root of host processes leads to the host filesystem.',
    remediation: 'Remove --pid=host (pid: host in Compose).',
    references: { cis: '5.16', pss: 'Baseline: Host Namespaces' },
  },
  'PID',
);

export const hostNetwork = hostNamespaceRule(
  'NetworkMode',
  {
    id: 'host_network',
    attack: ATTACK.networkSniffing,
    severity: 'high',
    title: 'Host network namespace',
    why: 'The container uses the host network stack: it reaches services bound to host loopback (including a TCP Docker API), can sniff host traffic with NET_RAW, and binds host ports directly.',
    remediation: 'Remove --network=host and publish the needed ports with -p.',
    references: { cis: '5.10', pss: 'Baseline: Host Namespaces' },
  },
  'network',
);

export const hostIpc = hostNamespaceRule(
  'IpcMode',
  {
    id: 'host_ipc',
    attack: ATTACK.escapeToHost,
    severity: 'medium',
    title: 'Host IPC namespace',
    why: 'The container shares System V IPC and POSIX shared memory with host processes and can read or corrupt their shared memory segments.',
    remediation: 'Remove --ipc=host; use --ipc=shareable / container:<id> to share IPC between specific containers.',
    references: { cis: '5.17', pss: 'Baseline: Host Namespaces' },
  },
  'IPC',
);

export const hostUts = hostNamespaceRule(
  'UTSMode',
  {
    id: 'host_uts',
    attack: ATTACK.escapeToHost,
    severity: 'low',
    title: 'Host UTS namespace',
    why: "The container shares the host's hostname and domain name and, with CAP_SYS_ADMIN, can change them for the host.",
    remediation: 'Remove --uts=host.',
    references: { cis: '5.21' },
  },
  'UTS',
);

export const hostUserns: ContainerRule = {
  scope: 'container',
  id: 'host_userns',
  attack: ATTACK.escapeToHost,
  severity: 'high',
  title: 'Opted out of user-namespace remapping',
  why: 'With userns-remap, container root is an unprivileged host uid; --userns=host puts this container back on real host root (and is what allows --privileged, --pid=host and --net=host under remapping).',
  remediation: 'Remove --userns=host so the daemon-wide userns-remap applies.',
  references: { cis: '5.31' },
  check(c, ctx) {
    const mode = str(hostConfig(c)?.UsernsMode);
    if (mode !== 'host') return [];
    const ev = { 'HostConfig.UsernsMode': mode, 'daemon.usernsRemap': ctx?.posture?.usernsRemap === true };
    if (ctx?.posture?.usernsRemap) {
      return [{ message: 'opts out of userns-remap (--userns=host): container root is host root', evidence: ev }];
    }
    // Without daemon remapping the flag changes nothing; kept visible for when remapping is turned on.
    return [{ message: 'UsernsMode is host (no effect: the daemon does not remap users)', evidence: ev, severity: 'info' }];
  },
};

export const hostCgroupns: ContainerRule = {
  scope: 'container',
  id: 'host_cgroupns',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  title: 'Host cgroup namespace',
  why: "The container sees the host's cgroup hierarchy paths, which helps locate and abuse cgroup files when combined with writable cgroups or privileged mode.",
  remediation: 'Run with --cgroupns=private (the default on cgroup v2 hosts; set "default-cgroupns-mode": "private" in daemon.json on v1).',
  references: {},
  check(c, ctx) {
    const mode = str(hostConfig(c)?.CgroupnsMode);
    if (mode !== 'host') return [];
    const ev = { 'HostConfig.CgroupnsMode': mode, 'daemon.cgroupVersion': ctx?.posture?.cgroupVersion ?? null };
    if (ctx?.posture?.cgroupVersion === '1') {
      // On cgroup v1 "host" is the daemon default for every container: real, but not a per-container choice.
      return [{ message: 'shares the host cgroup namespace (the daemon default on cgroup v1)', evidence: ev, severity: 'low' }];
    }
    return [{ message: 'shares the host cgroup namespace', evidence: ev }];
  },
};

export const namespaceRules: ContainerRule[] = [hostPid, hostNetwork, hostIpc, hostUts, hostUserns, hostCgroupns];
