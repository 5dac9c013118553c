// The breakout reason catalogue: one record per reason, the only place a reason is spelled. Its id
// (metric label `reason`, alert rules: a public interface, never rename one), severity of its alert,
// kind (`active`: kept while the process lives or the hook still points into a container, shown by
// rootwatch_breakout_processes; `event`: reported once), MITRE ATT&CK technique (carried in the alert event as
// attack_technique, never a metric label), what its detector looks at, what it means and what to do. The
// README's reason table is generated from it (npm run docs) and the alert rules are checked against it.
import type { Severity } from '../model/finding.js';
import { ATTACK, type AttackTechnique } from '../rules/attack.js';

export type ReasonKind = 'active' | 'event';

export interface ReasonRecord {
  severity: Severity;
  kind: ReasonKind;
  attack: AttackTechnique;
  detector: string;
  what: string;
  action: string;
}

const CATALOGUE = {
  host_namespace_process: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'container process: namespaces against the host reference\'s (detectors.ts judgeContainerProcess)',
    what: 'A process of a container sits in the host\'s mount, pid, net, ipc, uts or cgroup namespace (one the container does not share on purpose): what `nsenter` into a host process leaves behind. A process of a container is a member of one of its cgroups, or one that was (or descends from one, or from the container\'s shim) and left them: `evidence.attributed_by: lineage`.',
    action: 'Treat as a compromise of the host: capture `evidence` (pid, cmdline, namespaces), stop the container, inspect what the process touched on the host.',
  },
  host_root_process: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'container process: uid 0 in the host\'s user namespace when root should be remapped (judgeContainerProcess)',
    what: 'A process in the cgroup of a container whose root should be remapped (userns-remap or rootless) runs as uid 0 in the host\'s user namespace.',
    action: 'Remapping was bypassed: identify how the process got host root, stop the container.',
  },
  capability_escalation: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.privilegeEscalation,
    detector: 'container process: CapEff against the capabilities the container was given (judgeContainerProcess)',
    what: 'A process in a container holds effective capabilities the container was not given.',
    action: 'Find where the capabilities came from (a setuid helper, a host process joined into the cgroup); stop the container.',
  },
  kernel_helper_from_container: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'new host process, child of kthreadd or of a flagged helper, naming container storage (judgeHostProcess)',
    what: 'The kernel\'s user-mode helper (child of kthreadd) ran a program or script from a container\'s filesystem as host root: the trace of release_agent, core_pattern and uevent_helper escapes. Its children count too, whatever they name (`helper_parent`). The evidence names the hook that ran it (`hook_file`, `hook_value`, read when the helper is judged).',
    action: 'The container has executed code as host root. Isolate the host; restore the hook (see tripwire alerts); rebuild from a known-good state.',
  },
  container_binary_on_host: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'new host process running code from container storage or a container\'s root device (judgeHostProcess)',
    what: 'A host process (no container\'s, by cgroup or lineage) runs code from a container\'s filesystem: its executable lies in container storage (upper, lower, merged directories), under one of those directories by their device and inode (a bind mount elsewhere), or on a container\'s root device (however the path reads), or it is an interpreter running a container script. Programs that only name a container path (docker cp/export/diff helpers, an administrator\'s ls or du) are not flagged.',
    action: 'Something on the host executes container-controlled code; find its parent and how it was started.',
  },
  tripwire_container_path: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'kernel escape hooks read every scan and on inotify (tripwires.ts judgeTripwires)',
    what: 'core_pattern, modprobe, uevent_helper or a cgroup v1 release_agent names a program inside container storage.',
    action: 'Restore the hook\'s previous value (logged with the tripwire_changed alert) and treat the container as hostile.',
  },
  tripwire_changed: {
    severity: 'high',
    kind: 'event',
    attack: ATTACK.escapeToHost,
    detector: 'kernel escape hooks against their value at start (tripwires.ts judgeTripwires)',
    what: 'One of those kernel escape hooks changed from its value at rootwatch\'s start.',
    action: 'Confirm the change was made by an operator or package; if not, restore it and investigate.',
  },
  kernel_module_loaded: {
    severity: 'medium',
    kind: 'event',
    attack: ATTACK.kernelModules,
    detector: '/proc/modules against the modules at start (tripwires.ts judgeModules)',
    what: 'A kernel module appeared in /proc/modules after rootwatch started.',
    action: 'Confirm it was loaded on purpose (hardware, a package upgrade); an unexpected module from a container with CAP_SYS_MODULE is a rootkit.',
  },
  host_root_filesystem: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'container process: device and inode of /proc/<pid>/root (detectors.ts judgeRoot)',
    what: 'A process in a container\'s cgroup has the host\'s root directory as its root (`chroot /proc/<host pid>/root …` from a `--pid=host` container with SYS_PTRACE), or, in a container given no binds or volumes, another directory of the host\'s root filesystem. It keeps the container\'s namespaces and capabilities but reads and runs host files. Compared by device and inode of `/proc/<pid>/root` with the container init\'s and the host reference process\'s.',
    action: 'The container can read and write the host\'s files: stop it, check what the process changed on the host (evidence: pid, exe, cmdline), and remove `--pid=host`/SYS_PTRACE from its configuration.',
  },
  cwd_outside_root: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'container process: walk up from /proc/<pid>/cwd (processScanner.ts cwdOutsideRoot)',
    what: 'A process in a container\'s cgroup works in a directory that lies outside its own root: a host directory reached through a leaked file descriptor (runc CVE-2024-21626, `docker exec -w /proc/self/fd/N`), `fchdir` or `cd /proc/<host pid>/cwd`. Relative paths from there reach the host\'s files.',
    action: 'Upgrade runc to 1.1.12 or later if the engine is older; stop the container and check what the process touched through that directory (evidence: cwd).',
  },
  host_mount_in_container: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.escapeToHost,
    detector: 'container init\'s mountinfo against declared sources and the host\'s mountinfo (mounts.ts judgeContainerMounts)',
    what: 'A container\'s mount namespace holds a host block filesystem (the host\'s root device, say, after `mount /dev/sda1 /mnt`) that none of its declared Mounts, resolv.conf, hostname or hosts explains. Declared binds and volumes are not flagged.',
    action: 'The container can reach the host\'s disk: stop it, find how it mounted the device (privileged, CAP_SYS_ADMIN, exposed block devices) and check the host filesystem for changes.',
  },
  host_process_traced: {
    severity: 'critical',
    kind: 'active',
    attack: ATTACK.ptraceInjection,
    detector: 'TracerPid of host processes while a container shares the host pid namespace (processScanner.ts tracedHostProcesses)',
    what: 'A host process (outside every container cgroup) is traced by a process of a container (`TracerPid` in /proc/<pid>/status): ptrace injection from a `--pid=host` container with SYS_PTRACE. Checked only while some container process shares the host\'s pid namespace (no other can see host processes): every scan when polling, and on each ptrace event of the process connector (plus every 5th scan) when it is active.',
    action: 'Treat the traced host process as running the container\'s code: stop the container, restart or kill the traced process, and check what it did (evidence names tracer and tracee).',
  },
} as const satisfies Record<string, ReasonRecord>;

export type BreakoutReason = keyof typeof CATALOGUE;

export interface ReasonDoc extends ReasonRecord {
  id: BreakoutReason;
}

export const BREAKOUT_REASONS = Object.keys(CATALOGUE) as BreakoutReason[];

export const BREAKOUT_REASON_CATALOGUE: readonly ReasonDoc[] = BREAKOUT_REASONS.map((id) => ({ id, ...CATALOGUE[id] }));

export function reasonRecord(id: BreakoutReason): ReasonDoc {
  return { id, ...CATALOGUE[id] };
}
