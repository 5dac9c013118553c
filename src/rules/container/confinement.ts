// Kernel-side confinement: seccomp, AppArmor, SELinux, no-new-privileges, cgroup and /proc masks.
// Privileged containers are skipped here: privileged already turns all of these off (and the daemon
// writes label=disable / AppArmorProfile=unconfined for them itself), and "privileged" reports it.
import type { Evidence } from '../../model/finding.js';
import type { HostConfig } from '../../model/dockerTypes.js';
import type { ContainerRule } from '../rule.js';
import { parseSecurityOpt, splitSecurityOpt, summarizeSeccomp } from '../securityOpt.js';
import { configUser, hostConfig, isRootUser, str, strings } from './fields.js';
import { ATTACK } from '../attack.js';

/** The raw SecurityOpt entries for one key, shortened (an inlined seccomp profile can be 10+ kB). */
function entriesFor(hc: HostConfig, key: string): string[] {
  return strings(hc.SecurityOpt)
    .filter((e) => e === key || splitSecurityOpt(e)?.[0] === key)
    .map((e) => (e.length > 120 ? `${e.slice(0, 117)}...` : e));
}

/** Actions that let a syscall through (a profile defaulting to one of these filters nothing by default). */
const ALLOWING_ACTIONS = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);

export const seccompUnconfined: ContainerRule = {
  scope: 'container',
  id: 'seccomp_unconfined',
  attack: ATTACK.escapeToHost,
  severity: 'high',
  title: 'Seccomp disabled',
  why: "Docker's default seccomp profile blocks dangerous syscalls (kernel keyrings, bpf, unshare, mount…) whatever capabilities are added; without it every kernel syscall bug is reachable.",
  remediation: 'Remove --security-opt seccomp=unconfined (the default profile applies), or pass a custom profile with --security-opt seccomp=profile.json whose defaultAction is SCMP_ACT_ERRNO.',
  references: { cis: '5.22', pss: 'Baseline: Seccomp' },
  check(c, ctx) {
    const hc = hostConfig(c);
    if (!hc || hc.Privileged === true) return [];
    const s = summarizeSeccomp(parseSecurityOpt(hc.SecurityOpt).seccomp);
    const ev: Evidence = { 'HostConfig.SecurityOpt': entriesFor(hc, 'seccomp') };
    if (s.kind === 'unconfined') return [{ message: 'runs with seccomp=unconfined', evidence: ev }];
    if (s.kind === 'custom' && s.defaultAction && ALLOWING_ACTIONS.has(s.defaultAction)) {
      const ev2 = { ...ev, 'seccomp.defaultAction': s.defaultAction, 'seccomp.syscallRules': s.syscallRules ?? 0 };
      return s.syscallRules
        ? [{ message: `custom seccomp profile allows every syscall not listed (defaultAction ${s.defaultAction})`, evidence: ev2, severity: 'medium' }]
        : [{ message: `custom seccomp profile filters nothing (defaultAction ${s.defaultAction}, no rules)`, evidence: ev2 }];
    }
    const posture = ctx?.posture;
    if (s.kind === 'unset' && posture?.seccompProfile === 'unconfined') {
      return [{ message: "runs without seccomp: the daemon's default profile is unconfined", evidence: { ...ev, 'daemon.seccompProfile': 'unconfined' } }];
    }
    if (s.kind === 'unset' && posture?.securityOptionsKnown && posture.seccompProfile === null) {
      return [{ message: 'runs without seccomp: the daemon has no seccomp support', evidence: { ...ev, 'daemon.seccompProfile': null } }];
    }
    return [];
  },
};

export const apparmorUnconfined: ContainerRule = {
  scope: 'container',
  id: 'apparmor_unconfined',
  attack: ATTACK.escapeToHost,
  severity: 'high',
  title: 'AppArmor disabled',
  why: "On AppArmor hosts the docker-default profile denies writes to /proc and /sys files and mounts; apparmor=unconfined removes that layer.",
  remediation: 'Remove --security-opt apparmor=unconfined, or load a custom profile and use --security-opt apparmor=<profile>.',
  references: { cis: '5.2', pss: 'Baseline: AppArmor' },
  check(c, ctx) {
    const hc = hostConfig(c);
    // Only meaningful where the daemon has AppArmor (docker-bench #320: always failing on CentOS).
    if (!hc || hc.Privileged === true || !ctx?.posture?.apparmor) return [];
    const opt = parseSecurityOpt(hc.SecurityOpt).apparmor;
    const profile = str(c.AppArmorProfile);
    if (opt !== 'unconfined' && profile !== 'unconfined') return [];
    return [
      {
        message: 'runs with AppArmor unconfined',
        evidence: { 'HostConfig.SecurityOpt': entriesFor(hc, 'apparmor'), AppArmorProfile: profile },
      },
    ];
  },
};

/** Process types that are the normal confined container types (PSS Baseline "SELinux"). */
const CONTAINER_TYPES = new Set(['container_t', 'container_init_t', 'container_kvm_t', 'svirt_lxc_net_t']);

export const selinuxDisabled: ContainerRule = {
  scope: 'container',
  id: 'selinux_disabled',
  attack: ATTACK.escapeToHost,
  severity: 'medium',
  title: 'SELinux labelling disabled',
  why: 'SELinux confines container processes to the container_t type so they cannot touch host files even as root; label=disable or an unconfined type such as spc_t removes that.',
  remediation: 'Remove --security-opt label=disable / label=type:spc_t; relabel host binds with :z or :Z instead.',
  references: { cis: '5.3', pss: 'Baseline: SELinux' },
  check(c, ctx) {
    const hc = hostConfig(c);
    if (!hc || hc.Privileged === true || !ctx?.posture?.selinux) return [];
    const labels = parseSecurityOpt(hc.SecurityOpt).labels;
    const ev: Evidence = { 'HostConfig.SecurityOpt': entriesFor(hc, 'label').concat(entriesFor(hc, 'disable')) };
    if (labels.includes('disable')) {
      // The daemon itself adds label=disable for pid=host / ipc=host (generateSecurityOpt): a consequence
      // of those settings (reported by host_pid / host_ipc), not a separate choice.
      const autoAdded = (hc.PidMode === 'host' || hc.IpcMode === 'host') && labels.every((l) => l === 'disable');
      if (autoAdded) return [];
      return [{ message: 'SELinux labelling disabled (label=disable)', evidence: ev }];
    }
    const type = labels.find((l) => l.startsWith('type:'))?.slice('type:'.length);
    if (type !== undefined && !CONTAINER_TYPES.has(type)) {
      return [{ message: `runs with SELinux type ${type} instead of a confined container type`, evidence: ev }];
    }
    return [];
  },
};

export const writableCgroups: ContainerRule = {
  scope: 'container',
  id: 'writable_cgroups',
  attack: ATTACK.escapeToHost,
  severity: 'high',
  rootSensitive: true,
  title: 'Writable cgroup filesystem',
  why: 'A writable /sys/fs/cgroup lets container root change its own limits and, on cgroup v1, use release_agent to run commands on the host.',
  remediation: 'Remove --security-opt writable-cgroups (Docker 28+); use a cgroup-v2 host and delegate a sub-tree only to workloads that manage cgroups.',
  references: {},
  check(c) {
    const hc = hostConfig(c);
    if (!hc || hc.Privileged === true) return [];
    if (parseSecurityOpt(hc.SecurityOpt).writableCgroups !== true) return [];
    return [{ message: 'cgroup filesystem mounted writable (writable-cgroups)', evidence: { 'HostConfig.SecurityOpt': entriesFor(hc, 'writable-cgroups') } }];
  },
};

export const unmaskedPaths: ContainerRule = {
  scope: 'container',
  id: 'unmasked_paths',
  attack: ATTACK.escapeToHost,
  severity: 'high',
  rootSensitive: true,
  title: '/proc and /sys masks removed',
  why: 'Docker masks /proc/kcore, /proc/keys, /sys/firmware and others and makes /proc/sys read-only; systempaths=unconfined removes that, exposing kernel memory and host-wide kernel settings.',
  remediation: 'Remove --security-opt systempaths=unconfined (the CLI turns it into empty MaskedPaths/ReadonlyPaths).',
  references: { pss: 'Baseline: /proc Mount Type' },
  check(c) {
    const hc = hostConfig(c);
    // null means "not set" (privileged, or an old daemon); only an explicit [] is a removal.
    if (!hc || hc.Privileged === true) return [];
    const masked = Array.isArray(hc.MaskedPaths) && hc.MaskedPaths.length === 0;
    const readonly = Array.isArray(hc.ReadonlyPaths) && hc.ReadonlyPaths.length === 0;
    if (!masked && !readonly) return [];
    const ev: Evidence = {};
    if (masked) ev['HostConfig.MaskedPaths'] = [];
    if (readonly) ev['HostConfig.ReadonlyPaths'] = [];
    if (masked) {
      return [{ message: `no /proc and /sys paths are masked${readonly ? ' and none are read-only' : ''} (systempaths=unconfined)`, evidence: ev }];
    }
    return [{ message: 'no /proc paths are read-only (ReadonlyPaths is empty)', evidence: ev, severity: 'medium' }];
  },
};

export const noNewPrivilegesUnset: ContainerRule = {
  scope: 'container',
  id: 'no_new_privileges_unset',
  attack: ATTACK.elevationControl,
  severity: 'medium',
  title: 'no-new-privileges not set',
  why: 'Without no-new-privileges, setuid and file-capability binaries in the image can raise a process above the privileges it started with.',
  remediation: 'Run with --security-opt no-new-privileges, or set "no-new-privileges": true in daemon.json for every container.',
  references: { cis: '5.26', pss: 'Restricted: Privilege Escalation' },
  check(c, ctx) {
    const hc = hostConfig(c);
    if (!hc) return [];
    const own = parseSecurityOpt(hc.SecurityOpt).noNewPrivileges;
    const daemon = ctx?.posture?.noNewPrivileges === true;
    // The container's own setting wins over the daemon default, in both directions (moby parseSecurityOpt).
    if (own ?? daemon) return [];
    const ev: Evidence = { 'HostConfig.SecurityOpt': entriesFor(hc, 'no-new-privileges'), 'daemon.noNewPrivileges': daemon };
    return [
      {
        message: own === false ? 'no-new-privileges explicitly disabled on the container' : 'no-new-privileges is not set (neither on the container nor daemon-wide)',
        evidence: ev,
        severity: isRootUser(configUser(c)) ? 'medium' : 'low',
      },
    ];
  },
};

export const confinementRules: ContainerRule[] = [
  seccompUnconfined,
  apparmorUnconfined,
  selinuxDisabled,
  writableCgroups,
  unmaskedPaths,
  noNewPrivilegesUnset,
];
