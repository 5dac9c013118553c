// The daemon's model keeper: receives what the Docker watcher learns, runs the detectors over it, keeps
// the inventory, and tells the sinks (alert log, metrics) what changed. Data flows one way through here.
import { auditContainer, auditDaemon, auditExec } from './audit/evaluate.js';
import { containerImage, containerName } from './audit/context.js';
import { ExceptionSet } from './audit/exceptions.js';
import type { Config } from './config/schema.js';
import type { DockerWatchSink } from './docker/dockerWatcher.js';
import type { DockerOp } from './docker/dockerOps.js';
import { RateLimitedLog } from './log/rateLimitedLog.js';
import type { ContainerInspect, ExecInspect } from './model/dockerTypes.js';
import { severityRank, type Finding, type Severity } from './model/finding.js';
import { ContainerInventory, type ContainerRecord } from './model/inventory.js';
import type { DaemonPosture } from './model/posture.js';
import type { ContainerContext } from './rules/rule.js';
import { logAlert, sanitize, type Logger } from './log/logger.js';
import { Metrics, type MetricsSource } from './sinks/metrics.js';
import type { BreakoutHit } from './breakout/types.js';

/** Longest a reconcile audits before it lets other work (HTTP, process events, signals) run. */
const RECONCILE_SLICE_MS = 20;

/** Findings of execs are kept per container and rule (latest one), so a busy container cannot grow them. */
type ExecFindings = Map<string, Finding>;

export class Monitor implements DockerWatchSink, MetricsSource {
  readonly inventory = new ContainerInventory();
  readonly metrics: Metrics;
  private posture: DaemonPosture | null = null;
  private dockerConnected = false;
  private lastUnreachable = '';
  private reconciledOnce = false;
  /** Host findings: daemon posture at once on connect, then the full host evaluation (CVEs too). */
  private daemonFindings: Finding[] = [];
  private hostInfoLabels: Record<string, string> | null = null;
  private readonly execFindings = new Map<string, ExecFindings>();
  private exceptions: ExceptionSet;
  private alertSeverity: Severity;
  private breakoutSource: (() => readonly { hit: BreakoutHit }[]) | null = null;
  /** Hooks for sources that follow Docker's state (host exposure re-evaluates on these). */
  onConnected: ((posture: DaemonPosture) => void) | null = null;
  onReconciled: (() => void) | null = null;
  /** Containers an event updated or removed while a reconcile is auditing in slices. */
  private touchedDuringReconcile: Set<string> | null = null;
  /** Lines an outside party can make repeat (engine errors, malformed events, reconnects). */
  readonly repeated: RateLimitedLog;

  constructor(
    private readonly log: Logger,
    config: Config,
    summaryIntervalMs?: number,
    /** Reads the host uid of a container init's uid 0 (its uid_map); the kernel's word on remapping. */
    private readonly rootHostUid: (initPid: number) => number | null = () => null,
  ) {
    this.repeated = new RateLimitedLog(log, summaryIntervalMs);
    this.exceptions = new ExceptionSet(config.exceptions);
    this.alertSeverity = config.audit.alert_severity;
    this.metrics = new Metrics(this);
    this.warnExpiredExceptions();
  }

  // ---- MetricsSource ----
  dockerUp(): boolean {
    return this.dockerConnected;
  }
  containers(): Iterable<ContainerRecord> {
    return this.inventory.all();
  }
  hostFindings(): readonly Finding[] {
    return this.daemonFindings;
  }
  hostInfo(): Readonly<Record<string, string>> | null {
    return this.hostInfoLabels;
  }

  /** Publish a host evaluation (daemon posture + known CVEs); alerts what is new. */
  setHostEvaluation(findings: Finding[], info: Record<string, string>): void {
    this.publishHostFindings(findings);
    this.hostInfoLabels = info;
  }

  private publishHostFindings(findings: Finding[]): void {
    const key = (f: Finding): string => `${f.rule}/${f.cve ?? ''}`;
    const before = new Set(this.daemonFindings.filter((f) => !f.excepted).map(key));
    this.daemonFindings = findings;
    for (const f of findings) {
      if (!f.excepted && !before.has(key(f)) && severityRank(f.severity) >= severityRank(this.alertSeverity)) logAlert(this.log, f, null);
    }
  }

  /** Running containers sharing the host network (a prerequisite of CVE-2020-15257). */
  hostNetworkContainers(): number {
    let n = 0;
    for (const r of this.inventory.all()) if (r.inspect.HostConfig?.NetworkMode === 'host') n++;
    return n;
  }
  breakoutActive(): readonly { hit: BreakoutHit }[] {
    return this.breakoutSource?.() ?? [];
  }
  /** The breakout watch reports its active detections through the monitor's metrics. */
  attachBreakout(source: () => readonly { hit: BreakoutHit }[]): void {
    this.breakoutSource = source;
  }
  expiredExceptions(): number {
    return this.exceptions.expired(Date.now()).length;
  }

  ready(): { ok: boolean; reason: string } {
    if (!this.dockerConnected) return { ok: false, reason: 'Docker not connected' };
    if (!this.reconciledOnce) return { ok: false, reason: 'first reconciliation not done' };
    return { ok: true, reason: 'ready' };
  }

  currentPosture(): DaemonPosture | null {
    return this.posture;
  }

  // ---- DockerWatchSink ----
  connected(posture: DaemonPosture): void {
    this.dockerConnected = true;
    this.posture = posture;
    this.repeated.log('notice', 'docker_connected', 'connected to Docker', {
      event: 'docker_connected', engine: posture.engine, version: posture.version, api_version: posture.apiVersion,
      userns_remap: posture.usernsRemap, rootless: posture.rootless,
    });
    // Posture findings at once; the full host evaluation (CVEs) follows from the host-exposure source.
    const cves = this.daemonFindings.filter((f) => f.rule === 'known_cve');
    this.publishHostFindings([...auditDaemon(posture, (m) => this.auditError(m)), ...cves]);
    this.onConnected?.(posture);
  }

  disconnected(reason: string): void {
    if (this.dockerConnected) {
      this.metrics.dockerReconnects.inc();
      this.repeated.log('warning', 'docker_disconnected', 'lost connection to Docker; reconnecting', { event: 'docker_disconnected', reason: sanitize(reason) });
    } else if (reason !== this.lastUnreachable) {
      // Say it once per distinct reason; the retries themselves are debug noise.
      this.log.warning('Docker not reachable; retrying', { event: 'docker_unreachable', reason: sanitize(reason) });
    } else {
      this.log.debug('Docker still not reachable', { event: 'docker_unreachable', reason: sanitize(reason) });
    }
    this.lastUnreachable = reason;
    this.dockerConnected = false;
  }

  async reconciled(running: ContainerInspect[], unresolved: ReadonlySet<string> = new Set()): Promise<void> {
    const live = new Set(running.map((c) => c.Id));
    // A container whose inspect failed is still running: what is known of it stays until a retry.
    for (const id of this.inventory.ids()) if (!live.has(id) && !unresolved.has(id)) this.containerGone(id);
    // Audit in two passes so `container:<id>` lookups see every running container.
    for (const c of running) this.inventory.set(this.recordFor(c, this.inventory.get(c.Id)?.findings ?? []));
    // The audits run in slices that yield to the event loop: with thousands of containers, /healthz,
    // scrapes, process events and SIGTERM must not wait for the whole list. A container that an event
    // updated or removed in the meantime keeps what the event said.
    const touched = new Set<string>();
    this.touchedDuringReconcile = touched;
    try {
      let slice = performance.now();
      for (const c of running) {
        if (touched.has(c.Id)) continue;
        this.audit(c, null);
        if (performance.now() - slice > RECONCILE_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          slice = performance.now();
        }
      }
    } finally {
      if (this.touchedDuringReconcile === touched) this.touchedDuringReconcile = null;
    }
    this.reconciledOnce = true;
    this.onReconciled?.();
    this.log.info('reconciled running containers', { event: 'reconciled', containers: running.length, unresolved: unresolved.size });
  }

  containerUpdated(container: ContainerInspect, receivedAt: number): void {
    this.touchedDuringReconcile?.add(container.Id);
    this.audit(container, receivedAt);
  }

  containerGone(id: string): void {
    this.touchedDuringReconcile?.add(id);
    const r = this.inventory.delete(id);
    this.execFindings.delete(id);
    if (r) this.log.debug('container gone', { event: 'container_gone', container: { id: r.id, name: r.name, image: r.image } });
  }

  exec(x: ExecInspect, receivedAt: number): void {
    const rec = this.inventory.get(x.ContainerID);
    if (!rec) return;
    const found = auditExec(x, rec.inspect, this.context(), (m) => this.auditError(m), { rootHostUid: rec.rootHostUid });
    if (found.length === 0) return;
    const map = this.execFindings.get(rec.id) ?? new Map<string, Finding>();
    for (const f of found) map.set(f.rule, f);
    this.execFindings.set(rec.id, map);
    this.audit(rec.inspect, receivedAt, found);
  }

  event(action: string): void {
    this.metrics.dockerEvents.inc({ action });
  }

  malformedEvent(reason: string): void {
    this.metrics.dockerEventErrors.inc();
    this.repeated.log('warning', 'docker_event_malformed', 'dropped malformed Docker event', { event: 'docker_event_malformed', reason: sanitize(reason) });
  }

  dockerError(op: DockerOp, message: string): void {
    this.metrics.dockerErrors.inc({ op });
    this.repeated.log('warning', `docker_error/${op}`, sanitize(message), { event: 'docker_error', op });
  }

  // ---- config reload ----
  applyConfig(config: Config): void {
    this.exceptions = new ExceptionSet(config.exceptions);
    this.alertSeverity = config.audit.alert_severity;
    this.warnExpiredExceptions();
    for (const r of [...this.inventory.all()]) this.audit(r.inspect, null);
  }

  // ---- internals ----
  private context(): ContainerContext {
    const posture = this.posture;
    if (!posture) throw new Error('audit before Docker posture is known');
    return { posture, lookup: (id) => this.inventory.lookup(id)?.inspect };
  }

  private recordFor(c: ContainerInspect, findings: Finding[]): ContainerRecord {
    const labels = c.Config?.Labels;
    const pid = c.State?.Pid;
    // uid_map is read once per init process: an unchanged pid keeps what was read.
    const prev = this.inventory.get(c.Id);
    const rootHostUid = prev && prev.inspect.State?.Pid === pid && prev.rootHostUid !== undefined
      ? prev.rootHostUid
      : typeof pid === 'number' && pid > 0 ? this.rootHostUid(pid) : null;
    return {
      rootHostUid,
      id: c.Id,
      shortId: c.Id.slice(0, 12),
      name: containerName(c),
      image: containerImage(c),
      labels: labels && typeof labels === 'object' ? labels : {},
      inspect: c,
      findings,
    };
  }

  /**
   * Audit one container and publish. `newExec` are exec findings that just happened: they are
   * alerted even if the same rule fired for an earlier exec, since each exec is a new act.
   */
  private audit(c: ContainerInspect, receivedAt: number | null, newExec: Finding[] = []): void {
    if (!this.posture) return;
    const prev = this.inventory.get(c.Id);
    const rec = this.recordFor(c, []);
    const base = auditContainer(c, this.context(), (m) => this.auditError(m), { rootHostUid: rec.rootHostUid });
    const all = [...base, ...(this.execFindings.get(c.Id)?.values() ?? [])];
    rec.findings = this.exceptions.apply(all, { name: rec.name, image: rec.image, labels: rec.labels }, Date.now());
    this.inventory.set(rec);
    if (receivedAt !== null) this.metrics.auditDuration.observe((performance.now() - receivedAt) / 1000);

    const before = new Set((prev?.findings ?? []).filter((f) => !f.excepted).map((f) => `${f.rule}/${f.message}`));
    const fresh = new Set(newExec.map((f) => `${f.rule}/${f.message}`));
    const who = { id: rec.id, name: rec.name, image: rec.image };
    for (const f of rec.findings) {
      if (f.excepted) continue;
      const key = `${f.rule}/${f.message}`;
      if (before.has(key) && !fresh.has(key)) continue;
      if (severityRank(f.severity) >= severityRank(this.alertSeverity)) logAlert(this.log, f, who);
    }
    if (!prev) {
      this.log.info('container audited', {
        event: 'container_audited', container: { id: rec.id, name: sanitize(rec.name, 256), image: sanitize(rec.image, 256) },
        findings: rec.findings.filter((f) => !f.excepted).length, excepted: rec.findings.filter((f) => f.excepted).length,
      });
    }
  }

  private auditError(message: string): void {
    this.metrics.auditErrors.inc();
    this.log.error(sanitize(message), { event: 'audit_error' });
  }

  private warnExpiredExceptions(): void {
    for (const e of this.exceptions.expired(Date.now())) {
      this.log.warning('exception expired and no longer applies', { event: 'exception_expired', rules: e.rules, reason: e.reason, expires: e.expires });
    }
  }
}
