// The daemon's model keeper: receives what the Docker watchers learn, runs the detectors over it, keeps
// the inventory, and tells the sinks (alert log, metrics) what changed. Data flows one way through here.
// A host may run several engines (dockerd and Podman, one rootless Podman per user): each has its own
// watcher feeding this one model through its own sink (sinkFor), and its own posture, connection state
// and host findings. Containers carry their engine's name and posture.
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
import { Metrics, type EngineStatus, type MetricsSource } from './sinks/metrics.js';
import type { BreakoutHit } from './breakout/types.js';

/** Longest a reconcile audits before it lets other work (HTTP, process events, signals) run. */
const RECONCILE_SLICE_MS = 20;

/** Findings of execs are kept per container and rule (latest one), so a busy container cannot grow them. */
type ExecFindings = Map<string, Finding>;

/** One engine the daemon follows. */
export interface EngineRef {
  name: string;
  /** Its endpoint URL, in log lines (docker_host). */
  url: string;
}

/** What the monitor knows of one engine. */
interface EngineState extends EngineRef {
  posture: DaemonPosture | null;
  connected: boolean;
  lastUnreachable: string;
  reconciledOnce: boolean;
  /** Host findings: daemon posture at once on connect, then the full host evaluation (CVEs too). */
  findings: Finding[];
  info: Record<string, string> | null;
  sink: DockerWatchSink;
}

export interface MonitorOptions {
  /** The engines followed; default one, named `docker`. */
  engines?: readonly EngineRef[];
  summaryIntervalMs?: number;
  /** Reads the host uid of a container init's uid 0 (its uid_map); the kernel's word on remapping. */
  rootHostUid?: (initPid: number) => number | null;
}

export class Monitor implements MetricsSource {
  readonly inventory = new ContainerInventory();
  readonly metrics: Metrics;
  private readonly engineStates = new Map<string, EngineState>();
  private readonly rootHostUid: (initPid: number) => number | null;
  private readonly execFindings = new Map<string, ExecFindings>();
  private exceptions: ExceptionSet;
  private alertSeverity: Severity;
  private breakoutSource: (() => readonly { hit: BreakoutHit }[]) | null = null;
  /** Hooks for sources that follow an engine's state (host exposure re-evaluates on these). */
  onConnected: ((engine: string, posture: DaemonPosture) => void) | null = null;
  onReconciled: ((engine: string) => void) | null = null;
  /** Containers an event updated or removed while a reconcile is auditing in slices. */
  private touchedDuringReconcile: Set<string> | null = null;
  /** Lines an outside party can make repeat (engine errors, malformed events, reconnects). */
  readonly repeated: RateLimitedLog;

  constructor(
    private readonly log: Logger,
    config: Config,
    opts: MonitorOptions = {},
  ) {
    this.repeated = new RateLimitedLog(log, opts.summaryIntervalMs);
    this.rootHostUid = opts.rootHostUid ?? (() => null);
    for (const e of opts.engines ?? [{ name: 'docker', url: '' }]) {
      this.engineStates.set(e.name, {
        ...e, posture: null, connected: false, lastUnreachable: '', reconciledOnce: false, findings: [], info: null, sink: this.bindSink(e.name),
      });
    }
    this.exceptions = new ExceptionSet(config.exceptions);
    this.alertSeverity = config.audit.alert_severity;
    this.metrics = new Metrics(this);
    this.warnExpiredExceptions();
  }

  // ---- MetricsSource ----
  engines(): readonly EngineStatus[] {
    return [...this.engineStates.values()].map((e) => ({ name: e.name, up: e.connected, findings: e.findings, info: e.info }));
  }
  containers(): Iterable<ContainerRecord> {
    return this.inventory.all();
  }

  /** The sink the watcher of engine `name` reports to. */
  sinkFor(name: string): DockerWatchSink {
    const e = this.engineStates.get(name);
    if (!e) throw new Error(`no engine named ${name}`);
    return e.sink;
  }

  /** Publish a host evaluation for one engine (its posture + known CVEs); alerts what is new. */
  setHostEvaluation(engine: string, findings: Finding[], info: Record<string, string>): void {
    const e = this.engineStates.get(engine);
    if (!e) return;
    this.publishHostFindings(e, findings);
    e.info = info;
  }

  private publishHostFindings(e: EngineState, findings: Finding[]): void {
    const key = (f: Finding): string => `${f.rule}/${f.cve ?? ''}`;
    const before = new Set(e.findings.filter((f) => !f.excepted).map(key));
    e.findings = findings;
    for (const f of findings) {
      if (!f.excepted && !before.has(key(f)) && severityRank(f.severity) >= severityRank(this.alertSeverity)) logAlert(this.log, f, null, this.multiEngine ? { engine_name: e.name } : undefined);
    }
  }

  /** More than one engine: container series and alerts name theirs. */
  get multiEngine(): boolean {
    return this.engineStates.size > 1;
  }

  /** An engine's running containers sharing the host network (a prerequisite of CVE-2020-15257). */
  hostNetworkContainers(engine: string): number {
    let n = 0;
    for (const r of this.inventory.all()) if (r.engine === engine && r.inspect.HostConfig?.NetworkMode === 'host') n++;
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

  /** Ready once every engine is connected and was reconciled; the reason names those that are not. */
  ready(): { ok: boolean; reason: string } {
    const states = [...this.engineStates.values()];
    const who = (es: EngineState[]): string => (this.multiEngine ? ` (${es.map((e) => e.name).join(', ')})` : '');
    const down = states.filter((e) => !e.connected);
    if (down.length > 0) return { ok: false, reason: `Docker not connected${who(down)}` };
    const pending = states.filter((e) => !e.reconciledOnce);
    if (pending.length > 0) return { ok: false, reason: `first reconciliation not done${who(pending)}` };
    return { ok: true, reason: 'ready' };
  }

  /** An engine's posture (the first engine's by default), null before it connected. */
  currentPosture(engine?: string): DaemonPosture | null {
    const e = engine === undefined ? this.engineStates.values().next().value : this.engineStates.get(engine);
    return e?.posture ?? null;
  }

  /** The postures of the engines connected so far. */
  postures(): DaemonPosture[] {
    return [...this.engineStates.values()].flatMap((e) => (e.posture ? [e.posture] : []));
  }

  // ---- DockerWatchSink, one per engine ----
  private bindSink(name: string): DockerWatchSink {
    const state = (): EngineState => this.engineStates.get(name) as EngineState;
    return {
      connected: (posture) => this.connected(state(), posture),
      disconnected: (reason) => this.disconnected(state(), reason),
      reconciled: (running, unresolved) => this.reconciled(state(), running, unresolved),
      containerUpdated: (container, receivedAt) => this.containerUpdated(state(), container, receivedAt),
      containerGone: (id) => this.containerGone(id),
      exec: (x, receivedAt) => this.exec(x, receivedAt),
      event: (action) => this.metrics.dockerEvents.inc({ action }),
      malformedEvent: (reason) => this.malformedEvent(state(), reason),
      dockerError: (op, message) => this.dockerError(state(), op, message),
    };
  }

  /** Log fields naming the engine a line is about (its URL; its name too on a host with several). */
  private engineFields(e: EngineState): Record<string, string> {
    return this.multiEngine ? { engine_name: e.name, docker_host: e.url } : { docker_host: e.url };
  }

  private connected(e: EngineState, posture: DaemonPosture): void {
    e.connected = true;
    e.posture = posture;
    this.repeated.log('notice', `docker_connected/${e.name}`, 'connected to Docker', {
      event: 'docker_connected', engine: posture.engine, version: posture.version, api_version: posture.apiVersion,
      userns_remap: posture.usernsRemap, rootless: posture.rootless, ...this.engineFields(e),
    });
    // Posture findings at once; the full host evaluation (CVEs) follows from the host-exposure source.
    const cves = e.findings.filter((f) => f.rule === 'known_cve');
    this.publishHostFindings(e, [...auditDaemon(posture, (m) => this.auditError(m)), ...cves]);
    this.onConnected?.(e.name, posture);
  }

  private disconnected(e: EngineState, reason: string): void {
    const fields = { reason: sanitize(reason), ...this.engineFields(e) };
    if (e.connected) {
      this.metrics.dockerReconnects.inc();
      this.repeated.log('warning', `docker_disconnected/${e.name}`, 'lost connection to Docker; reconnecting', { event: 'docker_disconnected', ...fields });
    } else if (reason !== e.lastUnreachable) {
      // Say it once per distinct reason; the retries themselves are debug noise.
      this.log.warning('Docker not reachable; retrying', { event: 'docker_unreachable', ...fields });
    } else {
      this.log.debug('Docker still not reachable', { event: 'docker_unreachable', ...fields });
    }
    e.lastUnreachable = reason;
    e.connected = false;
  }

  private async reconciled(e: EngineState, running: ContainerInspect[], unresolved: ReadonlySet<string> = new Set()): Promise<void> {
    const live = new Set(running.map((c) => c.Id));
    // A container whose inspect failed is still running: what is known of it stays until a retry.
    // Only this engine's containers: the others are their own engines' to list.
    for (const r of [...this.inventory.all()]) if (r.engine === e.name && !live.has(r.id) && !unresolved.has(r.id)) this.containerGone(r.id);
    // Audit in two passes so `container:<id>` lookups see every running container.
    const seenBefore = new Set(this.inventory.ids());
    for (const c of running) this.inventory.set(this.recordFor(e, c, this.inventory.get(c.Id)?.findings ?? []));
    // The audits run in slices that yield to the event loop: with thousands of containers, /healthz,
    // scrapes, process events and SIGTERM must not wait for the whole list. A container that an event
    // updated or removed in the meantime keeps what the event said.
    const touched = new Set<string>();
    this.touchedDuringReconcile = touched;
    try {
      let slice = performance.now();
      for (const c of running) {
        if (touched.has(c.Id)) continue;
        this.audit(e, c, null, [], !seenBefore.has(c.Id));
        if (performance.now() - slice > RECONCILE_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          slice = performance.now();
        }
      }
    } finally {
      if (this.touchedDuringReconcile === touched) this.touchedDuringReconcile = null;
    }
    e.reconciledOnce = true;
    this.onReconciled?.(e.name);
    this.log.info('reconciled running containers', { event: 'reconciled', containers: running.length, unresolved: unresolved.size, ...this.engineFields(e) });
  }

  private containerUpdated(e: EngineState, container: ContainerInspect, receivedAt: number): void {
    this.touchedDuringReconcile?.add(container.Id);
    this.audit(e, container, receivedAt);
  }

  private containerGone(id: string): void {
    this.touchedDuringReconcile?.add(id);
    const r = this.inventory.delete(id);
    this.execFindings.delete(id);
    if (r) this.log.debug('container gone', { event: 'container_gone', container: { id: r.id, name: r.name, image: r.image } });
  }

  private exec(x: ExecInspect, receivedAt: number): void {
    const rec = this.inventory.get(x.ContainerID);
    const e = rec ? this.engineStates.get(rec.engine) : undefined;
    if (!rec || !e?.posture) return;
    const found = auditExec(x, rec.inspect, this.context(e), (m) => this.auditError(m), { rootHostUid: rec.rootHostUid });
    if (found.length === 0) return;
    const map = this.execFindings.get(rec.id) ?? new Map<string, Finding>();
    for (const f of found) map.set(f.rule, f);
    this.execFindings.set(rec.id, map);
    this.audit(e, rec.inspect, receivedAt, found);
  }

  private malformedEvent(e: EngineState, reason: string): void {
    this.metrics.dockerEventErrors.inc();
    this.repeated.log('warning', `docker_event_malformed/${e.name}`, 'dropped malformed Docker event', { event: 'docker_event_malformed', reason: sanitize(reason), ...this.engineFields(e) });
  }

  private dockerError(e: EngineState, op: DockerOp, message: string): void {
    this.metrics.dockerErrors.inc({ op });
    this.repeated.log('warning', `docker_error/${e.name}/${op}`, sanitize(message), { event: 'docker_error', op, ...this.engineFields(e) });
  }

  // ---- config reload ----
  applyConfig(config: Config): void {
    this.exceptions = new ExceptionSet(config.exceptions);
    this.alertSeverity = config.audit.alert_severity;
    this.warnExpiredExceptions();
    for (const r of [...this.inventory.all()]) {
      const e = this.engineStates.get(r.engine);
      if (e) this.audit(e, r.inspect, null);
    }
  }

  // ---- internals ----
  /** `container:<id>` references are resolved among the same engine's containers. */
  private context(e: EngineState): ContainerContext {
    const posture = e.posture;
    if (!posture) throw new Error('audit before Docker posture is known');
    return { posture, lookup: (id) => this.inventory.lookup(id, e.name)?.inspect };
  }

  private recordFor(e: EngineState, c: ContainerInspect, findings: Finding[]): ContainerRecord {
    const labels = c.Config?.Labels;
    const pid = c.State?.Pid;
    // uid_map is read once per init process: an unchanged pid keeps what was read.
    const prev = this.inventory.get(c.Id);
    const rootHostUid = prev && prev.inspect.State?.Pid === pid && prev.rootHostUid !== undefined
      ? prev.rootHostUid
      : typeof pid === 'number' && pid > 0 ? this.rootHostUid(pid) : null;
    return {
      engine: e.name,
      posture: e.posture as DaemonPosture,
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
  /** `first`: the container was never audited before (a reconcile lists it before auditing it). */
  private audit(e: EngineState, c: ContainerInspect, receivedAt: number | null, newExec: Finding[] = [], first?: boolean): void {
    if (!e.posture) return;
    const prev = this.inventory.get(c.Id);
    const rec = this.recordFor(e, c, []);
    const base = auditContainer(c, this.context(e), (m) => this.auditError(m), { rootHostUid: rec.rootHostUid });
    const all = [...base, ...(this.execFindings.get(c.Id)?.values() ?? [])];
    rec.findings = this.exceptions.apply(all, { name: rec.name, image: rec.image, labels: rec.labels }, Date.now());
    this.inventory.set(rec);
    if (receivedAt !== null) this.metrics.auditDuration.observe((performance.now() - receivedAt) / 1000);

    const before = new Set((prev?.findings ?? []).filter((f) => !f.excepted).map((f) => `${f.rule}/${f.message}`));
    const fresh = new Set(newExec.map((f) => `${f.rule}/${f.message}`));
    const who = { id: rec.id, name: rec.name, image: rec.image };
    const extra = this.multiEngine ? { engine_name: e.name } : undefined;
    for (const f of rec.findings) {
      if (f.excepted) continue;
      const key = `${f.rule}/${f.message}`;
      if (before.has(key) && !fresh.has(key)) continue;
      if (severityRank(f.severity) >= severityRank(this.alertSeverity)) logAlert(this.log, f, who, extra);
    }
    if (first ?? !prev) {
      this.log.info('container audited', {
        event: 'container_audited', container: { id: rec.id, name: sanitize(rec.name, 256), image: sanitize(rec.image, 256) }, ...extra,
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
