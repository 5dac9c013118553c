// The response to a confirmed breakout: on a detection that a configured rule names, capture evidence,
// then pause, stop or kill the container through the Docker API (dry-run by default: log and count
// only). Fed by the breakout watch through DetectionListener; reports through a narrow counter port.
import { readFile } from 'node:fs/promises';
import { ExceptionSet } from '../audit/exceptions.js';
import { breakoutFinding, type DetectionContext, type DetectionListener } from '../breakout/breakoutWatch.js';
import type { ActiveDetection } from '../breakout/processScanner.js';
import type { Config, ResponseAction, ResponseConfig } from '../config/schema.js';
import { sanitize, type Logger } from '../log/logger.js';
import type { ContainerInspect } from '../model/dockerTypes.js';
import type { ContainerRecord } from '../model/inventory.js';
import { CgroupTree } from '../proc/cgroupTree.js';
import { ProcFs } from '../proc/procfs.js';
import { ActionBudget } from './budget.js';
import { compileRules, decide, type CompiledRule, type ResponseResult, type SkipReason } from './decide.js';
import { containerPids, EvidenceStore, MAX_PROCESSES, processRecord, type EvidenceBundle } from './evidence.js';
import { killExactProcess, type ExactKill } from './hostProcess.js';
import { findOwnContainer, isOwnContainer, type OwnContainer } from './ownContainer.js';


/** The Docker calls a response makes (DockerApi has them). */
export interface ResponseDocker {
  inspect(id: string): Promise<ContainerInspect | null>;
  pause(id: string): Promise<void>;
  stop(id: string, graceSeconds: number): Promise<void>;
  kill(id: string): Promise<void>;
}

export interface ResponseInputs {
  /** The inventory's record of a running container, by full id. */
  container(id: string): ContainerRecord | undefined;
  /** One outcome, for rootwatch_response_actions_total. */
  count(action: ResponseAction, reason: string, result: ResponseResult): void;
  /** One line describing a Docker failure. */
  describeError(e: unknown): string;
}

export interface ResponderOptions {
  procfs: string;
}

/**
 * How long a container acted on is left alone by later detections (its other processes, the same
 * escape). A failed action is forgotten at once, so the next detection tries again.
 */
const ACTED_MEMORY_MS = 60_000;
/** How long the evidence waits for a fresh `docker inspect` before it takes the inventory's copy. */
const INSPECT_WAIT_MS = 1000;
/** Docker's default stop timeout, when the container sets none. */
const DEFAULT_STOP_SECONDS = 10;

export class Responder implements DetectionListener {
  private config: ResponseConfig | undefined;
  private rules: CompiledRule[] = [];
  private exceptions: ExceptionSet;
  private readonly budget: ActionBudget;
  private readonly evidence: EvidenceStore;
  private readonly proc: ProcFs;
  private readonly tree: CgroupTree;
  private readonly own: OwnContainer;
  private readonly acted = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    config: Config,
    opts: ResponderOptions,
    private readonly docker: ResponseDocker,
    private readonly inputs: ResponseInputs,
    private readonly log: Logger,
  ) {
    this.proc = new ProcFs(opts.procfs);
    this.tree = CgroupTree.fromProc(opts.procfs);
    this.own = findOwnContainer(this.proc);
    this.exceptions = new ExceptionSet(config.exceptions);
    this.budget = new ActionBudget(config.response?.max_actions_per_minute ?? 1);
    this.evidence = new EvidenceStore(limitsOf(config.response));
    this.applyConfig(config);
  }

  applyConfig(config: Config): void {
    this.config = config.response;
    this.rules = config.response ? compileRules(config.response) : [];
    this.exceptions = new ExceptionSet(config.exceptions);
    if (config.response) {
      this.budget.setLimit(config.response.max_actions_per_minute);
      this.evidence.setLimits(limitsOf(config.response));
    }
  }

  /** Resolves when every response under way has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  detected(d: ActiveDetection, context: DetectionContext): { alertFields: Record<string, unknown>; afterAlert(): void } | null {
    const config = this.config;
    if (!config) return null;
    const now = Date.now();
    const named = d.hit.container;
    const rec = named ? this.inputs.container(named.id) : undefined;
    const initPid = rec?.inspect.State?.Pid ?? null;
    for (const [id, at] of this.acted) if (at <= now - ACTED_MEMORY_MS) this.acted.delete(id);
    const decision = decide({
      hit: d.hit,
      finding: breakoutFinding(d.hit),
      target: rec ? { name: rec.name, image: rec.image, labels: rec.labels } : null,
      rules: this.rules,
      exceptions: this.exceptions,
      isOwn: rec ? isOwnContainer(this.own, rec.id, initPid) : false,
      alreadyActed: rec ? this.acted.has(rec.id) : false,
      takeBudget: () => this.budget.take(now),
      now,
    });
    if (!decision) return null;
    if (decision.kind === 'skip') {
      return {
        alertFields: { response: { action: decision.action, outcome: 'skipped', skip_reason: decision.why } },
        afterAlert: () => this.skipped(d, decision.action, decision.why),
      };
    }
    const target = rec as ContainerRecord;
    this.acted.set(target.id, now);
    const bundle = this.evidence.allocate(d, new Date(now));
    return {
      alertFields: { evidence_bundle: bundle, response: { action: decision.action, mode: config.mode } },
      afterAlert: () => {
        const p = this.respond(d, target, decision.action, config.mode, bundle, now, context.tripwireFiles).catch((e: Error) => {
          // respond() reports its own failures; this is the last guard against a crash.
          this.log.error(`response failed unexpectedly: ${sanitize(e.message)}`, { event: 'response', outcome: 'failed', action: decision.action, reason: d.hit.reason });
        });
        this.running.add(p);
        void p.finally(() => this.running.delete(p));
      },
    };
  }

  private skipped(d: ActiveDetection, action: ResponseAction, why: SkipReason): void {
    this.inputs.count(action, d.hit.reason, 'skipped');
    const c = d.hit.container;
    this.log.warning(`response skipped: ${action} of ${c ? sanitize(c.name, 256) : 'no container'} (${d.hit.reason}): ${why}`, {
      event: 'response', outcome: 'skipped', skip_reason: why, action, reason: d.hit.reason,
      container: c ? { id: c.id, name: sanitize(c.name, 256), image: sanitize(c.image, 256) } : null,
    });
  }

  private async respond(
    d: ActiveDetection, rec: ContainerRecord, action: ResponseAction, mode: 'dry_run' | 'enforce', bundlePath: string, detectedAt: number, tripwireFiles: readonly string[],
  ): Promise<void> {
    const who = { id: rec.id, name: sanitize(rec.name, 256), image: sanitize(rec.image, 256) };
    const base = { event: 'response', action, reason: d.hit.reason, mode, container: who, detection_pid: d.pid, evidence_bundle: bundlePath };
    // 1. Evidence first. A failure to write it is reported, and does not hold back the containment.
    let inspect: ContainerInspect | null = null;
    let evidenceError: string | undefined;
    try {
      inspect = await this.captureEvidence(d, rec, action, mode, bundlePath, tripwireFiles);
    } catch (e) {
      evidenceError = sanitize((e as Error).message);
      this.log.error(`evidence bundle not written: ${evidenceError}`, { event: 'evidence_error', evidence_bundle: bundlePath });
    }
    const evidenceFields = evidenceError ? { evidence_error: evidenceError } : {};
    if (mode === 'dry_run') {
      this.inputs.count(action, d.hit.reason, 'dry_run');
      this.log.warning(`response (dry run): would ${action} container ${who.name} (${d.hit.reason})`, { ...base, ...evidenceFields, outcome: 'dry_run' });
      return;
    }
    // 2. The host process running container code, for a kernel helper: that exact process only.
    let hostProcess: ExactKill | undefined;
    if (d.hit.reason === 'kernel_helper_from_container' && d.pid !== null && d.startTime !== null) {
      hostProcess = killExactProcess(this.proc, d.pid, d.startTime);
    }
    const hostFields = hostProcess ? { host_process: { pid: d.pid, start_time: d.startTime, outcome: hostProcess } } : {};
    // 3. The container.
    try {
      const grace = stopTimeoutOf(inspect ?? rec.inspect);
      if (action === 'pause') await this.docker.pause(rec.id);
      else if (action === 'stop') await this.docker.stop(rec.id, grace);
      else await this.docker.kill(rec.id);
    } catch (e) {
      const failure = this.inputs.describeError(e);
      // Not contained: a later detection in this container may try again (within the budget).
      if (this.acted.get(rec.id) === detectedAt) this.acted.delete(rec.id);
      this.inputs.count(action, d.hit.reason, 'failed');
      this.log.error(`response failed: could not ${action} container ${who.name} (${d.hit.reason}): ${failure}`, { ...base, ...evidenceFields, ...hostFields, outcome: 'failed', failure });
      return;
    }
    this.inputs.count(action, d.hit.reason, 'done');
    this.log.warning(`response: ${pastTense(action)} container ${who.name} (${d.hit.reason})`, {
      ...base, ...evidenceFields, ...hostFields, outcome: 'done', latency_ms: Date.now() - detectedAt,
    });
  }

  /** Write the bundle; returns the fresh inspect (null when Docker did not answer in time). */
  private async captureEvidence(
    d: ActiveDetection, rec: ContainerRecord, action: ResponseAction, mode: string, path: string, tripwireFiles: readonly string[],
  ): Promise<ContainerInspect | null> {
    let fresh: ContainerInspect | null = null;
    let inspectError: string | undefined;
    try {
      fresh = await withDeadline(this.docker.inspect(rec.id), INSPECT_WAIT_MS, 'docker inspect');
      if (!fresh) inspectError = 'container not found';
    } catch (e) {
      inspectError = this.inputs.describeError(e);
    }
    const initPid = (fresh ?? rec.inspect).State?.Pid ?? null;
    const pids = await containerPids(this.proc, this.tree, initPid);
    const truncated = pids.length > MAX_PROCESSES;
    const chosen = pids.slice(0, MAX_PROCESSES);
    const processes = [];
    for (const pid of chosen) processes.push(await processRecord(this.proc, pid, pid === d.pid));
    if (d.pid !== null && !chosen.includes(d.pid)) processes.unshift(await processRecord(this.proc, d.pid, true));
    const tripwires: Record<string, string | null> = {};
    for (const f of tripwireFiles) tripwires[f] = await readOptional(f);
    const bundle: EvidenceBundle = {
      written_at: new Date().toISOString(),
      detection: { reason: d.hit.reason, message: d.hit.message, evidence: d.hit.evidence, container: d.hit.container, pid: d.pid, start_time: d.startTime },
      action: { name: action, mode },
      inspect: fresh ? { source: 'docker', data: fresh } : { source: 'inventory', ...(inspectError ? { error: inspectError } : {}), data: rec.inspect },
      processes,
      processes_truncated: truncated,
      tripwires,
    };
    await this.evidence.write(path, bundle);
    return fresh;
  }
}

function limitsOf(r: ResponseConfig | undefined): { dir: string; maxBundles: number; maxBytes: number } {
  return { dir: r?.evidence_dir ?? '/var/lib/rootwatch/evidence', maxBundles: r?.evidence_max_bundles ?? 100, maxBytes: (r?.evidence_max_mb ?? 256) * 1024 * 1024 };
}

function stopTimeoutOf(c: ContainerInspect): number {
  const t = (c.Config as { StopTimeout?: unknown } | undefined)?.StopTimeout;
  return typeof t === 'number' && t >= 0 ? t : DEFAULT_STOP_SECONDS;
}

function pastTense(a: ResponseAction): string {
  return a === 'pause' ? 'paused' : a === 'stop' ? 'stopped' : 'killed';
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim().slice(0, 4096);
  } catch {
    return null;
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} got no answer within ${ms} ms`)), ms);
    p.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(e); },
    );
  });
}
