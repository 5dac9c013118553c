// One breakout scan: reads /proc and the cgroup tree, asks the pure detectors, and keeps track of
// what is active so each detection is counted once per process (not once per scan).
// Cost grows with container processes and *new* host processes: container member lists come from
// their cgroups, and host-wide checks only look at pids that appeared since the previous scan.
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ContainerRecord } from '../model/inventory.js';
import type { DaemonPosture } from '../model/posture.js';
import type { CgroupTree } from '../proc/cgroupTree.js';
import { NS_KINDS, parseStartTime, parseStatIds, parseStatus, sameFile, statShowsExiting, type FileId, type Namespaces, type ProcFs } from '../proc/procfs.js';
import { hostPathOf, judgeContainerMounts, parseMountinfo, type MountLine } from './mounts.js';
import type { MountWatch, RawProcessCapture } from '../proc/procConnector.js';
import { KTHREADD_PID, judgeContainerProcess, judgeHostProcess, judgeTracedHostProcess, processEvidence, type HelperParent } from './detectors.js';
import type { Evidence } from '../model/finding.js';
import { isEngineExe, mayBeRuntimeCopy } from './runtimeHelpers.js';
import { RuntimeBinaries } from './runtimeBinaries.js';
import { describeContainer, scopeContainer, storagePrefixes, type InitNamespaces, type ScopedContainer } from './containerScope.js';
import { reasonRecord } from './reasons.js';
import { hooksNaming, judgeModules, judgeTripwires, parseModules, type TripwireValues } from './tripwires.js';
import type { BreakoutHit, ContainerScope, HostReference, ProcessSnapshot } from './types.js';

/** First and longest wait before a scan reads a container's unreadable init again. */
const MIN_UNSCOPED_DELAY_MS = 1000;
const MAX_UNSCOPED_DELAY_MS = 60_000;

/** A container's mountinfo is read every this many scans (a mount stays until unmounted). */
const MOUNT_CHECK_EVERY = 3;

/**
 * With process events, a container's cgroup members are listed every this many light passes (one
 * hierarchy), for processes moved into it: no event reports a write to cgroup.procs.
 */
const MEMBER_CHECK_EVERY = 3;

/** With process events, the TracerPid sweep's safety-net period in scans. */
const TRACE_SWEEP_EVERY = 5;

/**
 * Directory levels walked up from a working directory (only when its identity changed). A process
 * that the walk does not bring to its root within this many levels is judged outside it, so that a
 * container cannot hide a leaked host directory at the bottom of a deep tree.
 */
const MAX_CWD_DEPTH = 4096;

/** A container's 64-hex id in a cgroup path (/docker/<id>, docker-<id>.scope, with every driver). */
const CONTAINER_ID = /[0-9a-f]{64}/;

/**
 * Lineage entries kept at most: container processes and their descendants alive at once. Past it the
 * oldest entry goes (its process is usually a long-lived member, found again in its cgroup).
 */
const LINEAGE_MAX = 100_000;

/** USER_HZ: /proc/<pid>/stat start times are in these ticks on every Linux architecture. */
const CLOCK_TICKS = 100;

/** Records a detection of the pass under way (see scan()). */
type NoteFn = (hit: BreakoutHit, key: string, pid: number | null, startTime: string | null) => void;

/** How a process is tied to its container: still a member of its cgroups, or by lineage. */
type Attribution = { scope: ContainerScope; by: 'cgroup' | 'lineage' };

export interface ActiveDetection {
  key: string;
  hit: BreakoutHit;
  /** The process behind a process detection (null for tripwires and modules). */
  pid: number | null;
  startTime: string | null;
}

export interface ScanReport {
  /** Detections first seen in this scan: alert and count these. */
  fresh: ActiveDetection[];
  /** Detections active after this scan (processes still alive, hooks still pointing into containers). */
  active: ActiveDetection[];
  containerProcesses: number;
  newHostProcesses: number;
}

export interface ScannerOptions {
  sysfs: string;
}

export class ProcessScanner {
  private readonly scoped = new Map<string, ScopedContainer>();
  /**
   * Containers whose init could not be read (a stale or foreign pid in the inspect data), by id: the
   * scan tries again after a delay that doubles up to MAX_UNSCOPED_DELAY_MS, not every second. Keyed
   * by the inspect's pid as well, so a restarted container (a new pid) is read at once.
   */
  private readonly unscoped = new Map<string, { pid: number | undefined; retryAt: number; delayMs: number }>();
  /** Each container's init namespaces from the copy of its first exec, by container id. */
  private readonly initAtExec = new Map<string, InitNamespaces>();
  private knownPids: Set<number> | null = null;
  /**
   * Lineage (issue 13): pid → start time and container id, for every container process seen (a cgroup
   * member at a scan, a copy whose cgroup names the container) and every process they start. A process
   * stays its container's wherever it moves: leaving the container's cgroups (writing its pid to a
   * root cgroup.procs) does not make it a host process. Entries go when the process is gone.
   */
  private readonly lineage = new Map<number, { startTime: string; containerId: string }>();
  private readonly runtimeBinaries: RuntimeBinaries;
  /** Pids of kernel-helper processes already flagged, so their children inherit the verdict. */
  private helperPids = new Map<number, { parent: HelperParent; hook: Evidence }>();
  private active = new Map<string, ActiveDetection>();
  private tripwireBaseline: TripwireValues | null = null;
  private moduleBaseline: Set<string> | null = null;
  /** The host reference process's root directory, read once per scan and per batch of copies. */
  private hostRoot: FileId | null = null;
  /** The host reference process of the last scan (storage directories are resolved in its view). */
  private hostRefPid: number | null = null;
  /** Working-directory verdicts by pid:startTime, valid while root and cwd stay the same. */
  private cwdVerdicts = new Map<string, { sig: string; outside: string | null }>();
  /**
   * Process events report ptrace attaches (the connector is active): the TracerPid sweep then runs
   * when one was reported (`ptraceSeen`) and every TRACE_SWEEP_EVERY scans as a safety net, instead of
   * every scan.
   */
  ptraceEvents = false;
  /** Which container's storage directory holds an executable, by path and identity (storageDirOf). */
  private readonly storageVerdicts = new Map<string, string | null>();
  /** Every engine's configured runtime paths, from the last scan or batch (for RuntimeBinaries). */
  private runtimePaths: readonly string[] = [];
  private ptraceSeen = false;
  private scans = 0;
  /** The last mountinfo text judged per container (unchanged text is not parsed again). */
  private mountTexts = new Map<string, { text: string; hits: BreakoutHit[] }>();
  /**
   * With process events: the addon's watch of the containers' mount tables, so that a light pass reads
   * only the tables that changed. Null: every MOUNT_CHECK_EVERY passes, staggered.
   */
  mountWatch: MountWatch | null = null;
  /** The scopes the mount watch was last given (scopeChanges then), and their inits. */
  private mountWatchAt = -1;
  private mountWatched = new Set<number>();
  /** The link count of /sys/module when the module list was last read (see judgeModules). */
  private moduleLinks: number | null = null;
  /** Bumped whenever a container's scope is made or dropped (what the process-event filter holds). */
  scopeChanges = 0;
  /** The member pids each container's check for processes moved in last saw (judgeMovedIn). */
  private readonly memberSigs = new Map<string, string>();
  /** Container processes the last full scan listed (light passes do not list them). */
  private lastContainerProcesses = 0;

  constructor(
    private readonly proc: ProcFs,
    private readonly cgroups: CgroupTree,
    private readonly opts: ScannerOptions,
  ) {
    this.runtimeBinaries = new RuntimeBinaries(proc);
  }

  private noteLineage(pid: number, startTime: string, containerId: string): void {
    const known = this.lineage.get(pid);
    if (known?.startTime === startTime && known.containerId === containerId) return;
    if (!known && this.lineage.size >= LINEAGE_MAX) {
      const oldest = this.lineage.keys().next();
      if (!oldest.done) this.lineage.delete(oldest.value);
    }
    this.lineage.set(pid, { startTime, containerId });
  }

  /** The lineage entry of a process, when it is the same process (pid and start time). */
  private lineageOf(pid: number, startTime: string): string | null {
    const e = this.lineage.get(pid);
    return e && e.startTime === startTime ? e.containerId : null;
  }

  /**
   * The container a process descends from, through its parent: a container process (member or
   * lineage), or the container's shim, whose children are the container's processes except the
   * runtime's own (the host's runtime and shim binaries by device and inode). A lineage entry speaks
   * for the parent while that pid still has the entry's start time (a reused pid has another); a
   * parent already gone is taken at its word when its entry is older than the child.
   */
  private parentContainer(
    p: ProcessSnapshot, members: ReadonlyMap<number, ContainerScope> | null, shims: ReadonlyMap<number, ContainerScope>, host: HostReference | null,
  ): string | null {
    const m = members?.get(p.ppid);
    if (m) return m.id;
    const e = this.lineage.get(p.ppid);
    if (e) {
      const parentStart = this.proc.startTime(p.ppid);
      if (parentStart === null ? Number(e.startTime) <= Number(p.startTime) : parentStart === e.startTime) return e.containerId;
    }
    const shimOf = shims.get(p.ppid);
    if (!shimOf) return null;
    // The runtime's own: runc (create, exec, kill, delete…) and the shim itself between its fork and
    // the exec of runc (its child still runs the shim's binary then). An executable that cannot be
    // read (a process in the middle of its exec, or exiting) cannot be told from runc: not attributed.
    const exeId = p.exeId !== undefined ? p.exeId : this.proc.fileId(p.pid, 'exe');
    if (!exeId || [...(host?.runtimeBinaries ?? []), ...(host?.shimBinaries ?? [])].some((b) => sameFile(b, exeId))) return null;
    return shimOf.id;
  }

  /** Each scoped container's shim, by pid (not one that is itself a container's process). */
  private shimMap(): Map<number, ContainerScope> {
    const out = new Map<number, ContainerScope>();
    for (const s of this.scoped.values()) if (s.scope.shimPid !== undefined && !this.lineage.has(s.scope.shimPid)) out.set(s.scope.shimPid, s.scope);
    return out;
  }

  /** Seconds since boot, for process ages (null when unreadable). */
  private uptime(): number | null {
    const t = readOptional(this.proc.path('uptime'));
    const n = t === null ? NaN : Number(t.split(' ')[0]);
    return Number.isFinite(n) ? n : null;
  }

  /**
   * Facts the runtime helper check needs, read only for a process that would otherwise be flagged
   * (rare): its executable's and its parent's identities, its age, whether its parent is a container's.
   */
  private addRuntimeFacts(p: ProcessSnapshot, members: ReadonlyMap<number, ContainerScope> | null, live: boolean): void {
    if (p.exeId === undefined) p.exeId = live ? this.proc.fileId(p.pid, 'exe') : null;
    if (p.parentExeId === undefined) p.parentExeId = this.proc.fileId(p.ppid, 'exe');
    const up = this.uptime();
    if (up !== null) p.ageSeconds = up - Number(p.startTime) / CLOCK_TICKS;
    p.parentInContainer = members?.has(p.ppid) === true || this.lineage.has(p.ppid);
  }

  /** The host reference with the runtime binaries' identities (see RuntimeBinaries). */
  private withRuntime(host: HostReference | null, missed = false): HostReference | null {
    if (!host) return null;
    const shims = [...this.shimMap().keys()];
    const ids = this.runtimeBinaries.get(host.pid, this.runtimePaths, shims, Date.now(), missed);
    return { ...host, runtimeBinaries: ids.runtimes, shimBinaries: ids.shims };
  }

  /**
   * The containers' root filesystem devices, for the process-event filter. Containers not scoped yet
   * are scoped now (with the scan's backoff): with process events the periodic scan may be rare.
   */
  containerDevices(containers: readonly ContainerRecord[], connected: boolean): string[] {
    if (connected) {
      const { lookup } = containerLookup(containers);
      const now = Date.now();
      for (const r of containers) this.scopeOf(r, lookup, undefined, now);
    }
    return [...this.scoped.values()].map((s) => s.scope.rootDevice).filter((d): d is string => d !== undefined);
  }

  /** The storage directories of the containers scoped so far, as "dev:ino" (for the process-event filter). */
  storageDirIds(): string[] {
    return [...this.scoped.values()].flatMap((s) => (s.scope.storageIds ?? []).map((id) => `${id.dev}:${id.ino}`));
  }

  /** Detections active now: from the last scan plus those process events added since. */
  activeDetections(): ActiveDetection[] {
    return [...this.active.values()];
  }

  /** The process connector reported a ptrace attach or detach: sweep TracerPid at the next scan. */
  notePtraceEvent(): void {
    this.ptraceSeen = true;
  }

  /**
   * Only a process that sees host processes in its pid namespace can trace them: a container sharing
   * the host's pid namespace, or a process that escaped into it. Without one, no sweep is needed.
   */
  private traceSweepWanted(scopes: readonly ContainerScope[], host: HostReference): boolean {
    const couldTrace =
      scopes.some((s) => s.sharesHost.has('pid') || (s.initNs.pid !== undefined && s.initNs.pid === host.ns.pid)) ||
      [...this.active.values()].some((d) => d.hit.reason === 'host_namespace_process');
    if (!couldTrace) return false;
    return !this.ptraceEvents || this.ptraceSeen || this.scans % TRACE_SWEEP_EVERY === 0;
  }

  /**
   * Host processes traced by a container's process: TracerPid of each host process (main threads),
   * the tracer thread mapped to its process and looked up among the container members.
   */
  private tracedHostProcesses(pids: readonly number[], memberOf: ReadonlyMap<number, ContainerScope>): { hit: BreakoutHit; key: string; pid: number; startTime: string }[] {
    const out: { hit: BreakoutHit; key: string; pid: number; startTime: string }[] = [];
    for (const pid of pids) {
      if (memberOf.has(pid)) continue;
      const st = this.proc.status(pid);
      if (!st || st.tracerPid === 0) continue;
      let tracerPid = st.tracerPid;
      let scope = memberOf.get(tracerPid);
      if (!scope) {
        tracerPid = this.proc.status(st.tracerPid)?.tgid ?? st.tracerPid;
        scope = memberOf.get(tracerPid);
      }
      if (!scope) continue; // a host debugger (gdb, strace) tracing a host process
      const tracee = this.snapshot(pid);
      const tracer = this.snapshot(tracerPid);
      if (!tracee || !tracer) continue;
      const hit = judgeTracedHostProcess(tracee, tracer, scope);
      out.push({ hit, key: `${hit.reason}:${pid}:${tracee.startTime}:${tracerPid}:${tracer.startTime}`, pid, startTime: tracee.startTime });
    }
    return out;
  }

  /** Files whose program the kernel runs as host root. */
  tripwireFiles(): string[] {
    const files = [this.proc.path('sys/kernel/core_pattern'), this.proc.path('sys/kernel/modprobe'), `${this.opts.sysfs}/kernel/uevent_helper`];
    for (const m of this.cgroups.v1Mounts()) files.push(`${m.mountPoint}/release_agent`);
    return files;
  }

  private readTripwires(): TripwireValues {
    const values: TripwireValues = new Map();
    for (const f of this.tripwireFiles()) values.set(f, readOptional(f));
    return values;
  }

  private snapshot(pid: number): ProcessSnapshot | null {
    const status = this.proc.status(pid);
    if (!status) return null;
    const ns = this.proc.namespaces(pid) ?? {};
    const startTime = this.proc.startTime(pid);
    if (startTime === null) return null;
    const exe = this.proc.exe(pid);
    // No executable: exiting (read its stat's flags), or an executable that cannot be read.
    const stat = exe === null ? this.proc.read(pid, 'stat') : null;
    return {
      pid, ppid: status.ppid, startTime, name: status.name, exe, cmdline: this.proc.cmdline(pid) ?? [],
      uids: status.uids, capEff: status.capEff, ns, ...(stat !== null && statShowsExiting(stat) ? { exiting: true } : {}),
    };
  }

  /**
   * The container's scope, cached while its init lives. `checked`: containers whose cached scope was
   * already confirmed in this pass (one /proc read per container per batch, not per process).
   */
  private scopeOf(
    r: ContainerRecord, lookup: (id: string) => ContainerRecord | undefined, checked?: Set<string>, now?: number,
  ): ScopedContainer | null {
    const cached = this.scoped.get(r.id);
    if (cached && checked?.has(r.id)) return cached;
    if (cached && cached.initPid === r.inspect.State?.Pid && this.proc.startTime(cached.initPid) === cached.initStartTime) {
      checked?.add(r.id);
      return cached;
    }
    if (this.scoped.delete(r.id)) this.scopeChanges++;
    // Periodic scans (`now` given) back off from a container whose init could not be read; process
    // events name a live container process, so they always try.
    const miss = this.unscoped.get(r.id);
    if (now !== undefined && miss && miss.pid === r.inspect.State?.Pid && now < miss.retryAt) return null;
    // Each container is judged with its own engine's posture (a host may run several engines).
    const s = scopeContainer(r, r.posture, this.proc, this.cgroups, lookup, this.initAtExec.get(r.id));
    if (s) {
      // The container's own root filesystem device: a host process whose executable lies on it runs
      // container code. Not when the root is a plain host directory (vfs driver): same device as the host's.
      const root = this.proc.fileId(s.initPid, 'root');
      if (root) s.scope.root = root;
      if (root && this.hostRoot && root.dev !== this.hostRoot.dev) s.scope.rootDevice = root.dev;
      // The storage directories' identities, read where the engine made them (the reference's view).
      const ref = this.hostRefPid;
      s.scope.storageIds = s.scope.storagePaths
        .map((path) => (ref !== null ? this.proc.fileId(ref, `root${path}`) : null))
        .filter((id): id is FileId => id !== null);
      // A new container's directories may hold executables judged before it was known.
      this.storageVerdicts.clear();
      this.scoped.set(r.id, s);
      this.scopeChanges++;
      this.unscoped.delete(r.id);
      checked?.add(r.id);
    } else if (now !== undefined) {
      const delayMs = miss && miss.pid === r.inspect.State?.Pid ? Math.min(miss.delayMs * 2, MAX_UNSCOPED_DELAY_MS) : MIN_UNSCOPED_DELAY_MS;
      this.unscoped.set(r.id, { pid: r.inspect.State?.Pid, retryAt: now + delayMs, delayMs });
    }
    return s;
  }

  /** Judge one process now; returns its hits with their keys (shared by scans and process events). */
  private judgePid(
    pid: number, at: Attribution | null, scopes: readonly ContainerScope[], host: HostReference | null,
    members: ReadonlyMap<number, ContainerScope> | null, snap?: ProcessSnapshot,
  ): { hit: BreakoutHit; key: string; p: ProcessSnapshot }[] {
    const p = snap ?? this.snapshot(pid);
    if (!p) return [];
    const scope = at?.scope ?? null;
    if (at) p.attributedBy = at.by;
    // The parent's executable (for the evidence) for runtime-looking executables and, for host
    // processes, for engine binaries (dockerd re-executing itself as docker-untar, say).
    if (scope ? mayBeRuntimeCopy(p.exe) : isEngineExe(p.exe)) p.parentExe = this.proc.exe(p.ppid);
    // A container process: its root and working directories (filesystem escapes that keep namespaces).
    if (scope) {
      p.root = this.proc.fileId(pid, 'root');
      p.cwdOutsideRoot = this.cwdOutsideRoot(pid, p.startTime, p.root);
    }
    // A new host process: the device of the executable it runs, against containers' root devices,
    // and the directories on its path, against containers' storage directories.
    if (!scope && p.exe !== null && scopes.length > 0) {
      const exeId = this.proc.fileId(pid, 'exe');
      p.exeDevice = this.hostExeDevice(pid, exeId, scopes);
      p.exeStorageOf = this.storageDirOf(pid, p.exe, exeId, scopes);
    }
    return this.judgeSnapshot(p, scope, scopes, host, members, true);
  }

  /**
   * The container whose storage directory holds the executable, by walking up the directories of
   * its path (resolved in the process's own view, /proc/<pid>/root/…, and checked to lead to the very
   * file it runs) and comparing each one's device and inode with the containers' storage directories.
   * Only for executables on a device that holds such a directory; verdicts are kept per path and
   * identity (most host processes run a handful of executables).
   */
  private storageDirOf(pid: number, exe: string, exeId: FileId | null, scopes: readonly ContainerScope[]): string | null {
    if (!exeId || !exe.startsWith('/') || exe.endsWith(' (deleted)')) return null;
    if (!scopes.some((s) => s.storageIds?.some((d) => d.dev === exeId.dev))) return null;
    const key = `${exe}\0${exeId.dev}:${exeId.ino}`;
    let found = this.storageVerdicts.get(key);
    if (found === undefined) {
      found = null;
      if (sameFile(this.proc.fileId(pid, `root${exe}`), exeId)) {
        for (let dir = posix.dirname(exe), depth = 0; dir !== '/' && depth < 64 && found === null; dir = posix.dirname(dir), depth++) {
          const id = this.proc.fileId(pid, `root${dir}`);
          if (!id) break;
          found = scopes.find((s) => s.storageIds?.some((d) => sameFile(d, id)))?.id ?? null;
        }
      }
      if (this.storageVerdicts.size >= 4096) this.storageVerdicts.clear();
      this.storageVerdicts.set(key, found);
    }
    // A container process not listed yet (see hostExeDevice) is not a host process running its binary.
    if (found === null) return null;
    const lines = this.proc.cgroups(pid);
    return lines && !lines.some((l) => CONTAINER_ID.test(l.path)) ? found : null;
  }

  /**
   * Name the hook that made the kernel run a helper (file and value), read now: the helper may be
   * judged from a process event before the next scan reads the hooks. Only on a hit, so rarely.
   */
  private withHook(h: BreakoutHit, p: ProcessSnapshot): BreakoutHit {
    const paths = [p.exe ?? '', ...p.cmdline].map((x) => x.replace(/ \(deleted\)$/, '')).filter((x) => x.startsWith('/'));
    const hooks = hooksNaming(this.readTripwires(), paths);
    return {
      ...h,
      evidence: {
        ...h.evidence,
        hook_file: hooks.length > 0 ? hooks.map((x) => x.file) : 'none names it now (restored, or a helper\'s child)',
        hook_value: hooks.map((x) => x.value),
      },
    };
  }

  /**
   * The working directory when it lies outside the process's own root, else null. Walks up from the
   * cwd ("cwd/..", "cwd/../.." …, resolved by the kernel in the cwd's own mount tree) until it meets
   * the process's root (inside) or the top of that tree (outside: a directory of another mount tree,
   * such as a host directory leaked through a file descriptor or /proc/<host pid>/cwd). Cached per
   * process while its root and cwd stay the same: one stat of each per scan otherwise.
   */
  private cwdOutsideRoot(pid: number, startTime: string, root: FileId | null): string | null {
    const cwd = this.proc.fileId(pid, 'cwd');
    if (!cwd || !root) return null;
    const key = `${pid}:${startTime}`;
    const sig = `${root.dev}:${root.ino}>${cwd.dev}:${cwd.ino}`;
    const known = this.cwdVerdicts.get(key);
    if (known?.sig === sig) return known.outside;
    let outside: string | null = null;
    let at = cwd;
    let rel = 'cwd';
    let depth = 0;
    for (; depth < MAX_CWD_DEPTH && !sameFile(at, root); depth++) {
      rel += '/..';
      const up = this.proc.fileId(pid, rel);
      if (!up) break; // gone, or not a directory any more: no verdict
      if (sameFile(up, at)) {
        // The top of another container's tree (a debug container sharing its pid namespace, in
        // /proc/1/root/…) is not the host's: no verdict here.
        // Every container scoped so far, not only at the last full scan: a debug container started a
        // moment ago works in its target's tree.
        if (![...this.scoped.values()].some((s) => s.scope.root !== undefined && sameFile(s.scope.root, at))) outside = this.proc.link(pid, 'cwd') ?? `${cwd.dev}:${cwd.ino}`;
        break;
      }
      at = up;
    }
    // A tree deeper than any real one is no hiding place: no root met within the limit counts as outside.
    if (depth === MAX_CWD_DEPTH && !sameFile(at, root)) outside = `${this.proc.link(pid, 'cwd') ?? `${cwd.dev}:${cwd.ino}`} (root not met within ${MAX_CWD_DEPTH} levels)`;
    this.cwdVerdicts.set(key, { sig, outside });
    return outside;
  }

  /**
   * Mounts of host filesystems in a container's namespace that it was not given (its init's view).
   * A mount stays until unmounted, so each container's mountinfo is read every MOUNT_CHECK_EVERY
   * scans (staggered by container), and the host's is read and parsed only when a container's text
   * changed: reading mountinfo is the costly part, not judging it.
   */
  private judgeMounts(s: ScopedContainer, host: () => readonly MountLine[] | null, changed: ReadonlySet<number> | null = null): BreakoutHit[] {
    const last = this.mountTexts.get(s.scope.id);
    if (last && (changed ? !changed.has(s.initPid) : (this.scans + s.initPid) % MOUNT_CHECK_EVERY !== 0)) return last.hits;
    // A light pass does not confirm the init first (scopeOf): a reused pid is another's mount table.
    if (this.proc.startTime(s.initPid) !== s.initStartTime) return last?.hits ?? [];
    const text = this.proc.read(s.initPid, 'mountinfo');
    if (text === null) return last?.hits ?? [];
    if (last?.text === text) return last.hits;
    const hostMounts = host();
    if (!hostMounts) return [];
    const isDirectory = (device: string, fsPath: string): boolean | null => {
      const path = hostPathOf(device, fsPath, hostMounts);
      try {
        return path === null ? null : statSync(path).isDirectory();
      } catch {
        return null;
      }
    };
    const hits = judgeContainerMounts(parseMountinfo(text), hostMounts, s.scope, isDirectory);
    this.mountTexts.set(s.scope.id, { text, hits });
    return hits;
  }

  /**
   * The device of a host process's executable when it is a container's root device, else null. A
   * process of a container that started after its cgroup was listed (or that is not inspected yet)
   * looks like a host process running a container binary: its cgroup, read only on a match, tells.
   */
  private hostExeDevice(pid: number, exeId: FileId | null, scopes: readonly ContainerScope[]): string | null {
    const dev = exeId?.dev;
    if (dev === undefined || !scopes.some((s) => s.rootDevice === dev)) return null;
    const lines = this.proc.cgroups(pid);
    return lines && !lines.some((l) => CONTAINER_ID.test(l.path)) ? dev : null;
  }

  private judgeSnapshot(
    p: ProcessSnapshot, scope: ContainerScope | null, scopes: readonly ContainerScope[], host: HostReference | null,
    members: ReadonlyMap<number, ContainerScope> | null, live: boolean,
  ): { hit: BreakoutHit; key: string; p: ProcessSnapshot }[] {
    let hits: BreakoutHit[];
    if (scope) {
      if (!host) return [];
      hits = judgeContainerProcess(p, scope, host);
      // Would be flagged: is it the runtime's own helper? Its identities are read only now (rare).
      if (hits.length > 0) {
        this.addRuntimeFacts(p, members, live);
        hits = judgeContainerProcess(p, scope, host);
        // A runtime look-alike that failed: the binaries may have been replaced (an upgrade) since
        // they were read; read them again (at most once a second) and judge once more.
        if (hits.length > 0 && mayBeRuntimeCopy(p.exe)) {
          const again = this.withRuntime(host, true);
          if (again && again.runtimeBinaries !== host.runtimeBinaries) hits = judgeContainerProcess(p, scope, again);
        }
      }
    } else {
      const parent = this.helperPids.get(p.ppid);
      hits = judgeHostProcess(p, scopes, parent?.parent ?? null);
      hits = hits.map((h) => {
        if (h.reason !== 'kernel_helper_from_container') return h;
        // A helper's child inherits the hook its parent was run by.
        const withHook = parent ? { ...h, evidence: { ...h.evidence, ...parent.hook } } : this.withHook(h, p);
        const container = scopes.find((c) => c.id === h.container?.id);
        if (container) {
          this.helperPids.set(p.pid, {
            parent: { pid: p.pid, container, containerPath: String(h.evidence.container_path) },
            hook: { hook_file: withHook.evidence.hook_file ?? null, hook_value: withHook.evidence.hook_value ?? null },
          });
        }
        return withHook;
      });
    }
    return hits.map((hit) => ({ hit, key: `${hit.reason}:${p.pid}:${p.startTime}`, p }));
  }

  /**
   * The processes a hook ran: kthreadd's children whose executable or command line is the hook's
   * program (the kernel runs it with fixed arguments: judged by everything it names, as any helper), and
   * their descendants. They are kernel_helper_from_container for the hook's container, with the hook.
   */
  private findHookRuns(
    hooks: readonly BreakoutHit[], pids: readonly number[], memberOf: ReadonlyMap<number, ContainerScope>, scopes: readonly ContainerScope[],
  ): { hit: BreakoutHit; key: string; p: ProcessSnapshot }[] {
    const runs = hooks.flatMap((h) => {
      const container = scopes.find((c) => c.id === h.container?.id);
      const program = typeof h.evidence.program === 'string' ? h.evidence.program : null;
      return container && program ? [{ program, container, hook: { hook_file: [String(h.evidence.file)], hook_value: [String(h.evidence.value)] } }] : [];
    });
    if (runs.length === 0) return [];
    const host = new Map<number, ProcessSnapshot>();
    for (const pid of pids) {
      if (memberOf.has(pid)) continue;
      const p = this.snapshot(pid);
      if (p) host.set(pid, p);
    }
    const ran = new Map<number, { run: (typeof runs)[number]; parent: number | null }>();
    for (const p of host.values()) {
      if (p.ppid !== KTHREADD_PID) continue;
      const run = runs.find((r) => p.exe === r.program || p.cmdline.includes(r.program));
      if (run) ran.set(p.pid, { run, parent: null });
    }
    // Descendants, generation by generation (bounded: a process tree is not deeper than this).
    for (let depth = 0, grew = ran.size > 0; grew && depth < 64; depth++) {
      grew = false;
      for (const p of host.values()) {
        const parent = ran.get(p.ppid);
        if (parent && !ran.has(p.pid)) {
          ran.set(p.pid, { run: parent.run, parent: p.ppid });
          grew = true;
        }
      }
    }
    return [...ran].map(([pid, { run, parent }]) => {
      const p = host.get(pid) as ProcessSnapshot;
      this.helperPids.set(pid, { parent: { pid, container: run.container, containerPath: run.program }, hook: run.hook });
      const hit: BreakoutHit = {
        reason: 'kernel_helper_from_container',
        message: parent === null
          ? `the kernel ran ${run.program} from container ${run.container.name}'s filesystem as a host process (pid ${pid}), through ${String(run.hook.hook_file[0])}`
          : `host process ${pid} (${p.name}) was started by kernel helper ${parent}, which ran code from container ${run.container.name}'s filesystem`,
        evidence: { ...processEvidence(p), container_path: run.program, ...run.hook, found_by: 'hook_search', ...(parent !== null ? { helper_parent: parent } : {}) },
        container: { id: run.container.id, name: run.container.name, image: run.container.image },
      };
      return { hit, key: `${hit.reason}:${pid}:${p.startTime}`, p };
    });
  }

  /**
   * Judge processes the kernel's process events named (exec, fork, uid change) from the facts the
   * addon copied at event time, so that a process living for milliseconds is judged too. Returns
   * fresh detections, which join the active set (kept while the process lives, as for scan()), and
   * the copies whose cgroup names a container not known yet, by that container's id.
   */
  examine(
    captured: readonly RawProcessCapture[],
    containers: readonly ContainerRecord[],
    posture: DaemonPosture | null,
    hostRef: HostReference | null,
  ): { fresh: ActiveDetection[]; unknown: { containerId: string; copy: RawProcessCapture }[] } {
    const fresh: ActiveDetection[] = [];
    const unknown: { containerId: string; copy: RawProcessCapture }[] = [];
    if (!posture) return { fresh, unknown };
    this.runtimePaths = runtimePathsOf(posture, containers);
    // The host's root directory as the last scan read it: what a container process's root is compared with.
    const host = this.withRuntime(hostRef ? { ...hostRef, root: hostRef.root ?? this.hostRoot } : null);
    const shims = this.shimMap();
    const { byId, lookup } = containerLookup(containers);
    let scopes = [...this.scoped.values()].map((s) => s.scope);
    const checked = new Set<string>();
    // A host copy is judged against every container, including those started since the last scan
    // (a core_pattern helper run a moment after its container started): scoped once per batch, and
    // only when a host copy arrives (the addon copies only host processes naming container storage).
    let allScoped = false;
    const everyScope = (): ContainerScope[] => {
      if (!allScoped) {
        // With the scan's backoff: containers new since the last scan are read, ones whose init
        // could not be read are not read again on every batch.
        const now = Date.now();
        for (const r of containers) this.scopeOf(r, lookup, checked, now);
        scopes = [...this.scoped.values()].map((s) => s.scope);
        allScoped = true;
      }
      return scopes;
    };
    for (const c of captured) {
      // The addon copies container processes in full (with their status), and host processes only
      // when they name a storage prefix (Docker's data root, broader than one container's paths).
      // A container process's cgroup paths name its container's 64-hex id, whatever the driver.
      const ids = c.status !== '' ? (c.cgroup.match(new RegExp(CONTAINER_ID.source, 'g')) ?? []) : [];
      // A known container's process that exited between the addon's reads of its cgroup and its
      // status (a `/bin/true` lives a millisecond) is no host process running a container binary.
      if (c.status === '' && (c.cgroup.match(new RegExp(CONTAINER_ID.source, 'g')) ?? []).some((id) => byId.has(id))) continue;
      const p = snapshotFromCapture(c);
      if (!p) continue;
      let scope: ContainerScope | null = null;
      if (ids.length > 0) {
        const record = ids.map((id) => byId.get(id)).find((r) => r !== undefined);
        if (!record) {
          unknown.push({ containerId: ids[0] as string, copy: c });
          continue;
        }
        this.noteInitExec(record, c);
        scope = this.scopeOf(record, lookup, checked)?.scope ?? this.scopeFromInitExec(record, lookup);
        if (!scope) continue; // its init is gone and was never seen: nothing to compare with
        this.noteLineage(p.pid, p.startTime, record.id);
        p.attributedBy = 'cgroup';
      } else {
        // Not in a container's cgroup (any more): a container process that left, or a process one
        // started (the addon copies those in full too), is its container's by lineage.
        const from = this.lineageOf(p.pid, p.startTime) ?? this.parentContainer(p, null, shims, host);
        const record = from ? byId.get(from) : undefined;
        if (record) {
          scope = this.scopeOf(record, lookup, checked)?.scope ?? this.scopeFromInitExec(record, lookup);
          if (scope) {
            this.noteLineage(p.pid, p.startTime, record.id);
            p.attributedBy = 'lineage';
          }
        }
        // A host copy counts when it names container storage, runs an executable on a container's root
        // filesystem (the addon copied its device: reached through /proc/<pid>/root/…, the path names
        // no storage), or descends from a flagged kernel helper.
        const exeDev = p.exeId?.dev;
        const onContainerDevice = exeDev !== undefined && everyScope().some((sc) => sc.rootDevice === exeDev);
        if (!scope && onContainerDevice) p.exeDevice = exeDev;
        // A storage directory the addon found on the executable's path, by identity.
        const dir = fileIdOf(c.storageDir);
        const storageOf = !scope && dir ? everyScope().find((sc) => sc.storageIds?.some((d) => sameFile(d, dir)))?.id : undefined;
        if (storageOf) p.exeStorageOf = storageOf;
        if (!scope && !onContainerDevice && !storageOf && !mentionsStorage(c, everyScope()) && !this.helperPids.has(p.ppid)) continue;
      }
      // A container process that just exec'd (`chroot /proc/<host pid>/root sh`, a runc exec with a
      // leaked working directory), or one the addon's re-check found with another root or working
      // directory: its root and cwd are read now, while it lives, so a filesystem escape is judged at
      // once rather than at the next full scan. Forks are their parent's copies; not re-read.
      if (scope && (c.event === 'exec' || c.event === 'recheck') && this.proc.startTime(p.pid) === p.startTime) {
        p.root = this.proc.fileId(p.pid, 'root');
        p.cwdOutsideRoot = this.cwdOutsideRoot(p.pid, p.startTime, p.root);
      }
      let judged = this.judgeSnapshot(p, scope, scopes, host, null, this.proc.startTime(p.pid) === p.startTime);
      const later = judged.length > 0 ? this.completeCopy(p) : [];
      if (later.length > 0) {
        judged = judged.map((j) => ({ ...j, hit: { ...j.hit, evidence: { ...j.hit.evidence, ...processEvidence(p), read_after_event: later } } }));
      }
      for (const { hit, key } of judged) {
        if (this.active.has(key)) continue;
        const d = { key, hit, pid: p.pid, startTime: p.startTime };
        this.active.set(key, d);
        fresh.push(d);
      }
    }
    return { fresh, unknown };
  }

  /**
   * A copy of a host process carries no status or namespaces. For a copy that is flagged, read what
   * is missing now if the same process still lives (pid and start time); returns what was read, so
   * the evidence can say so. What stays unread is "unreadable" in the evidence.
   */
  private completeCopy(p: ProcessSnapshot): string[] {
    const missingUids = p.uids.some((u) => u < 0);
    const missingNs = Object.keys(p.ns).length === 0;
    if ((!missingUids && !missingNs) || this.proc.startTime(p.pid) !== p.startTime) return [];
    const read: string[] = [];
    const st = missingUids ? this.proc.status(p.pid) : null;
    const ns = missingNs ? this.proc.namespaces(p.pid) : null;
    if (this.proc.startTime(p.pid) !== p.startTime) return []; // replaced meanwhile: keep the copy's facts
    if (st) {
      p.uids = st.uids;
      read.push('uids');
    }
    if (ns) {
      p.ns = ns;
      read.push('namespaces');
    }
    return read;
  }

  /** A container whose init is gone by now (a breakout that exited at once), from its init's copy. */
  private scopeFromInitExec(r: ContainerRecord, lookup: (id: string) => ContainerRecord | undefined): ContainerScope | null {
    const seen = this.initAtExec.get(r.id);
    return seen && seen.pid === r.inspect.State?.Pid ? describeContainer(r, r.posture, lookup, seen.ns) : null;
  }

  /**
   * The copy of a container init's first exec shows the namespaces runc gave it, before any code of
   * the image ran; later ones (and /proc now) may show where the entrypoint moved it.
   */
  private noteInitExec(r: ContainerRecord, c: RawProcessCapture): void {
    if (c.event !== 'exec' || c.pid !== r.inspect.State?.Pid || this.initAtExec.has(r.id)) return;
    const startTime = parseStartTime(c.stat);
    if (startTime === null) return;
    this.initAtExec.set(r.id, { pid: c.pid, startTime, ns: namespacesOf(c) });
    if (this.scoped.delete(r.id)) this.scopeChanges++; // rebuilt with these namespaces
  }

  /** `posture`: an engine is connected (containers carry their own engine's posture); `dockerRootDirs`: every engine's data root. */
  scan(containers: readonly ContainerRecord[], posture: DaemonPosture | null, hostRef: HostReference | null, dockerRootDirs: string | null | readonly string[]): ScanReport {
    const seen = new Map<string, ActiveDetection>();
    const note = this.noter(seen);
    const { byId, lookup } = containerLookup(containers);
    this.runtimePaths = runtimePathsOf(posture, containers);
    this.hostRefPid = hostRef?.pid ?? null;
    this.hostRoot = hostRef ? this.proc.fileId(hostRef.pid, 'root') : null;
    this.forgetRemoved(byId);
    const now = Date.now();

    // 1. Processes in container cgroups, of every hierarchy the container has one in.
    const scopes: ContainerScope[] = [];
    const memberOf = new Map<number, ContainerScope>();
    if (posture) {
      const hostMountsNow = this.hostMountsReader(hostRef);
      for (const r of containers) {
        const s = this.scopeOf(r, lookup, undefined, now);
        if (!s) continue;
        scopes.push(s.scope);
        for (const hit of this.judgeMounts(s, hostMountsNow)) note(hit, mountKey(r.id, hit), null, null);
        const members = new Set<number>();
        for (const dir of s.cgroupDirs) this.cgroups.members(dir, members);
        for (const pid of members) memberOf.set(pid, s.scope);
      }
    }
    // The host reference with the runtime binaries' identities, once the shims are known.
    const host = this.withRuntime(hostRef ? { ...hostRef, root: this.hostRoot } : null);
    const scopeById = new Map(scopes.map((sc) => [sc.id, sc]));
    for (const [pid, scope] of memberOf) {
      const p = this.snapshot(pid);
      if (!p) continue;
      this.noteLineage(pid, p.startTime, scope.id);
      for (const { hit, key } of this.judgePid(pid, { scope, by: 'cgroup' }, scopes, host, memberOf, p)) note(hit, key, pid, p.startTime);
    }
    // 1b. Container processes that left every cgroup of their container, by lineage: judged as the
    // container's processes wherever they are now.
    for (const [pid, e] of [...this.lineage]) {
      if (memberOf.has(pid)) continue;
      const scope = scopeById.get(e.containerId);
      if (!scope) {
        if (!byId.has(e.containerId)) this.lineage.delete(pid);
        continue;
      }
      const p = this.snapshot(pid);
      if (!p || p.startTime !== e.startTime) {
        this.lineage.delete(pid);
        continue;
      }
      memberOf.set(pid, scope);
      for (const { hit, key } of this.judgePid(pid, { scope, by: 'lineage' }, scopes, host, memberOf, p)) note(hit, key, pid, p.startTime);
    }

    // 2. New host processes outside container cgroups (kernel helpers, container binaries on the host),
    // unless their parent is a container's process or shim (lineage).
    const { pids, newHost } = this.judgeNewPids(note, memberOf, scopes, scopeById, host);
    // 2b. Host processes traced from a container (TracerPid), only where a container could trace them.
    this.scans++;
    if (host && this.traceSweepWanted(scopes, host)) {
      this.ptraceSeen = false;
      for (const t of this.tracedHostProcesses(pids, memberOf)) note(t.hit, t.key, t.pid, t.startTime);
    }
    const alive = this.forgetGone(pids);

    // Detections of host processes are made once (when the pid is new): keep them while the process lives.
    for (const d of this.active.values()) {
      if (seen.has(d.key) || d.pid === null) continue;
      if (alive.has(d.pid) && this.proc.startTime(d.pid) === d.startTime) seen.set(d.key, d);
    }

    // 3. Kernel escape hooks and modules.
    const newHooks = this.judgeHooks(note, seen, scopes, dockerRootDirs) ?? [];
    // A hook newly seen pointing into a container: look once, among all host processes, for what it
    // ran. The helper may have been judged before its container was known (rootwatch starting, the
    // container not inspected yet) or its copy may have come too late; it, or what it started, may
    // still run. Only in the scan that first sees the hook: a hook pointing into a container is rare.
    if (newHooks.length > 0) {
      for (const { hit, key, p } of this.findHookRuns(newHooks, pids, memberOf, scopes)) note(hit, key, p.pid, p.startTime);
    }
    this.judgeModules(note);

    this.lastContainerProcesses = memberOf.size;
    return this.conclude(seen, newHost);
  }

  /**
   * Pids new since the last full scan, judged as host processes: kernel helpers, container binaries
   * run on the host. `memberOf` holds the container processes the scan listed. A host process whose
   * parent is a container's process or shim is its container's, by lineage.
   */
  private judgeNewPids(
    note: NoteFn, memberOf: Map<number, ContainerScope>, scopes: readonly ContainerScope[], scopeById: ReadonlyMap<string, ContainerScope>,
    host: HostReference | null,
  ): { pids: number[]; newHost: number } {
    const pids = this.proc.pids();
    const previous = this.knownPids;
    const shims = this.shimMap();
    let newHost = 0;
    for (const pid of pids) {
      if (previous?.has(pid) || memberOf.has(pid)) continue;
      newHost++;
      const p = this.snapshot(pid);
      if (!p) continue;
      const from = this.parentContainer(p, memberOf, shims, host);
      const scope = from ? scopeById.get(from) : undefined;
      if (scope) {
        this.noteLineage(pid, p.startTime, scope.id);
        memberOf.set(pid, scope);
      }
      const at: Attribution | null = scope ? { scope, by: 'lineage' } : null;
      for (const { hit, key } of this.judgePid(pid, at, scopes, host, memberOf, p)) note(hit, key, pid, p.startTime);
    }
    return { pids, newHost };
  }

  /** Forget per-process state of pids no longer alive; returns the live ones. */
  private forgetGone(pids: readonly number[]): Set<number> {
    const alive = new Set(pids);
    this.knownPids = alive;
    for (const pid of this.helperPids.keys()) if (!alive.has(pid)) this.helperPids.delete(pid);
    for (const pid of this.lineage.keys()) if (!alive.has(pid)) this.lineage.delete(pid);
    for (const key of this.cwdVerdicts.keys()) if (!alive.has(Number(key.slice(0, key.indexOf(':'))))) this.cwdVerdicts.delete(key);
    return alive;
  }

  /**
   * The light pass, for when process events report new processes and execs (issue 14): only what no
   * event reports and is cheap to read. Neither container processes nor new host pids are listed or
   * read: forks and execs arrive as events; the addon copies every host process whose executable names
   * container storage, lies on a container's root device or under a storage directory (by identity),
   * and re-reads the namespaces, root and working directory of every container process it has judged
   * every 500 ms (a setns or a chdir without exec). What stays: the kernel escape hooks, the module
   * list when /sys/module changed, the mount tables the addon's poll() watch says changed (a third of
   * them without it), and a third of the containers' cgroup member lists (one hierarchy each:
   * processes moved in). Detections of processes stay active while their
   * process lives. Returns null, having changed nothing, when a full scan must run instead: a hook newly
   * pointing into a container (its helper is searched among all host processes), or no engine yet.
   */
  lightScan(containers: readonly ContainerRecord[], hostRef: HostReference | null, dockerRootDirs: string | null | readonly string[]): ScanReport | null {
    if (!hostRef || this.hostRefPid === null) return null;
    const seen = new Map<string, ActiveDetection>();
    const note = this.noter(seen);
    const { byId } = containerLookup(containers);
    this.forgetRemoved(byId);
    const scopes = [...this.scoped.values()].map((s) => s.scope);
    // Hooks are judged against the containers scoped so far; one newly pointing into a container
    // sends the caller to a full scan, before anything of this pass is kept.
    if (this.judgeHooks(note, seen, scopes, dockerRootDirs, true) === null) return null;
    const hostMountsNow = this.hostMountsReader(hostRef);
    const changed = this.watchMounts();
    for (const s of this.scoped.values()) {
      for (const hit of this.judgeMounts(s, hostMountsNow, changed)) note(hit, mountKey(s.scope.id, hit), null, null);
    }
    this.judgeMovedIn(note, scopes, hostRef);
    for (const d of this.active.values()) {
      if (d.pid !== null && !seen.has(d.key) && this.proc.startTime(d.pid) === d.startTime) seen.set(d.key, d);
    }
    this.judgeModules(note, true);
    this.scans++;
    return this.conclude(seen, 0);
  }

  /**
   * Records a detection of the pass under way in `seen`. A detection keeps its identity (counted
   * once), but a later pass may name the container that an early one could not (a hook written
   * before the container was audited).
   */
  private noter(seen: Map<string, ActiveDetection>): NoteFn {
    return (hit, key, pid, startTime) => {
      const known = this.active.get(key);
      seen.set(key, known ? (known.hit.container || !hit.container ? known : { ...known, hit }) : { key, hit, pid, startTime });
    };
  }

  /**
   * Processes moved into a container's cgroup (a write to cgroup.procs sends no process event): one
   * hierarchy of each container, each container every MEMBER_CHECK_EVERY light passes (staggered).
   * A member that is not its container's already (lineage: the same pid and start time) is judged as
   * the container's process, and noted.
   */
  private judgeMovedIn(note: NoteFn, scopes: readonly ContainerScope[], hostRef: HostReference): void {
    let host: HostReference | null | undefined;
    for (const s of this.scoped.values()) {
      const dir = s.cgroupDirs[0];
      if (dir === undefined || (this.scans + s.initPid) % MEMBER_CHECK_EVERY !== 0) continue;
      const members = this.cgroups.members(dir);
      // The same pids as at this container's last check: nothing moved in (an idle container's
      // check is then one read of cgroup.procs, not one more read per member). A member that
      // exited and whose pid a process moved in took over within one period would look the same:
      // the full scan, which reads every member's start time, judges it.
      const sig = [...members].join(',');
      if (this.memberSigs.get(s.scope.id) === sig) continue;
      this.memberSigs.set(s.scope.id, sig);
      for (const pid of members) {
        const known = this.lineage.get(pid);
        if (known?.containerId === s.scope.id && this.proc.startTime(pid) === known.startTime) continue;
        const p = this.snapshot(pid);
        if (!p) continue;
        this.noteLineage(pid, p.startTime, s.scope.id);
        host ??= this.withRuntime({ ...hostRef, root: this.hostRoot });
        for (const { hit, key } of this.judgePid(pid, { scope: s.scope, by: 'cgroup' }, scopes, host, null, p)) note(hit, key, pid, p.startTime);
      }
    }
  }

  /**
   * Bring the mount watch up to date with the scoped containers' inits (before their tables are read,
   * so no change falls between) and return the inits whose table changed; null without a watch.
   */
  private watchMounts(): Set<number> | null {
    if (!this.mountWatch) return null;
    let added: number[] = [];
    if (this.mountWatchAt !== this.scopeChanges) {
      const inits = [...this.scoped.values()].map((s) => s.initPid);
      added = inits.filter((pid) => !this.mountWatched.has(pid));
      this.mountWatch.watch(inits);
      this.mountWatched = new Set(inits);
      this.mountWatchAt = this.scopeChanges;
    }
    // A table newly watched is read once more: it may have changed since the scan that first read it.
    const changed = this.mountWatch.changed();
    for (const pid of added) changed.add(pid);
    return changed;
  }

  /** Forget what is kept per container for the containers no longer in the inventory. */
  private forgetRemoved(byId: ReadonlyMap<string, ContainerRecord>): void {
    for (const id of this.scoped.keys()) if (!byId.has(id) && this.scoped.delete(id)) this.scopeChanges++;
    for (const id of this.mountTexts.keys()) if (!byId.has(id)) this.mountTexts.delete(id);
    for (const id of this.memberSigs.keys()) if (!byId.has(id)) this.memberSigs.delete(id);
    for (const id of this.initAtExec.keys()) if (!byId.has(id)) this.initAtExec.delete(id);
    for (const id of this.unscoped.keys()) if (!byId.has(id)) this.unscoped.delete(id);
  }

  /** The host reference's mount table, read and parsed once per pass, and only if a container's changed. */
  private hostMountsReader(hostRef: HostReference | null): () => MountLine[] | null {
    let hostMounts: MountLine[] | null | undefined;
    return () => {
      if (hostMounts === undefined) {
        const text = hostRef ? this.proc.read(hostRef.pid, 'mountinfo') : null;
        hostMounts = text === null ? null : parseMountinfo(text);
      }
      return hostMounts;
    };
  }

  /** The detections of a pass: the fresh ones to report, and the active set it leaves. */
  private conclude(seen: ReadonlyMap<string, ActiveDetection>, newHost: number): ScanReport {
    const fresh = [...seen.values()].filter((d) => !this.active.has(d.key));
    // Changes and module loads are events: report once, do not keep them "active".
    this.active = new Map([...seen].filter(([, d]) => reasonRecord(d.hit.reason).kind === 'active'));
    return { fresh, active: [...this.active.values()], containerProcesses: this.lastContainerProcesses, newHostProcesses: newHost };
  }

  private hookKey(hit: BreakoutHit): string {
    return `${hit.reason}:${String(hit.evidence.file)}:${String(hit.evidence.value ?? hit.evidence.after)}`;
  }

  /**
   * The kernel escape hooks against their last values and the containers; the new values become the
   * baseline (a change is reported once; the container-path check keeps firing while the hook still
   * points into a container). Returns the hooks newly seen pointing into a container; with
   * `noneNew`, null instead when there is one, having noted nothing and kept the old baseline.
   */
  private judgeHooks(
    note: NoteFn, seen: ReadonlyMap<string, ActiveDetection>, scopes: readonly ContainerScope[], dockerRootDirs: string | null | readonly string[], noneNew = false,
  ): BreakoutHit[] | null {
    const tw = this.readTripwires();
    const hits = judgeTripwires(tw, this.tripwireBaseline ?? new Map(), scopes, storagePrefixes(dockerRootDirs, []));
    const fresh = hits.filter((h) => h.reason === 'tripwire_container_path' && !this.active.has(this.hookKey(h)) && !seen.has(this.hookKey(h)));
    if (noneNew && fresh.length > 0) return null;
    for (const hit of hits) note(hit, this.hookKey(hit), null, null);
    this.tripwireBaseline = tw;
    return fresh;
  }

  /**
   * Modules loaded since the last pass (the first pass takes the baseline). A light pass first looks
   * at the link count of /sys/module (one directory per module, a stat): the list is read only when
   * that changed. A load and an unload in the same second keep the count: the next full scan reads it.
   */
  private judgeModules(note: NoteFn, light = false): void {
    const links = linkCount(`${this.opts.sysfs}/module`);
    if (light && this.moduleBaseline && links !== null && links === this.moduleLinks) return;
    this.moduleLinks = links;
    const modulesText = readOptional(this.proc.path('modules'));
    if (modulesText === null) return;
    const mods = parseModules(modulesText);
    if (this.moduleBaseline) for (const hit of judgeModules(mods, this.moduleBaseline)) note(hit, `${hit.reason}:${String(hit.evidence.module)}`, null, null);
    this.moduleBaseline = new Set([...(this.moduleBaseline ?? []), ...mods]);
  }
}

/**
 * A ProcessSnapshot from raw facts the addon copied at event time; null when incomplete. Host
 * processes come without status and namespaces (the host-process checks need neither): uids and
 * capabilities are then unknown (-1, 0), and the evidence says "unreadable" for them.
 */
export function snapshotFromCapture(c: RawProcessCapture): ProcessSnapshot | null {
  const startTime = parseStartTime(c.stat);
  const ids = parseStatIds(c.stat);
  if (startTime === null || !ids) return null;
  const st = c.status ? parseStatus(c.pid, c.status) : null;
  const ns = namespacesOf(c);
  const cmdline = c.cmdline.split('\0');
  if (cmdline.length && cmdline[cmdline.length - 1] === '') cmdline.pop();
  const exeId = fileIdOf(c.exeId);
  const parentExeId = fileIdOf(c.parentExeId);
  return {
    pid: c.pid, ppid: ids.ppid, startTime, name: st?.name ?? ids.name, exe: c.exe || null, parentExe: c.parentExe || null, cmdline,
    ...(!c.exe && statShowsExiting(c.stat) ? { exiting: true } : {}),
    uids: st?.uids ?? [-1, -1, -1, -1], capEff: st?.capEff ?? 0n, ns,
    ...(exeId ? { exeId } : {}), ...(parentExeId ? { parentExeId } : {}),
  };
}

/** "dev:ino" as the addon copies an executable's identity; undefined when it was not read. */
function fileIdOf(text: string | undefined): FileId | undefined {
  const m = text ? /^(\d+):(\d+)$/.exec(text) : null;
  return m ? { dev: m[1] as string, ino: m[2] as string } : undefined;
}

/** Namespace inode numbers of a copy in the form /proc/<pid>/ns links read ("mnt:[4026531841]"). */
function namespacesOf(c: RawProcessCapture): Namespaces {
  const ns: Namespaces = {};
  NS_KINDS.forEach((k, i) => {
    const ino = c.ns[i];
    if (ino) ns[k] = `${k}:[${ino}]`;
  });
  return ns;
}

/**
 * The runtime paths every engine names (Docker's /info Runtimes; a host may run several engines):
 * from the posture given and the containers' own engines' postures (few distinct objects).
 */
function runtimePathsOf(posture: DaemonPosture | null, containers: readonly ContainerRecord[]): string[] {
  const postures = new Set<DaemonPosture>(posture ? [posture] : []);
  for (const r of containers) postures.add(r.posture);
  return [...new Set([...postures].flatMap((p) => p.runtimePaths))].sort();
}

/** A mount detection's identity: the container and the mount. */
function mountKey(containerId: string, hit: BreakoutHit): string {
  return `${hit.reason}:${containerId}:${String(hit.evidence.device)}:${String(hit.evidence.filesystem_root)}:${String(hit.evidence.mount_point)}`;
}

/** Find a container by full id, id prefix or name (`container:<id>` namespace modes name one). */
function containerLookup(containers: readonly ContainerRecord[]): { byId: Map<string, ContainerRecord>; lookup: (id: string) => ContainerRecord | undefined } {
  const byId = new Map(containers.map((c) => [c.id, c]));
  return { byId, lookup: (id) => byId.get(id) ?? containers.find((c) => c.id.startsWith(id) || c.name === id) };
}

/** Does the executable or command line of a copied process name a path in container storage? */
function mentionsStorage(c: RawProcessCapture, scopes: readonly ContainerScope[]): boolean {
  for (const sc of scopes) {
    for (const path of sc.storagePaths) {
      if (c.exe.startsWith(path) || c.cmdline.includes(path)) return true;
    }
  }
  return false;
}

/** A directory's link count (2 + its subdirectories on sysfs), null when it cannot be read. */
function linkCount(dir: string): number | null {
  try {
    return statSync(dir).nlink;
  } catch {
    return null;
  }
}

/** A file that may not exist on this kernel (no modules, no uevent_helper): null then. */
function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
