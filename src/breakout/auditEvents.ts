// The kernel audit subsystem as an optional second source of process facts (issue 13). It reports a
// setns() the process connector cannot see (no fork, no exec: an escape that enters the host's
// namespaces, writes and exits within the connector's 250 ms re-check), and unshare, mount, ptrace
// and module loads, with the caller's pid, in the kernel's own words.
//
// It works next to auditd and never instead of it: rootwatch never enables auditing and never
// registers as the audit daemon. With auditing off, or no daemon registered (then the kernel writes
// every record to its log), it stays off and says why. While it runs it keeps its own rules (keyed
// rootwatch) loaded, removes the ones it added when it stops or when the audit daemon goes away, and
// adds them again when a daemon (re)starts (auditd's rule loading flushes rules).
import { CatchUp } from './catchUp.js';
import type { Logger } from '../log/logger.js';
import type { RawProcessCapture } from '../proc/procConnector.js';
import { loadAuditAddon, syscallName, type AuditAddon, type AuditBatch, type AuditRecord, type AuditStatus } from '../proc/auditSource.js';
import { CATCH_UP_MIN_MS, COUNTER_INTERVAL_MS } from './processEvents.js';

export const AUDIT_MODES = ['off', 'auto', 'on'] as const;
export type AuditMode = (typeof AUDIT_MODES)[number];

/** What became of a record of rootwatch's rules: its process copied for the detectors, or gone before it could be read. */
export const AUDIT_RECORD_OUTCOMES = ['copied', 'gone'] as const;
export type AuditRecordOutcome = (typeof AUDIT_RECORD_OUTCOMES)[number];

export interface AuditEventSink {
  /** Judge these processes now (found by audit); they may be gone. Returns the pids newly flagged. */
  examine(captured: RawProcessCapture[]): readonly number[];
  fullScan(reason: string): void;
  /**
   * audit_unread: a container process's record whose process had exited before it could be read;
   * audit_dropped: records the kernel lost (backlog full), the listener had no room for, or beyond
   * the reader's budget of /proc reads (a flood of mounts from a container).
   */
  lost(why: 'audit_unread' | 'audit_dropped', n: number): void;
  records(outcome: AuditRecordOutcome, n: number): void;
  /** The source is (1) or is not (0) delivering records. */
  state(active: boolean): void;
}

const CONTAINER_ID = /[0-9a-f]{64}/;
/**
 * A process flagged from one record (its first setns) often exits before its next ones are read
 * (setns into four namespaces is four records): those are no loss. How long a flagged pid vouches.
 */
const FLAGGED_VOUCH_MS = 10_000;

/** Why the kernel's audit state does not allow a listener beside auditd; null when it does. */
export function auditRefusal(st: AuditStatus): string | null {
  if (st.enabled === 0) return 'auditing is disabled on this host (auditctl -s: enabled 0); rootwatch does not enable it: start auditd';
  if (st.pid === 0) return 'no audit daemon is registered (auditd not running): the kernel would write every record to its log';
  return null;
}

/** The copy the scanner judges, from a record whose process was read; the event names the syscall. */
const AUDIT_CAPTURE: RawProcessCapture['event'] = 'audit';

export function captureOfRecord(r: AuditRecord): RawProcessCapture {
  return {
    pid: r.pid, event: AUDIT_CAPTURE, ns: r.ns, status: r.status, cgroup: r.cgroup, stat: r.stat, exe: r.exe, parentExe: r.parentExe, cmdline: r.cmdline,
    ...(r.exeId ? { exeId: r.exeId } : {}), ...(r.parentExeId ? { parentExeId: r.parentExeId } : {}),
  };
}

export class AuditEventSource {
  private addon: AuditAddon | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly catchUp = new CatchUp(CATCH_UP_MIN_MS, (n) => this.sink.fullScan(`${n} audit records of container processes that exited before they could be read`));
  /** Rules this process added (by arch), and so removes. */
  private readonly added = new Set<string>();
  /** The audit daemon's pid when the rules were last loaded; 0: suspended (no daemon, or auditing off). */
  private daemonPid = 0;
  private kernelLost = 0;
  private last = { ringDropped: 0, overruns: 0, throttled: 0 };
  private draining = false;
  private wakeSoon: NodeJS.Timeout | null = null;
  /** Pids flagged from audit copies, and when. */
  private readonly flagged = new Map<number, number>();

  constructor(
    private readonly sink: AuditEventSink,
    private readonly log: Logger,
    /** Where the host's procfs is mounted (`paths.procfs`): the addon reads processes through it. */
    private readonly procfs: string,
    private readonly load: typeof loadAuditAddon = loadAuditAddon,
  ) {}

  get active(): boolean {
    return this.addon !== null && this.daemonPid !== 0;
  }

  /** Start; null when records flow, else why not. */
  start(): string | null {
    const { addon, reason } = this.load();
    if (!addon) return reason;
    let st: AuditStatus;
    try {
      st = addon.status();
    } catch (e) {
      return `cannot read the audit status (${(e as Error).message}): rootwatch needs CAP_AUDIT_CONTROL and CAP_AUDIT_READ`;
    }
    const refused = auditRefusal(st);
    if (refused) return refused;
    try {
      addon.open(() => this.wake(), this.procfs);
    } catch (e) {
      return `cannot listen to audit records (${(e as Error).message}): rootwatch needs CAP_AUDIT_READ`;
    }
    this.addon = addon;
    this.kernelLost = st.lost;
    const why = this.loadRules(st);
    if (why) {
      this.stop();
      return why;
    }
    this.timer = setInterval(() => {
      this.watchDaemon();
      this.sync();
    }, COUNTER_INTERVAL_MS);
    this.timer.unref();
    return null;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.catchUp.cancel();
    if (this.wakeSoon) clearTimeout(this.wakeSoon);
    this.timer = this.wakeSoon = null;
    if (!this.addon) return;
    this.addon.close();
    this.removeRules();
    this.addon = null;
    this.daemonPid = 0;
    this.sink.state(false);
  }

  private loadRules(st: AuditStatus): string | null {
    if (!this.addon) return 'not open';
    try {
      const outcomes = this.addon.addRules();
      for (const o of outcomes) if (o.outcome === 'added') this.added.add(o.arch);
      this.daemonPid = st.pid;
      this.sink.state(true);
      this.log.info(`audit rules loaded: ${outcomes.map((o) => `${o.arch} ${o.outcome}`).join(', ')}`, { event: 'audit_rules', rules: outcomes });
      return null;
    } catch (e) {
      return `cannot add audit rules (${(e as Error).message}): rootwatch needs CAP_AUDIT_CONTROL, and the rules must not be locked (auditctl -e 2)`;
    }
  }

  private removeRules(): void {
    if (!this.addon || this.added.size === 0) return;
    try {
      this.addon.removeRules([...this.added]);
    } catch (e) {
      this.log.warning(`cannot remove rootwatch's audit rules (${(e as Error).message}): auditctl -l lists them (key rootwatch)`, { event: 'audit_rules' });
    }
    this.added.clear();
  }

  /**
   * Once a second: the kernel's lost count (a full backlog loses records: a loss like a kernel drop),
   * and the audit daemon. Gone (auditd stopped): our rules are removed, else the kernel would log
   * each record; a new one (auditd restarted, its rule loading flushed the rules): they are added again.
   */
  private watchDaemon(): void {
    if (!this.addon) return;
    let st: AuditStatus;
    try {
      st = this.addon.status();
    } catch (e) {
      this.log.error(`audit status failed: ${(e as Error).message}`, { event: 'audit_source_error' });
      return;
    }
    const lost = st.lost - this.kernelLost;
    this.kernelLost = st.lost;
    if (lost > 0 && this.daemonPid !== 0) {
      this.sink.lost('audit_dropped', lost);
      this.sink.fullScan(`${lost} audit records lost by the kernel (backlog full)`);
    }
    const refused = auditRefusal(st);
    if (refused && this.daemonPid !== 0) {
      this.removeRules();
      this.daemonPid = 0;
      this.sink.state(false);
      this.log.warning(`audit source suspended: ${refused}`, { event: 'audit_source', state: 'suspended', reason: refused });
    } else if (!refused && st.pid !== this.daemonPid) {
      const resumed = this.daemonPid === 0;
      const why = this.loadRules(st);
      if (why) this.log.error(`audit source: ${why}`, { event: 'audit_source_error' });
      else if (resumed) this.log.notice(`audit source resumed (audit daemon pid ${st.pid})`, { event: 'audit_source', state: 'active' });
    }
  }

  /** Records were taken: judge them within a couple of milliseconds, one batch per burst. */
  private wake(): void {
    if (this.wakeSoon) return;
    this.wakeSoon = setTimeout(() => {
      this.wakeSoon = null;
      this.sync();
    }, 2);
  }

  sync(): void {
    if (!this.addon || this.draining) return;
    this.draining = true;
    try {
      const batch: AuditBatch = this.addon.drain();
      const copies = batch.records.filter((r) => !r.gone).map(captureOfRecord);
      const now = Date.now();
      if (copies.length > 0) {
        this.sink.records('copied', copies.length);
        for (const pid of this.sink.examine(copies)) this.flagged.set(pid, now);
      }
      for (const [pid, at] of this.flagged) if (now - at > FLAGGED_VOUCH_MS) this.flagged.delete(pid);
      let unread = 0;
      const gone = batch.records.filter((r) => r.gone);
      for (const r of gone) {
        // Gone before it was read: a loss when it was a container's (its cgroup, or its parent's, names
        // one: setns does not move a process between cgroups), unless an earlier record of the same
        // process already flagged it. A host process (runc's own mounts) is not.
        if (this.flagged.has(r.pid)) continue;
        if (CONTAINER_ID.test(r.cgroup) || CONTAINER_ID.test(r.parentCgroup)) {
          unread++;
          this.log.debug(`audit: ${syscallName(r.arch, r.syscall)} by pid ${r.pid} (ppid ${r.ppid}) of a container, gone before it was read`, { event: 'audit_unread' });
        }
      }
      if (gone.length > 0) this.sink.records('gone', gone.length);
      const throttled = (batch.throttled ?? 0) - this.last.throttled;
      const dropped = batch.ringDropped - this.last.ringDropped + (batch.overruns - this.last.overruns) + throttled;
      this.last = { ringDropped: batch.ringDropped, overruns: batch.overruns, throttled: batch.throttled ?? 0 };
      if (dropped > 0) {
        this.sink.lost('audit_dropped', dropped);
        this.sink.fullScan(`${dropped} audit records dropped by the listener`);
      }
      if (unread > 0) {
        this.sink.lost('audit_unread', unread);
        this.catchUp.request(unread);
      }
    } catch (e) {
      this.log.error(`audit record handling failed: ${(e as Error).message}`, { event: 'audit_source_error' });
    } finally {
      this.draining = false;
    }
  }
}
