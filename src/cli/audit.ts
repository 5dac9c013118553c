// `rootwatch audit`: judge every running container and the host once, print, exit.
// Exit 1 when a non-excepted finding reaches --fail-on, 3 when Docker is unreachable.
import { hostname, release } from 'node:os';
import pLimit from 'p-limit';
import Table from 'cli-table3';
import { auditContainer } from '../audit/evaluate.js';
import { CveDataError, loadCveData } from '../host/cveData.js';
import { collectHostFacts } from '../host/hostFacts.js';
import { evaluateHostExposure, type HostEvaluation } from '../host/hostExposure.js';
import { containerImage, containerName } from '../audit/context.js';
import { ExceptionSet, exceptionTarget } from '../audit/exceptions.js';
import type { Config } from '../config/schema.js';
import { DockerApi, describeDockerError } from '../docker/dockerApi.js';
import { infoProblem } from '../docker/infoProblem.js';
import type { Endpoint } from '../docker/endpoint.js';
import type { ContainerInspect } from '../model/dockerTypes.js';
import { compareFindings, severityRank, type Finding, type Severity } from '../model/finding.js';
import { engineKind, postureFrom, type DaemonPosture } from '../model/posture.js';
import { sanitize, terminalSafeJson } from '../log/sanitize.js';
import { CliError, EXIT } from './exitCodes.js';
import { ProcFs } from '../proc/procfs.js';

export interface AuditReport {
  host: {
    hostname: string;
    kernel: string;
    /** The engine answering the API: Docker, or Podman (whose compatible API is the same). */
    docker: {
      engine: 'docker' | 'podman';
      version: string | null;
      apiVersion: string | null;
      runc: string | null;
      containerd: string | null;
      /** Podman's OCI runtime (crun, runc) and its version; null for Docker. */
      ociRuntime: { name: string; version: string | null } | null;
      usernsRemap: boolean;
      rootless: boolean;
    };
    /** rootwatch_host_info labels: kernel, distro, versions, cgroup version, remapping. */
    info: Record<string, string>;
    findings: Finding[];
  };
  containers: { id: string; name: string; image: string; findings: Finding[] }[];
}

/** Pure: turn a snapshot of the engine and the host evaluation into the report. */
export function buildReport(
  posture: DaemonPosture, containers: ContainerInspect[], exceptions: ExceptionSet, host: HostEvaluation, now: number,
  rootHostUid: (c: ContainerInspect) => number | null = () => null,
): AuditReport {
  const byRef = new Map<string, ContainerInspect>();
  for (const c of containers) {
    byRef.set(c.Id, c);
    byRef.set(containerName(c), c);
  }
  const lookup = (ref: string): ContainerInspect | undefined =>
    byRef.get(ref) ?? byRef.get(ref.replace(/^\//, '')) ?? (ref.length >= 12 ? containers.find((c) => c.Id.startsWith(ref)) : undefined);
  const ctx = { posture, lookup };
  const rows = containers.map((c) => {
    const name = containerName(c);
    const image = containerImage(c);
    const findings = exceptions.apply(auditContainer(c, ctx, undefined, { rootHostUid: rootHostUid(c) }), exceptionTarget(name, image, c.Config?.Labels), now);
    return { id: c.Id, name, image, findings };
  });
  const worst = (fs: Finding[]): number => Math.max(-1, ...fs.filter((f) => !f.excepted).map((f) => severityRank(f.severity)));
  rows.sort((a, b) => worst(b.findings) - worst(a.findings) || a.name.localeCompare(b.name));
  return {
    host: {
      hostname: hostname(),
      kernel: host.info.kernel || posture.kernelVersion || release(),
      docker: {
        engine: posture.engine,
        version: posture.version,
        apiVersion: posture.apiVersion,
        runc: posture.runc,
        containerd: posture.containerd,
        ociRuntime: posture.ociRuntime,
        usernsRemap: posture.usernsRemap,
        rootless: posture.rootless,
      },
      info: { ...host.info },
      findings: host.findings,
    },
    containers: rows,
  };
}

/** Does any non-excepted finding reach `threshold`? */
export function reachesThreshold(report: AuditReport, threshold: Severity): boolean {
  const all = [...report.host.findings, ...report.containers.flatMap((c) => c.findings)];
  return all.some((f) => !f.excepted && severityRank(f.severity) >= severityRank(threshold));
}

/**
 * /info, /version and every running container's inspect. A container whose inspect fails is left out
 * and named in `warnings`, as is a malformed /info: the rest of the host is still audited.
 */
export async function collectSnapshot(api: DockerApi, concurrency: number): Promise<{ posture: DaemonPosture; containers: ContainerInspect[]; warnings: string[] }> {
  const [info, version] = await Promise.all([api.info(), api.version()]);
  const ids = await api.runningContainerIds();
  const limit = pLimit(concurrency);
  const warnings: string[] = [];
  const problem = infoProblem(info);
  if (problem) warnings.push(`malformed answer to GET /info (${problem}); daemon posture unknown`);
  const inspected = await Promise.all(
    ids.map((id) =>
      limit(async () => {
        try {
          return await api.inspect(id);
        } catch (e) {
          warnings.push(`container ${id.slice(0, 12)} not audited: ${describeDockerError(e, api.endpoint.url)}`);
          return null;
        }
      }),
    ),
  );
  const libpod = engineKind(version) === 'podman' ? await api.libpodInfo().catch(() => null) : undefined;
  return { posture: postureFrom(info, version, libpod), containers: inspected.filter((c): c is ContainerInspect => c !== null), warnings };
}

const SEV_LABEL: Record<Severity, string> = { critical: 'CRITICAL', high: 'HIGH', medium: 'MEDIUM', low: 'LOW', info: 'INFO' };

export function renderTable(report: AuditReport): string {
  const d = report.host.docker;
  const lines: string[] = [];
  // Everything printed comes from the engine, containers or the host: no control characters reach
  // the terminal (a forged "all clear" line, a cleared screen), and no field is longer than a line.
  const v = (x: string | null): string => (x === null ? '?' : sanitize(x, 80));
  const runtime = d.engine === 'podman'
    ? `Podman ${v(d.version)} (API ${v(d.apiVersion)})  OCI runtime ${d.ociRuntime ? `${v(d.ociRuntime.name)} ${v(d.ociRuntime.version)}` : '?'}`
    : `Docker ${v(d.version)} (API ${v(d.apiVersion)})  runc ${v(d.runc)}  containerd ${v(d.containerd)}`;
  lines.push(`Host ${sanitize(report.host.hostname, 80)}  kernel ${sanitize(report.host.kernel, 80)}  ${runtime}`);
  lines.push(`User namespaces: ${d.rootless ? 'rootless daemon' : d.usernsRemap ? 'userns-remap on' : 'NOT remapped: container root is host root'}`);
  const table = new Table({ head: ['SEVERITY', 'CONTAINER', 'RULE', 'FINDING'], wordWrap: true, colWidths: [10, 24, 24, 70], style: { head: [], border: [] } });
  const rows: { f: Finding; who: string }[] = [
    ...report.host.findings.map((f) => ({ f, who: '(host)' })),
    ...report.containers.flatMap((c) => c.findings.map((f) => ({ f, who: `${sanitize(c.name, 40)}\n${c.id.slice(0, 12)}` }))),
  ];
  rows.sort((a, b) => Number(!!a.f.excepted) - Number(!!b.f.excepted) || compareFindings(a.f, b.f));
  // Known CVEs name their id in the rule column so the table says which bug it is.
  for (const { f, who } of rows) {
    const msg = sanitize(f.message) + (f.excepted ? `\n(excepted: ${sanitize(f.excepted.reason)})` : '');
    table.push([f.excepted ? `(${f.severity})` : SEV_LABEL[f.severity], who, f.cve ? `${f.rule}\n${sanitize(f.cve, 40)}` : f.rule, msg]);
  }
  const counts = new Map<Severity, number>();
  for (const { f } of rows) if (!f.excepted) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  const summary = (['critical', 'high', 'medium', 'low', 'info'] as Severity[]).map((s) => `${counts.get(s) ?? 0} ${s}`).join(', ');
  lines.push(rows.length ? table.toString() : 'No findings.');
  lines.push(`${report.containers.length} running container(s) audited: ${summary}; ${rows.filter((r) => r.f.excepted).length} excepted.`);
  return lines.join('\n');
}

export interface AuditOptions {
  json?: boolean;
  failOn?: string;
}

/**
 * Audit every engine named (one, usually). Returns the exit code: 3 when an engine could not be
 * reached (the audit is incomplete: never a green run), else 1 when a finding reaches --fail-on.
 * With several engines each gets its own report: a table section each, or `{ engines: [...] }` in JSON.
 */
export async function runAudit(
  config: Config, endpoints: readonly Endpoint[], opts: AuditOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const failOn = (opts.failOn ?? config.audit.fail_on) as Severity | undefined;
  if (failOn !== undefined && !['critical', 'high', 'medium', 'low', 'info'].includes(failOn)) {
    throw new CliError(`--fail-on "${failOn}": expected one of critical, high, medium, low, info`, EXIT.USAGE);
  }
  let cves;
  try {
    cves = loadCveData({ operatorPath: config.host.cve_file });
  } catch (e) {
    if (e instanceof CveDataError) throw new CliError(e.message, EXIT.USAGE);
    throw e;
  }
  // The engines are asked at once: the audit takes as long as the slowest, not the sum.
  const snapshots = await Promise.all(endpoints.map(async (endpoint) => {
    try {
      return { endpoint, snapshot: await collectSnapshot(new DockerApi(endpoint, config.docker.request_timeout), config.docker.inspect_concurrency) };
    } catch (e) {
      return { endpoint, error: describeDockerError(e, endpoint.url) };
    }
  }));
  if (endpoints.length === 1 && snapshots[0]?.error !== undefined) throw new CliError(snapshots[0].error, EXIT.DOCKER_UNREACHABLE);
  const proc = new ProcFs(config.paths.procfs);
  const rootHostUid = (c: ContainerInspect): number | null => (typeof c.State?.Pid === 'number' && c.State.Pid > 0 ? proc.rootHostUid(c.State.Pid) : null);
  const reports: { endpoint: Endpoint; report: AuditReport }[] = [];
  let unreachable = false;
  for (const { endpoint, snapshot, error } of snapshots) {
    if (!snapshot) {
      unreachable = true;
      err.write(`rootwatch: ${sanitize(error ?? '', 1000)}\n`);
      continue;
    }
    for (const w of snapshot.warnings) err.write(`rootwatch: warning: ${endpoints.length > 1 ? `${endpoint.name}: ` : ''}${sanitize(w, 1000)}\n`);
    const hostNetwork = snapshot.containers.filter((c) => c.HostConfig?.NetworkMode === 'host').length;
    const facts = await collectHostFacts({ procfs: config.paths.procfs, sysfs: config.paths.sysfs, posture: snapshot.posture, hostNetworkContainers: hostNetwork });
    const now = Date.now();
    const host = evaluateHostExposure(snapshot.posture, facts, cves, now);
    reports.push({ endpoint, report: buildReport(snapshot.posture, snapshot.containers, new ExceptionSet(config.exceptions), host, now, rootHostUid) });
  }
  if (endpoints.length === 1 && reports[0]) {
    const { report } = reports[0];
    out.write(opts.json ? `${terminalSafeJson(report, 2)}\n` : `${renderTable(report)}\n`);
  } else if (opts.json) {
    const engines = reports.map(({ endpoint, report }) => ({ engine: endpoint.name, docker_host: endpoint.url, ...report }));
    out.write(`${terminalSafeJson({ engines }, 2)}\n`);
  } else {
    out.write(reports.map(({ endpoint, report }) => `== Engine ${sanitize(endpoint.name, 80)} (${sanitize(endpoint.url, 200)})\n${renderTable(report)}\n`).join('\n'));
  }
  if (unreachable) return EXIT.DOCKER_UNREACHABLE;
  return failOn && reports.some(({ report }) => reachesThreshold(report, failOn)) ? EXIT.FINDINGS : EXIT.OK;
}
