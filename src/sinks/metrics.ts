// The Prometheus registry. Point-in-time gauges are computed in collect() from the model at scrape
// time, so series of dead containers vanish without bookkeeping; counters are incremented by the monitor.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ContainerRecord } from '../model/inventory.js';
import type { Finding } from '../model/finding.js';
import { METRICS, type MetricSpec } from './metricCatalogue.js';
import { VERSION } from '../version.js';
import { DOCKER_OPS } from '../docker/dockerOps.js';
import { BREAKOUT_REASONS, type BreakoutHit } from '../breakout/types.js';
import { LOSS_REASONS } from '../breakout/processEvents.js';
import { RESPONSE_ACTIONS } from '../config/schema.js';

/** One engine as the gauges see it. */
export interface EngineStatus {
  name: string;
  up: boolean;
  /** Its host findings (daemon posture, known CVEs). */
  findings: readonly Finding[];
  /** Labels of its rootwatch_host_info series, or null before the host was evaluated. */
  info: Readonly<Record<string, string>> | null;
}

/** What the gauges read at scrape time. */
export interface MetricsSource {
  engines(): readonly EngineStatus[];
  containers(): Iterable<ContainerRecord>;
  expiredExceptions(): number;
  /** Breakout detections active now (live processes, hooks still pointing into containers). */
  breakoutActive(): readonly { hit: BreakoutHit }[];
}

/**
 * Label values come from outside (containers, the engine, the host): cap their length so one hostile
 * name or version string cannot bloat every scrape.
 */
export function labelValue(s: string): string {
  return s.length > 256 ? `${s.slice(0, 255)}…` : s;
}

function labelValues(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, labelValue(v)]));
}

export class Metrics {
  readonly registry = new Registry();
  readonly dockerReconnects: Counter;
  readonly dockerEvents: Counter;
  readonly dockerEventErrors: Counter;
  readonly dockerErrors: Counter;
  readonly auditDuration: Histogram;
  readonly auditErrors: Counter;
  readonly breakoutDetections: Counter;
  readonly responseActions: Counter;
  readonly procScanDuration: Histogram;
  readonly procScanErrors: Counter;
  readonly configReloadFailures: Counter;
  readonly processEvents: Counter;
  readonly processEventsDropped: Counter;
  readonly processEventsLost: Counter;
  readonly processNamespaceRechecks: Counter;
  readonly processNamespaceRecheckSeconds: Counter;
  readonly processNamespaceCacheEntries: Gauge;
  readonly processEventsExamined: Counter;
  readonly processSource: Gauge;
  readonly auditRecords: Counter;
  readonly configLastReloadSuccess: Gauge;
  readonly memoryTrims: Counter;

  constructor(source: MetricsSource) {
    const r = this.registry;
    // The event-loop delay histogram samples with a libuv timer: at prom-client's default 10 ms that is
    // 100 wake-ups a second, about half of an idle daemon's CPU; at 100 ms a third of it still (issue 14:
    // 0.3 → 0.2 % of a core without containers). Once a second, a stall of a second or more always
    // shows (it holds back a firing), a shorter one in proportion to its length.
    collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 1000 });
    // prom-client exports these gauges with a "_total" suffix, which the naming rules reserve for
    // counters (promtool check metrics flags them); the same values exist without the suffix.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      r.removeSingleMetric(name);
    }
    const gauge = (spec: MetricSpec, collect: (g: Gauge) => void): Gauge =>
      new Gauge({
        name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [r],
        collect() { this.reset(); collect(this); },
      });
    const counter = (spec: MetricSpec): Counter => new Counter({ ...counterOptions(spec), registers: [r] });

    new Gauge({ name: METRICS.buildInfo.name, help: METRICS.buildInfo.help, labelNames: [...METRICS.buildInfo.labels], registers: [r] })
      .set({ version: VERSION, node_version: process.version }, 1);
    // With several engines on the host, the series of each engine's containers (and the engine's own)
    // carry its name as `engine`: container names are unique per engine only. With one, no label:
    // series and cardinality stay as they are.
    const several = (): boolean => source.engines().length > 1;
    gauge(METRICS.dockerUp, (g) => {
      const engines = source.engines();
      for (const e of engines) g.set(engines.length > 1 ? { engine: e.name } : {}, e.up ? 1 : 0);
    });
    gauge(METRICS.containers, (g) => {
      if (!several()) {
        g.set([...source.containers()].length);
        return;
      }
      for (const e of source.engines()) g.set({ engine: e.name }, 0);
      for (const c of source.containers()) g.inc({ engine: c.engine });
    });
    gauge(METRICS.containerFinding, (g) => {
      const multi = several();
      for (const c of source.containers()) {
        for (const f of c.findings) {
          if (f.excepted) continue;
          g.set({ container_id: c.shortId, container_name: labelValue(c.name), image: labelValue(c.image), rule: f.rule, severity: f.severity, ...(multi ? { engine: c.engine } : {}) }, 1);
        }
      }
    });
    gauge(METRICS.findings, (g) => {
      const counts = new Map<string, { rule: string; severity: string; n: number }>();
      for (const c of source.containers()) {
        // A container counts once per (rule, severity) even with several hits (e.g. two sensitive mounts).
        const seen = new Set<string>();
        for (const f of c.findings) {
          if (f.excepted) continue;
          const key = `${f.rule}\u0000${f.severity}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const e = counts.get(key) ?? { rule: f.rule, severity: f.severity, n: 0 };
          e.n += 1;
          counts.set(key, e);
        }
      }
      for (const e of counts.values()) g.set({ rule: e.rule, severity: e.severity }, e.n);
    });
    gauge(METRICS.findingsExcepted, (g) => {
      const counts = new Map<string, number>();
      for (const c of source.containers()) {
        for (const rule of new Set(c.findings.filter((f) => f.excepted).map((f) => f.rule))) counts.set(rule, (counts.get(rule) ?? 0) + 1);
      }
      for (const [rule, n] of counts) g.set({ rule }, n);
    });
    gauge(METRICS.exceptionsExpired, (g) => g.set(source.expiredExceptions()));
    gauge(METRICS.hostFinding, (g) => {
      const engines = source.engines();
      for (const e of engines) {
        for (const f of e.findings) {
          if (!f.excepted) g.set({ rule: f.rule, severity: f.severity, cve: labelValue(f.cve ?? ''), ...(engines.length > 1 ? { engine: e.name } : {}) }, 1);
        }
      }
    });
    gauge(METRICS.hostInfo, (g) => {
      const engines = source.engines();
      for (const e of engines) {
        // With several engines, `engine` names the engine (docker, podman, podman-<uid>…), as on the
        // other series; its kind shows in docker_version / podman_version.
        if (e.info) g.set(labelValues(engines.length > 1 ? { ...e.info, engine: e.name } : e.info), 1);
      }
    });
    gauge(METRICS.breakoutProcesses, (g) => {
      const multi = several();
      const byId = multi ? new Map([...source.containers()].map((c) => [c.id, c.engine])) : null;
      for (const { hit } of source.breakoutActive()) {
        const c = hit.container;
        const engine = byId && c ? { engine: byId.get(c.id) ?? '' } : multi ? { engine: '' } : {};
        g.inc({ container_id: c ? c.id.slice(0, 12) : '', container_name: labelValue(c?.name ?? ''), image: labelValue(c?.image ?? ''), reason: hit.reason, ...engine });
      }
    });
    this.breakoutDetections = counter(METRICS.breakoutDetections);
    // Every reason exists from the start at 0, so increase() sees the first detection.
    for (const reason of BREAKOUT_REASONS) this.breakoutDetections.inc({ reason }, 0);
    this.responseActions = counter(METRICS.responseActions);
    // The failed series exist from the start at 0, so RootwatchResponseFailed's increase() sees the
    // first failure. The other results are created when they first happen: pre-creating every
    // action × reason × result would add ~150 zero series to every host, most of which run no response.
    for (const action of RESPONSE_ACTIONS) {
      for (const reason of BREAKOUT_REASONS) this.responseActions.inc({ action, reason, result: 'failed' }, 0);
    }
    this.procScanDuration = new Histogram({
      name: METRICS.procScanDuration.name, help: METRICS.procScanDuration.help, buckets: METRICS.procScanDuration.buckets, registers: [r],
      labelNames: [...METRICS.procScanDuration.labels],
    });
    this.procScanErrors = counter(METRICS.procScanErrors);
    this.configReloadFailures = counter(METRICS.configReloadFailures);
    this.memoryTrims = counter(METRICS.memoryTrims);
    // Scrapes are read-only: the process-event counters are brought up to date by the addon's own
    // schedule (every copy batch, and once a second), never by a scrape, which must not judge processes.
    this.processEvents = counter(METRICS.processEvents);
    this.processEventsDropped = counter(METRICS.processEventsDropped);
    this.processEventsLost = counter(METRICS.processEventsLost);
    // Every why from the start: an alert on losses must see 0, not a missing series.
    for (const why of LOSS_REASONS) this.processEventsLost.inc({ why }, 0);
    this.processNamespaceRechecks = counter(METRICS.processNamespaceRechecks);
    this.processNamespaceRecheckSeconds = counter(METRICS.processNamespaceRecheckSeconds);
    this.processEventsExamined = counter(METRICS.processEventsExamined);
    this.auditRecords = counter(METRICS.auditRecords);
    this.processSource = new Gauge({ name: METRICS.processSource.name, help: METRICS.processSource.help, labelNames: [...METRICS.processSource.labels], registers: [r] });
    this.processNamespaceCacheEntries = new Gauge({ name: METRICS.processNamespaceCacheEntries.name, help: METRICS.processNamespaceCacheEntries.help, registers: [r] });
    this.configLastReloadSuccess = new Gauge({ name: METRICS.configLastReloadSuccess.name, help: METRICS.configLastReloadSuccess.help, registers: [r] });
    this.configLastReloadSuccess.setToCurrentTime();
    this.dockerReconnects = counter(METRICS.dockerReconnects);
    this.dockerEvents = counter(METRICS.dockerEvents);
    this.dockerEventErrors = counter(METRICS.dockerEventErrors);
    this.dockerErrors = counter(METRICS.dockerErrors);
    for (const op of DOCKER_OPS) this.dockerErrors.inc({ op }, 0);
    this.auditErrors = counter(METRICS.auditErrors);
    this.auditDuration = new Histogram({
      name: METRICS.auditDuration.name, help: METRICS.auditDuration.help, buckets: METRICS.auditDuration.buckets, registers: [r],
    });
  }
}

function counterOptions(spec: MetricSpec): { name: string; help: string; labelNames: string[] } {
  return { name: spec.name, help: spec.help, labelNames: [...spec.labels] };
}
