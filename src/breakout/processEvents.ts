// Real-time process events: the kernel's process connector tells about every fork, exec and uid
// change as it happens, so a breakout that lives for milliseconds (nsenter … /bin/true, a
// release_agent payload) is judged while it still exists. Polling stays as the fallback and as a
// periodic safety net; after any lost event a full scan runs at once, so nothing is silently missed.
import type { Logger } from '../log/logger.js';
import { eventName, loadProcConnector, PROC_EVENT, RECORD_INTS, type ProcConnectorAddon, type RawProcessCapture } from '../proc/procConnector.js';

/** Most pids judged per batch; a burst beyond it is handled by a full scan instead. */
export const MAX_PIDS_PER_BATCH = 4096;

export interface ProcessEventSink {
  /** Judge these processes now, and the facts captured at event time (processes may be gone). */
  examine(pids: Set<number>, captured: RawProcessCapture[]): void;
  /** Events were lost: run a full scan now. */
  fullScan(reason: string): void;
  counted(type: string, n: number): void;
  dropped(n: number): void;
}

export class ProcessEventSource {
  private addon: ProcConnectorAddon | null = null;
  private lastDropped = 0;
  private lastOverruns = 0;
  private lastSnapshotsDropped = 0;
  private lastLost = 0;
  private draining = false;

  constructor(
    private readonly sink: ProcessEventSink,
    private readonly log: Logger,
    /** Where the addon comes from (tests pass a fake that replays recorded batches). */
    private readonly load: typeof loadProcConnector = loadProcConnector,
  ) {}

  /** Try to subscribe; returns null on success or the reason polling must do instead. */
  start(): string | null {
    const { addon, reason } = this.load();
    if (!addon) return reason;
    try {
      addon.open(() => this.onWake());
    } catch (e) {
      const err = e as Error & { code?: string };
      return err.code === 'EPERM'
        ? `process connector refused (${err.message}): rootwatch needs root or CAP_NET_ADMIN`
        : `process connector unavailable (${err.message}): the kernel may lack CONFIG_PROC_EVENTS`;
    }
    this.addon = addon;
    return null;
  }

  stop(): void {
    this.addon?.close();
    this.addon = null;
  }

  get active(): boolean {
    return this.addon !== null;
  }

  private onWake(): void {
    if (!this.addon || this.draining) return;
    this.draining = true;
    try {
      const batch = this.addon.drain();
      const r = batch.records;
      const pids = new Set<number>();
      const counts = new Map<string, number>();
      let overflow = 0;
      for (let i = 0; i < r.length; i += RECORD_INTS) {
        const type = (r[i] as number) >>> 0;
        const name = eventName(type);
        counts.set(name, (counts.get(name) ?? 0) + 1);
        if (type === PROC_EVENT.exec || type === PROC_EVENT.fork || type === PROC_EVENT.uid) {
          // tgid: the process, not the thread. On fork, the child only: it starts as a copy of its
          // parent (namespaces, credentials, cgroup), so it shows what the parent had become, e.g. an
          // nsenter after its setns(); re-reading every forking parent doubled the cost per exec.
          const ids = [r[i + 2] as number];
          for (const tgid of ids) {
            if (pids.size < MAX_PIDS_PER_BATCH || pids.has(tgid)) pids.add(tgid);
            else overflow++;
          }
        }
      }
      for (const [name, n] of counts) this.sink.counted(name, n);
      const captured = (batch.snapshots ?? []).slice(0, MAX_PIDS_PER_BATCH);
      overflow += (batch.snapshots?.length ?? 0) - captured.length;
      if (pids.size > 0 || captured.length > 0) this.sink.examine(pids, captured);
      // Events lost: in the kernel (sequence gaps; an overrun with no gap seen counts as one), in the
      // addon's ring, and beyond this batch's cap. Lost facts copies (ring full) force a scan too.
      const kernelLost = (batch.lost ?? 0) - this.lastLost;
      const overruns = batch.overruns - this.lastOverruns;
      const lost = Math.max(kernelLost, overruns) + (batch.dropped - this.lastDropped) + overflow;
      const lostCopies = batch.snapshotsDropped - this.lastSnapshotsDropped;
      this.lastLost = batch.lost ?? 0;
      this.lastDropped = batch.dropped;
      this.lastOverruns = batch.overruns;
      this.lastSnapshotsDropped = batch.snapshotsDropped;
      if (lost > 0) this.sink.dropped(lost);
      if (lost > 0 || lostCopies > 0) this.sink.fullScan(`${lost} process events and ${lostCopies} process copies lost in a burst`);
    } catch (e) {
      this.log.error(`process event handling failed: ${(e as Error).message}`, { event: 'process_events_error' });
    } finally {
      this.draining = false;
    }
  }
}
