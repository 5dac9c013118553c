// Runs the breakout scanner on an interval and reports what it finds: one `alert` log event and one
// counter increment per new detection; the active set feeds rootwatch_breakout_processes.
import type { Logger } from '../log/logger.js';
import { logAlert, sanitize } from '../log/logger.js';
import type { Finding } from '../model/finding.js';
import type { ContainerRecord } from '../model/inventory.js';
import type { DaemonPosture } from '../model/posture.js';
import { CgroupTree } from '../proc/cgroupTree.js';
import { ProcFs } from '../proc/procfs.js';
import type { Metrics } from '../sinks/metrics.js';
import { resolveHostReference, type HostReferenceOptions } from './hostReference.js';
import { ProcessScanner, type ActiveDetection } from './processScanner.js';
import type { BreakoutHit, HostReference } from './types.js';

export interface BreakoutWatchOptions {
  procfs: string;
  sysfs: string;
  intervalMs: number;
  hostReference: HostReferenceOptions;
}

/** What the watch needs from the rest of the daemon, read at every scan. */
export interface BreakoutInputs {
  containers(): Iterable<ContainerRecord>;
  posture(): DaemonPosture | null;
}

export function breakoutFinding(hit: BreakoutHit): Finding {
  return { rule: hit.reason, severity: 'critical', message: hit.message, evidence: hit.evidence };
}

export class BreakoutWatch {
  private readonly proc: ProcFs;
  private readonly scanner: ProcessScanner;
  private timer: NodeJS.Timeout | null = null;
  private host: HostReference | null = null;
  private hostSource = '';
  private activeList: ActiveDetection[] = [];

  constructor(
    private readonly opts: BreakoutWatchOptions,
    private readonly inputs: BreakoutInputs,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.proc = new ProcFs(opts.procfs);
    this.scanner = new ProcessScanner(this.proc, CgroupTree.fromProc(opts.procfs), { sysfs: opts.sysfs });
  }

  active(): readonly ActiveDetection[] {
    return this.activeList;
  }

  start(): void {
    this.scanOnce();
    this.timer = setInterval(() => this.scanOnce(), this.opts.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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

  scanOnce(): void {
    const end = this.metrics.procScanDuration.startTimer();
    try {
      const posture = this.inputs.posture();
      const report = this.scanner.scan([...this.inputs.containers()], posture, this.reference(), posture?.dockerRootDir ?? null);
      for (const d of report.fresh) {
        this.metrics.breakoutDetections.inc({ reason: d.hit.reason });
        logAlert(this.log, breakoutFinding(d.hit), d.hit.container);
      }
      this.activeList = report.active;
    } catch (e) {
      // A scan must never take the daemon down; the next one runs as usual.
      this.metrics.procScanErrors.inc();
      this.log.error(`breakout scan failed: ${sanitize((e as Error).message)}`, { event: 'scan_error' });
    } finally {
      end();
    }
  }
}
