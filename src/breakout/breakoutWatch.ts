// Runs the breakout scanner on an interval and reports what it finds: one `alert` log event and one
// counter increment per new detection; the active set feeds rootwatch_breakout_processes.
import type { Logger } from '../log/logger.js';
import { logAlert, sanitize } from '../log/logger.js';
import { RateLimitedLog } from '../log/rateLimitedLog.js';
import type { Finding } from '../model/finding.js';
import type { ContainerRecord } from '../model/inventory.js';
import type { DaemonPosture } from '../model/posture.js';
import { CgroupTree } from '../proc/cgroupTree.js';
import { NS_KINDS, namespaceInode, ProcFs } from '../proc/procfs.js';
import type { Metrics } from '../sinks/metrics.js';
import { resolveHostReference, type HostReferenceOptions } from './hostReference.js';
import { ProcessScanner, type ActiveDetection, type ScanReport } from './processScanner.js';
import type { BreakoutHit, HostReference } from './types.js';
import { ProcessEventSource } from './processEvents.js';
import { storagePaths as containerStoragePaths, storagePrefixes } from './containerScope.js';
import type { RawProcessCapture } from '../proc/procConnector.js';
import { existsSync } from 'node:fs';
import chokidar, { type FSWatcher } from 'chokidar';
import { PendingCopies } from './pendingCopies.js';
import { reasonRecord } from './reasons.js';
import { AuditEventSource, type AuditMode } from './auditEvents.js';

/** How often copies from containers not known yet are retried. */
const PENDING_RETRY_MS = 25;

/**
 * With process events, how often the periodic pass is a full scan (every container process listed
 * and read, every new host pid): the safety net for what the events and the addon's re-check could
 * not report. Lost events, ptrace events, hook changes and new containers bring one at once. The
 * passes between are light (ProcessScanner.lightScan). Polling only: every pass is full.
 */
export const FULL_SCAN_EVERY_MS = 30_000;

export interface BreakoutWatchOptions {
  procfs: string;
  sysfs: string;
  intervalMs: number;
  processEvents: 'auto' | 'off';
  /** The kernel audit source beside auditd (auditEvents.ts); absent: off. */
  audit?: AuditMode;
  hostReference: HostReferenceOptions;
}

/** What the watch needs from the rest of the daemon, read at every scan. */
export interface BreakoutInputs {
  containers(): Iterable<ContainerRecord>;
  /** Whether a container is in the inventory (by full id), without walking all of them. */
  knows(id: string): boolean;
  /** Grows whenever a container is added, replaced (a restart: a new init) or removed. */
  version(): number;
  /** The postures of the engines connected so far (one per engine the daemon follows). */
  postures(): readonly DaemonPosture[];
  /** On a host following several engines, the name of the one running this container (for alerts). */
  engineName?(containerId: string): string | null;
}

/**
 * Where each new detection goes besides the alert log (the response, when configured). Called before
 * the alert is logged and must do no I/O there: it returns fields for the alert event and the work to
 * start once the alert is out.
 */
export interface DetectionListener {
  detected(d: ActiveDetection, context: DetectionContext): { alertFields: Record<string, unknown>; afterAlert(): void } | null;
}

/** What the watch tells a listener beside the detection. */
export interface DetectionContext {
  /** The kernel escape hook files the scanner reads (their values go into evidence). */
  tripwireFiles: readonly string[];
}

/** The alert for a hit: severity and ATT&CK technique from the reason's catalogue record. */
export function breakoutFinding(hit: BreakoutHit): Finding {
  const r = reasonRecord(hit.reason);
  return { rule: hit.reason, severity: r.severity, message: hit.message, evidence: hit.evidence, attack: r.attack.id };
}

export class BreakoutWatch {
  private readonly proc: ProcFs;
  private readonly scanner: ProcessScanner;
  private timer: NodeJS.Timeout | null = null;
  private host: HostReference | null = null;
  private hostSource = '';
  private readonly events: ProcessEventSource;
  private readonly audit: AuditEventSource;
  private pendingFullScan: NodeJS.Timeout | null = null;
  private hookWatcher: FSWatcher | null = null;
  private lastFullScan = 0;
  /** What the process-event filter was last made of (see the filter callback). */
  private filterSig = '';
  /** The containers the last full scan covered (with an engine connected). */
  private fullyScanned = new Set<string>();
  private readonly pending = new PendingCopies();
  private pendingTimer: NodeJS.Timeout | null = null;
  /** A scan that fails once per second (an unreadable /proc, a bug) must not flood the journal. */
  private readonly repeated: RateLimitedLog;

  constructor(
    private readonly opts: BreakoutWatchOptions,
    private readonly inputs: BreakoutInputs,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly listener: DetectionListener | null = null,
  ) {
    this.repeated = new RateLimitedLog(log);
    this.proc = new ProcFs(opts.procfs);
    this.scanner = new ProcessScanner(this.proc, CgroupTree.fromProc(opts.procfs), { sysfs: opts.sysfs });
    this.events = new ProcessEventSource(
      {
        examine: (captured) => this.examine(captured),
        fullScan: (reason) => this.requestFullScan(reason),
        counted: (type, n) => {
          this.metrics.processEvents.inc({ type }, n);
          // A ptrace attach somewhere: look for host processes traced from a container now.
          if (type === 'ptrace' && n > 0) {
            this.scanner.notePtraceEvent();
            this.requestFullScan('ptrace event');
          }
        },
        examined: (outcome, n) => this.metrics.processEventsExamined.inc({ outcome }, n),
        dropped: (n) => this.metrics.processEventsDropped.inc(n),
        lost: (why, n) => this.metrics.processEventsLost.inc({ why }, n),
        rechecked: (outcome, n) => this.metrics.processNamespaceRechecks.inc({ outcome }, n),
        recheckCpu: (seconds) => this.metrics.processNamespaceRecheckSeconds.inc(seconds),
        cached: (entries) => this.metrics.processNamespaceCacheEntries.set(entries),
        filter: () => {
          const host = this.reference();
          const roots = rootDirs(this.inputs.postures());
          // Made again only when what it is made of changed (asked every second): the containers and
          // their inits (the inventory's version), the scopes made of them, the reference namespaces,
          // the engines' data roots.
          const sig = [host?.pid, ...NS_KINDS.map((k) => host?.ns[k]), this.scanner.scopeChanges, this.inputs.version(), ...roots].join('\n');
          if (sig === this.filterSig) return null;
          this.filterSig = sig;
          const containers = [...this.inputs.containers()];
          return {
            storagePrefixes: storagePrefixes(roots, containers.flatMap((r) => containerStoragePaths(r))),
            hostNamespaces: NS_KINDS.map((k) => namespaceInode(host?.ns[k])),
            containerDevices: this.scanner.containerDevices(containers, this.inputs.postures().length > 0),
            storageDirs: this.scanner.storageDirIds(),
          };
        },
      },
      log,
      opts.procfs,
    );
    this.audit = new AuditEventSource(
      {
        examine: (captured) => this.examine(captured, 'audit').map((d) => d.pid ?? -1),
        fullScan: (reason) => this.requestFullScan(reason),
        lost: (why, n) => this.metrics.processEventsLost.inc({ why }, n),
        records: (outcome, n) => this.metrics.auditRecords.inc({ outcome }, n),
        state: (active) => this.metrics.processSource.set({ source: 'audit' }, active ? 1 : 0),
      },
      log,
      opts.procfs,
    );
  }

  /** Which source tells about new processes: the kernel's process connector, or polling only. */
  get source(): 'netlink' | 'poll' {
    return this.events.active ? 'netlink' : 'poll';
  }

  active(): readonly ActiveDetection[] {
    return this.scanner.activeDetections();
  }

  start(): void {
    this.scanOnce();
    const why = this.opts.processEvents === 'off' ? 'process_events is off in the config' : this.events.start();
    this.scanner.ptraceEvents = why === null;
    this.scanner.mountWatch = why === null ? this.events.mountWatch() : null;
    this.metrics.processSource.set({ source: 'netlink' }, why === null ? 1 : 0);
    this.metrics.processSource.set({ source: 'poll' }, why === null ? 0 : 1);
    if (why === null) this.log.notice('process events: kernel process connector (netlink), with /proc polling as safety net', { event: 'process_source', source: 'netlink' });
    else this.log.warning(`process events: polling /proc only (${why})`, { event: 'process_source', source: 'poll', reason: why });
    this.startAudit();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.watchHooks();
  }

  /** The audit source, when the config asks for it: one line saying it runs, or why not. */
  private startAudit(): void {
    const mode = this.opts.audit ?? 'off';
    this.metrics.processSource.set({ source: 'audit' }, 0);
    if (mode === 'off') return;
    const why = this.audit.start();
    if (why === null) {
      this.log.notice('process events: kernel audit records (setns, unshare, mount, ptrace, module loads) beside auditd', { event: 'audit_source', state: 'active' });
    } else if (mode === 'on') {
      this.log.error(`breakout.audit is on but the audit source cannot run: ${why}`, { event: 'audit_source', state: 'off', reason: why });
    } else {
      this.log.info(`audit source off: ${why}`, { event: 'audit_source', state: 'off', reason: why });
    }
  }

  /**
   * inotify fast path for the escape hooks: a write through the host's own procfs/cgroupfs mount
   * triggers a scan at once. A write from a container's own procfs instance fires no event on the
   * host's, so the poll stays the source of truth.
   */
  private watchHooks(): void {
    const files = this.scanner.tripwireFiles().filter((f) => existsSync(f));
    if (files.length === 0) return;
    this.hookWatcher = chokidar.watch(files, { ignoreInitial: true, persistent: false });
    this.hookWatcher.on('change', (f: string) => this.requestFullScan(`${f} changed`));
    this.hookWatcher.on('error', (e) => this.log.debug(`hook watch: ${(e as Error).message}`, { event: 'hook_watch_error' }));
  }

  stop(): void {
    this.repeated.close();
    void this.hookWatcher?.close();
    this.hookWatcher = null;
    this.events.stop();
    this.audit.stop();
    if (this.timer) clearInterval(this.timer);
    if (this.pendingFullScan) clearTimeout(this.pendingFullScan);
    if (this.pendingTimer) clearInterval(this.pendingTimer);
    this.pendingTimer = null;
    this.timer = null;
    this.pendingFullScan = null;
  }

  /** Judge processes named by kernel events at once; copies from containers not known yet wait. */
  private examine(captured: RawProcessCapture[], foundBy?: 'audit'): readonly ActiveDetection[] {
    try {
      const { fresh, unknown } = this.scanner.examine(captured, [...this.inputs.containers()], this.inputs.postures()[0] ?? null, this.reference());
      // Which source saw it: the audit record is the only trace of an escape without exec or fork.
      if (foundBy) for (const d of fresh) d.hit = { ...d.hit, evidence: { ...d.hit.evidence, found_by: foundBy } };
      this.report(fresh);
      const now = Date.now();
      for (const u of unknown) {
        if (this.pending.size === 0) this.log.debug('process copies wait for a container not inspected yet', { event: 'copies_pending', container_id: u.containerId.slice(0, 12) });
        this.pending.add(u.containerId, u.copy, now);
      }
      if (this.pending.size > 0 && !this.pendingTimer) this.pendingTimer = setInterval(() => this.retryPending(), PENDING_RETRY_MS);
      return fresh;
    } catch (e) {
      this.metrics.procScanErrors.inc();
      this.repeated.log('error', 'scan_error', `process event examination failed: ${sanitize((e as Error).message)}`, { event: 'scan_error' });
      return [];
    }
  }

  /** Judge the waiting copies whose container has been inspected since; stop when none wait. */
  private retryPending(): void {
    const discarded = this.pending.discarded;
    const ready = this.pending.take((id) => this.inputs.knows(id), Date.now());
    if (this.pending.discarded > discarded) {
      this.log.debug(`${this.pending.discarded - discarded} process copies dropped: their container was never inspected`, { event: 'copies_expired' });
    }
    if (this.pending.size === 0 && this.pendingTimer) {
      clearInterval(this.pendingTimer);
      this.pendingTimer = null;
    }
    if (ready.length > 0) this.examine(ready);
  }

  /** After lost events: a full scan soon, at most one every 250 ms however long the storm lasts. */
  private requestFullScan(reason: string): void {
    if (this.pendingFullScan) return;
    const wait = Math.max(0, this.lastFullScan + 250 - Date.now());
    this.pendingFullScan = setTimeout(() => {
      this.pendingFullScan = null;
      this.log.debug(`full scan: ${reason}`, { event: 'full_scan' });
      this.scanOnce();
    }, wait);
  }

  private report(fresh: readonly ActiveDetection[]): void {
    for (const d of fresh) {
      this.metrics.breakoutDetections.inc({ reason: d.hit.reason });
      let next: ReturnType<DetectionListener['detected']> = null;
      try {
        next = this.listener?.detected(d, { tripwireFiles: this.scanner.tripwireFiles() }) ?? null;
      } catch (e) {
        this.log.error(`detection listener failed: ${sanitize((e as Error).message)}`, { event: 'scan_error' });
      }
      const engine = d.hit.container ? this.inputs.engineName?.(d.hit.container.id) ?? null : null;
      logAlert(this.log, breakoutFinding(d.hit), d.hit.container, { ...(engine !== null ? { engine_name: engine } : {}), ...next?.alertFields });
      next?.afterAlert();
    }
  }

  /** The reference namespaces; re-resolved when the reference process is gone (dockerd restarted). */
  private reference(): HostReference | null {
    if (this.host && this.proc.namespaces(this.host.pid, ['mnt'])?.mnt === this.host.ns.mnt) return this.host;
    const r = resolveHostReference(this.proc, this.opts.hostReference);
    const source = r?.source ?? 'none';
    if (source !== this.hostSource) {
      if (r) this.log.info('host reference namespaces resolved', { event: 'host_reference', source, pid: r.ref.pid });
      else this.log.warning('cannot read any host reference namespaces; namespace checks are off until one is found', { event: 'host_reference' });
      this.hostSource = source;
    }
    this.host = r?.ref ?? null;
    return this.host;
  }

  /**
   * The periodic pass: a full scan when polling only, when the last full one is FULL_SCAN_EVERY_MS
   * old, or when the light pass asks for one; the light pass otherwise.
   */
  private tick(): void {
    const containers = [...this.inputs.containers()];
    // A container new since the last full scan: its processes that predate the events (rootwatch
    // starting, a container inspected late) were never judged, and the addon's re-check only sees moves.
    const unseen = containers.some((r) => !this.fullyScanned.has(r.id));
    if (!this.events.active || unseen || Date.now() - this.lastFullScan >= FULL_SCAN_EVERY_MS) {
      this.scanOnce();
      return;
    }
    const postures = this.inputs.postures();
    const light = this.pass('light', () => this.scanner.lightScan(containers, this.reference(), rootDirs(postures)));
    if (light === null) this.scanOnce();
  }

  /** A full scan (ProcessScanner.scan). */
  scanOnce(): void {
    this.lastFullScan = Date.now();
    const postures = this.inputs.postures();
    const containers = [...this.inputs.containers()];
    const report = this.pass('full', () => this.scanner.scan(containers, postures[0] ?? null, this.reference(), rootDirs(postures)));
    if (report) this.fullyScanned = new Set(postures.length > 0 ? containers.map((r) => r.id) : []);
  }

  /**
   * One pass, timed by kind, its fresh detections reported. Returns its report (null: the light pass
   * asks for a full scan), or undefined when it failed: a scan must never take the daemon down, and
   * the next one runs as usual.
   */
  private pass(kind: 'full' | 'light', run: () => ScanReport | null): ScanReport | null | undefined {
    const end = this.metrics.procScanDuration.startTimer({ pass: kind });
    try {
      const report = run();
      if (report) this.report(report.fresh);
      return report;
    } catch (e) {
      this.metrics.procScanErrors.inc();
      this.repeated.log('error', 'scan_error', `breakout scan failed: ${sanitize((e as Error).message)}`, { event: 'scan_error' });
      return undefined;
    } finally {
      end();
    }
  }
}

/** Every engine's data root (where its containers' filesystems live). */
function rootDirs(postures: readonly DaemonPosture[]): string[] {
  return postures.flatMap((p) => (p.dockerRootDir ? [p.dockerRootDir] : []));
}
