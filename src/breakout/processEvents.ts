// Real-time process events: the kernel's process connector tells about every fork, exec and uid
// change as it happens, so a breakout that lives for milliseconds (nsenter … /bin/true, a
// release_agent payload) is judged while it still exists. Polling stays as the fallback and as a
// periodic safety net; after any lost event a full scan runs at once, so nothing is silently missed.
import { CatchUp } from './catchUp.js';
import type { Logger } from '../log/logger.js';
import { RUNTIME_EXECUTABLES } from './runtimeHelpers.js';
import { loadProcConnector, PROC_EVENT_TYPES, type ProcConnectorAddon, type ProcEventBatch, type ProcEventName, type RawProcessCapture, type MountWatch } from '../proc/procConnector.js';

/** How often the event counters are read when nothing else wakes JavaScript. */
export const COUNTER_INTERVAL_MS = 1000;
/** How long copies may wait to be judged together. */
export const BATCH_DELAY_MS = 2;
/**
 * Catch-up scans for processes that exited before they were read: at most one per this period. Such
 * losses come in storms (a container forking flat out keeps the reader busy), and a full scan per
 * batch would turn the storm into continuous scans; what the catch-up can still find (an escaped
 * parent still waiting for its child) lives that long.
 */
export const CATCH_UP_MIN_MS = 1000;

/**
 * Why a process event was lost: the kernel dropped it (socket buffer full), the copy ring had no
 * room, a container-side process exited before it could be read and nothing vouches for it, or
 * (exec_unread) a container process read before exec'd or changed uid and was gone before that
 * event was read: what every busy container's short execs give, counted apart so that an alert can
 * page on the others. With the audit source (breakout.audit): audit_unread, a container process's
 * audit record whose process exited before it was read; audit_dropped, records the kernel or the
 * listener lost.
 */
export const LOSS_REASONS = ['kernel_dropped', 'copy_ring_full', 'exited_before_read', 'exec_unread', 'audit_unread', 'audit_dropped'] as const;
export type LossReason = (typeof LOSS_REASONS)[number];

export interface ProcessEventSink {
  /** Judge these processes now, from the facts copied at event time (they may be gone). */
  examine(captured: RawProcessCapture[]): void;
  /** Events were lost: run a full scan now. */
  fullScan(reason: string): void;
  counted(type: ProcEventName, n: number): void;
  /** What the addon did with the process of fork, exec and uid events. */
  examined(outcome: ExamineOutcome, n: number): void;
  /** Kernel drops and copies with no room (kept as rootwatch_process_events_dropped_total). */
  dropped(n: number): void;
  /** Every loss, by why. */
  lost(why: LossReason, n: number): void;
  /** The periodic namespace re-check: processes read, and found moved (copied for the detectors). */
  rechecked(outcome: 'read' | 'moved', n: number): void;
  /** CPU seconds the re-check took in the reader thread. */
  recheckCpu(seconds: number): void;
  /** Container processes the re-check holds now (its cost follows them). */
  cached(entries: number): void;
  /** What the addon filters with; read at start and every COUNTER_INTERVAL_MS. */
  /** The filter now, or null when nothing it is made of changed since the last call. */
  filter(): AddonFilter | null;
}

export interface AddonFilter {
  /**
   * Where container filesystems live on the host (see containerScope.ts storagePrefixes()). The addon copies a host
   * process only when its exe or command line names one of them: the host-process detectors flag
   * nothing else, and copying every host exec was most of the cost.
   */
  storagePrefixes: readonly string[];
  /**
   * The host's reference namespaces as inode numbers in NS_KINDS order (0: unknown). A container
   * process's fork child in its parent's namespaces, none of them the host's, is not copied again.
   */
  hostNamespaces: readonly number[];
  /**
   * Containers' root filesystem devices (st_dev, decimal): a host process whose executable lies on
   * one is copied, whatever path reached it (/proc/<container pid>/root/…, which names no storage).
   */
  containerDevices?: readonly string[];
  /**
   * Containers' storage directories ("dev:ino", as resolved where the engine made them): a host process
   * with one on its executable's path is copied (a bind mount of a container's upper directory).
   */
  storageDirs?: readonly string[];
}

/**
 * copied: facts copied for the detectors; skipped: a host process with nothing to judge; unchanged:
 * a container fork child in its parent's namespaces (its parent's copy again), or a container exec in
 * the state its process was last judged in (see exec_unchanged() in the addon); gone: exited before
 * it could be read (a process the events could not judge).
 */
export const EXAMINE_OUTCOMES = ['copied', 'skipped', 'unchanged', 'gone'] as const;
export type ExamineOutcome = (typeof EXAMINE_OUTCOMES)[number];

type Cumulative = Pick<ProcEventBatch, 'counts' | 'snapshotsDropped' | 'overruns' | 'lost' | 'lostExited' | 'lostExecUnread' | 'recheckReads' | 'recheckMoved' | 'recheckCpuSeconds' | ExamineOutcome>;

export class ProcessEventSource {
  private addon: ProcConnectorAddon | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last: Cumulative = {
    counts: Object.fromEntries(PROC_EVENT_TYPES.map((t) => [t, 0])) as Record<ProcEventName, number>,
    snapshotsDropped: 0, overruns: 0, lost: 0, lostExited: 0, lostExecUnread: 0, recheckReads: 0, recheckMoved: 0, recheckCpuSeconds: 0, copied: 0, skipped: 0, unchanged: 0, gone: 0,
  };
  private seededLogged = false;
  /**
   * Container processes exited before they were read: a full scan looks at what is left (an escaped
   * parent still waiting for its child, a sibling), at most once per CATCH_UP_MIN_MS.
   */
  private readonly catchUp = new CatchUp(CATCH_UP_MIN_MS, (n) => this.sink.fullScan(`${n}+ container processes exited before they could be read`));
  private filterKey = '';
  private draining = false;
  private drainSoon: NodeJS.Timeout | null = null;

  constructor(
    private readonly sink: ProcessEventSink,
    private readonly log: Logger,
    /** Where the host's procfs is mounted (`paths.procfs`): the addon reads processes through it. */
    private readonly procfs: string,
    /** Where the addon comes from (tests pass a fake that replays recorded batches). */
    private readonly load: typeof loadProcConnector = loadProcConnector,
  ) {}

  /** Try to subscribe; returns null on success or the reason polling must do instead. */
  private readerPriorityLogged = false;

  start(): string | null {
    const { addon, reason } = this.load();
    if (!addon) return reason;
    try {
      this.filterKey = '';
      addon.setFilter([], [...RUNTIME_EXECUTABLES], []);
      // ROOTWATCH_READER_REALTIME=0: the reader thread does not ask for real-time priority (nice -10
      // instead): for comparing the two, and for hosts whose operators forbid real-time threads.
      addon.open(() => this.wake(), undefined, process.env.ROOTWATCH_READER_REALTIME !== '0', this.procfs);
    } catch (e) {
      const err = e as Error & { code?: string };
      return err.code === 'EPERM'
        ? `process connector refused (${err.message}): rootwatch needs root or CAP_NET_ADMIN`
        : `process connector unavailable (${err.message}): the kernel may lack CONFIG_PROC_EVENTS`;
    }
    this.addon = addon;
    this.refreshFilter();
    // The addon wakes JavaScript only for copies and losses; plain counts are collected here.
    this.timer = setInterval(() => {
      this.refreshFilter();
      this.sync();
    }, COUNTER_INTERVAL_MS);
    this.timer.unref();
    return null;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.drainSoon) clearTimeout(this.drainSoon);
    this.catchUp.cancel();
    this.timer = null;
    this.drainSoon = null;
    this.addon?.watchMounts?.([]);
    this.addon?.close();
    this.addon = null;
  }

  /** The addon's mount-table watch, while the connector is active and the addon has one. */
  mountWatch(): MountWatch | null {
    const addon = this.addon;
    if (!addon?.watchMounts || !addon.mountsChanged) return null;
    return {
      watch: (pids) => void addon.watchMounts?.([...pids]),
      changed: () => new Set(addon.mountsChanged?.() ?? []),
    };
  }

  get active(): boolean {
    return this.addon !== null;
  }

  private refreshFilter(): void {
    if (!this.addon) return;
    try {
      const f = this.sink.filter();
      if (!f) return;
      const prefixes = [...new Set(f.storagePrefixes.filter((p) => p.length > 0))].sort();
      const devices = [...new Set(f.containerDevices ?? [])].sort();
      const dirs = [...new Set(f.storageDirs ?? [])].sort();
      const key = JSON.stringify([prefixes, f.hostNamespaces, devices, dirs]);
      if (key === this.filterKey) return;
      this.filterKey = key;
      this.addon.setFilter(prefixes, [...RUNTIME_EXECUTABLES], [...f.hostNamespaces], devices, dirs);
    } catch (e) {
      this.log.error(`process event filter update failed: ${(e as Error).message}`, { event: 'process_events_error' });
    }
  }

  /**
   * The addon has copies: judge them within BATCH_DELAY_MS. The copies are already taken, so the
   * wait costs no detection, and one batch then carries the copies of a whole burst (a container
   * runs its exec and fork copies in quick succession) instead of one wake-up each.
   */
  private wake(): void {
    if (this.drainSoon) return;
    this.drainSoon = setTimeout(() => {
      this.drainSoon = null;
      this.sync();
    }, BATCH_DELAY_MS);
  }

  /** Read the addon now (counters, copies, losses): on a copy batch and once a second, never from a scrape. */
  /**
   * Say once which priority the reader thread got: at real-time priority a fork storm in a container
   * cannot starve it; without, escapes hidden in a storm may be missed (and are counted as losses).
   */
  private logReaderPriority(realtime: boolean): void {
    this.readerPriorityLogged = true;
    if (realtime) {
      this.log.info('process-event reader thread at real-time priority (SCHED_RR 1)', { event: 'process_reader', priority: 'realtime' });
    } else {
      this.log.warning('process-event reader thread at normal priority: a fork storm in a container can hide an escape (allow SCHED_RR 1: LimitRTPRIO=1 and sched_setscheduler, as the shipped unit does)',
        { event: 'process_reader', priority: 'normal' });
    }
  }

  sync(): void {
    if (!this.addon || this.draining) return;
    this.draining = true;
    try {
      const batch = this.addon.drain();
      if (!this.readerPriorityLogged) this.logReaderPriority(batch.realtimeReader);
      for (const t of PROC_EVENT_TYPES) {
        const n = (batch.counts[t] ?? 0) - this.last.counts[t];
        if (n > 0) this.sink.counted(t, n);
      }
      for (const o of EXAMINE_OUTCOMES) {
        const n = (batch[o] ?? 0) - this.last[o];
        if (n > 0) this.sink.examined(o, n);
      }
      if (batch.snapshots.length > 0) this.sink.examine(batch.snapshots);
      // Events lost: in the kernel (the socket's drop counter; at least one per overrun), and copies
      // the ring had no room for. Either way a full scan looks at what is left.
      const kernelLost = batch.lost - this.last.lost;
      const overruns = batch.overruns - this.last.overruns;
      const copiesLost = batch.snapshotsDropped - this.last.snapshotsDropped;
      const lost = Math.max(kernelLost, overruns) + copiesLost;
      // An addon built before losses were told apart has no lostExited: no such losses, not NaN.
      const exited = (batch.lostExited ?? 0) - this.last.lostExited;
      const execUnread = (batch.lostExecUnread ?? 0) - this.last.lostExecUnread;
      const reads = (batch.recheckReads ?? 0) - this.last.recheckReads;
      const moved = (batch.recheckMoved ?? 0) - this.last.recheckMoved;
      const recheckCpu = (batch.recheckCpuSeconds ?? 0) - this.last.recheckCpuSeconds;
      this.last = {
        counts: { ...batch.counts }, snapshotsDropped: batch.snapshotsDropped, overruns: batch.overruns, lost: batch.lost,
        lostExited: batch.lostExited ?? 0, lostExecUnread: batch.lostExecUnread ?? 0, recheckReads: batch.recheckReads ?? 0, recheckMoved: batch.recheckMoved ?? 0, recheckCpuSeconds: batch.recheckCpuSeconds ?? 0,
        copied: batch.copied, skipped: batch.skipped, unchanged: batch.unchanged, gone: batch.gone,
      };
      if (!this.seededLogged && (batch.seeded ?? 0) > 0) {
        this.seededLogged = true;
        this.log.info(`process events: ${batch.seeded} container processes already running added to the namespace re-check`, { event: 'process_events_seeded', processes: batch.seeded });
      }
      if (reads > 0) this.sink.rechecked('read', reads);
      if (moved > 0) this.sink.rechecked('moved', moved);
      if (recheckCpu > 0) this.sink.recheckCpu(recheckCpu);
      if (batch.namespaceCacheEntries !== undefined) this.sink.cached(batch.namespaceCacheEntries);
      if (Math.max(kernelLost, overruns) > 0) this.sink.lost('kernel_dropped', Math.max(kernelLost, overruns));
      if (copiesLost > 0) this.sink.lost('copy_ring_full', copiesLost);
      if (exited > 0) this.sink.lost('exited_before_read', exited);
      if (execUnread > 0) this.sink.lost('exec_unread', execUnread);
      if (lost > 0) {
        this.sink.dropped(lost);
        this.sink.fullScan(`${lost} process events lost in a burst (${Math.max(kernelLost, overruns)} by the kernel, ${copiesLost} copies)`);
      } else if (exited > 0) {
        // Not for exec_unread: that process was read before and is gone, and what it started arrives
        // as events of its own; a full scan would find nothing of it (and a busy container has many).
        this.catchUp.request(exited);
      }
    } catch (e) {
      this.log.error(`process event handling failed: ${(e as Error).message}`, { event: 'process_events_error' });
    } finally {
      this.draining = false;
    }
  }
}
