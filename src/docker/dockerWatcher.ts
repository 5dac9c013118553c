// Follows one Docker engine, Traefik-style: connect → subscribe to events → list and inspect everything
// (reconcile) → apply events → on any error, mark down, back off and start over from "connect".
// State is rebuilt from the engine after every reconnect instead of being patched.
import pLimit from 'p-limit';
import type { ContainerInspect, DockerEvent, DockerInfo, ExecInspect } from '../model/dockerTypes.js';
import { engineKind, postureFrom, type DaemonPosture } from '../model/posture.js';
import { Backoff } from './backoff.js';
import { describeDockerError, type DockerApi } from './dockerApi.js';
import { EventLineSplitter } from './eventLines.js';
import type { DockerOp } from './dockerOps.js';
import { infoProblem } from './infoProblem.js';

/** Where the watcher delivers what it learns. Implemented by the monitor; never called re-entrantly. */
export interface DockerWatchSink {
  connected(posture: DaemonPosture): void;
  disconnected(reason: string): void;
  /**
   * The full set of running containers after a (re)connect or periodic re-list. `unresolved`: ids the
   * engine listed as running whose inspect failed; what is known of them stays as it was.
   */
  reconciled(running: ContainerInspect[], unresolved: ReadonlySet<string>): void | Promise<void>;
  /** A container started (or changed); `receivedAt` is the event's arrival (performance.now()). */
  containerUpdated(container: ContainerInspect, receivedAt: number): void;
  containerGone(id: string): void;
  exec(exec: ExecInspect, receivedAt: number): void;
  /** Every event, with its action normalised to a bounded set. */
  event(action: string): void;
  malformedEvent(reason: string): void;
  /** One failed or unusable answer of the engine (counted; logged at a bounded rate). */
  dockerError(op: DockerOp, message: string): void;
}

/** Container actions rootwatch counts by name; anything else is counted as "other" (bounded labels). */
export const COUNTED_ACTIONS = new Set([
  'create', 'start', 'restart', 'die', 'stop', 'kill', 'destroy', 'pause', 'unpause', 'update', 'rename',
  'exec_create', 'exec_start', 'exec_die', 'oom', 'health_status',
]);

/** "exec_start: sh -c id" → "exec_start"; "health_status: healthy" → "health_status". */
export function baseAction(action: unknown): string {
  if (typeof action !== 'string') return 'other';
  const base = action.split(':')[0]?.trim() ?? '';
  return COUNTED_ACTIONS.has(base) ? base : 'other';
}

const HEX_ID = /^[0-9a-f]{12,64}$/;

export interface WatcherOptions {
  relistIntervalMs: number;
  maxBackoffMs: number;
  inspectConcurrency: number;
  /**
   * A session must have reconciled and stayed up this long before the reconnect backoff starts
   * again from its base: an engine that accepts connections and then fails cannot make rootwatch
   * reconnect (and re-evaluate the host) several times a second.
   */
  healthyAfterMs?: number;
}

const DEFAULT_HEALTHY_AFTER_MS = 30_000;
/** Socket errors that mean nothing answered (no socket, nobody listening, no permission). */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK']);
/** Longest re-list interval against Podman, whose event stream may miss events (journald backend). */
const PODMAN_RELIST_MS = 60_000;
/** First retry of a failed inspect; later retries back off up to the re-list interval. */
const INSPECT_RETRY_BASE_MS = 1000;

export class DockerWatcher {
  private readonly limit;
  private readonly backoff: Backoff;
  private abort: AbortController | null = null;
  private stopped = false;
  private relistTimer: NodeJS.Timeout | null = null;
  private sleepTimer: { timer: NodeJS.Timeout; resolve: () => void } | null = null;
  private lastEventSeconds: number | undefined;
  /** Keys of recently seen events, to drop the replay that `since` causes after a reconnect. */
  private readonly recent = new Set<string>();
  private loop: Promise<void> | null = null;
  /** Containers reported gone while a reconcile was in flight: its snapshot must not resurrect them. */
  private goneDuringReconcile: Set<string> | null = null;
  /** The re-list under way: a slow engine must not make re-lists pile up. */
  private reconciling: Promise<void> | null = null;
  /** Running containers whose inspect failed, retried with their own backoff. */
  private readonly unresolved = new Set<string>();
  private readonly retryBackoff: Backoff;
  private retryTimer: NodeJS.Timeout | null = null;
  private healthyTimer: NodeJS.Timeout | null = null;
  /** The last /info that made sense: a malformed one must not erase what is known of the daemon. */
  private lastGoodInfo: DockerInfo | null = null;

  constructor(
    private readonly api: DockerApi,
    private readonly sink: DockerWatchSink,
    private readonly opts: WatcherOptions,
  ) {
    this.limit = pLimit(opts.inspectConcurrency);
    this.backoff = new Backoff(250, opts.maxBackoffMs);
    this.retryBackoff = new Backoff(INSPECT_RETRY_BASE_MS, Math.max(INSPECT_RETRY_BASE_MS, opts.relistIntervalMs));
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    if (this.relistTimer) clearInterval(this.relistTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.healthyTimer) clearTimeout(this.healthyTimer);
    if (this.sleepTimer) {
      clearTimeout(this.sleepTimer.timer);
      this.sleepTimer.resolve();
    }
    this.limit.clearQueue();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let reason: string;
      try {
        reason = await this.session();
      } catch (e) {
        reason = e instanceof SessionError ? e.message : describeDockerError(e, this.api.endpoint.url);
      }
      if (this.relistTimer) clearInterval(this.relistTimer);
      this.relistTimer = null;
      if (this.healthyTimer) clearTimeout(this.healthyTimer);
      this.healthyTimer = null;
      if (this.stopped) break;
      this.sink.disconnected(reason);
      // Every failed session counts towards the backoff, wherever it failed; only a session that
      // stayed healthy for a while has reset it.
      await this.sleep(this.backoff.next());
    }
  }

  /**
   * A call of the session, its failure reported as `op` (counted) before the session ends. An engine
   * that cannot be reached at all gave no answer to count: that is the disconnect reason alone
   * (docker_unreachable), not an error of each call.
   */
  private async step<T>(op: DockerOp, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      const message = describeDockerError(e, this.api.endpoint.url);
      if (!UNREACHABLE.has((e as NodeJS.ErrnoException)?.code ?? '')) this.sink.dockerError(op, message);
      throw new SessionError(message);
    }
  }

  /** One connection: returns (with the reason) when the stream ends or fails. */
  private async session(): Promise<string> {
    const [info, version] = await Promise.all([this.step('info', () => this.api.info()), this.step('version', () => this.api.version())]);
    const abort = new AbortController();
    this.abort = abort;
    // Subscribe before listing, so nothing that starts in between is missed.
    const stream = await this.step('events', () => this.api.containerEvents(this.lastEventSeconds, abort.signal));
    const ended = new Promise<string>((resolve) => {
      stream.on('end', () => resolve('Docker event stream ended'));
      stream.on('close', () => resolve('Docker event stream closed'));
      stream.on('error', (e: Error) => {
        const message = describeDockerError(e, this.api.endpoint.url);
        // Our own abort at the end of a session is no error of the engine's.
        if (!abort.signal.aborted) this.sink.dockerError('events', message);
        resolve(message);
      });
    });
    const splitter = new EventLineSplitter({
      event: (e) => this.onEvent(e),
      malformed: (r) => this.sink.malformedEvent(r),
    });
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    try {
      const posture = postureFrom(this.usableInfo(info), version, engineKind(version) === 'podman' ? await this.api.libpodInfo().catch(() => null) : undefined);
      this.sink.connected(posture);
      await this.reconcile();
      this.healthyTimer = setTimeout(() => this.backoff.reset(), this.opts.healthyAfterMs ?? DEFAULT_HEALTHY_AFTER_MS);
      this.healthyTimer.unref();
      // Podman's journald event backend can lose or withhold events: re-list it at least every minute.
      const relistMs = posture.engine === 'podman' ? Math.min(this.opts.relistIntervalMs, PODMAN_RELIST_MS) : this.opts.relistIntervalMs;
      this.relistTimer = setInterval(() => {
        // A failed re-list was reported by reconcile(); the session and the last good state go on.
        this.reconcile().catch(() => {});
      }, relistMs);
      this.relistTimer.unref();
      return await ended;
    } finally {
      // Whatever ended the session, the old stream must not keep delivering events.
      abort.abort();
    }
  }

  /**
   * /info as the posture is read from. One that is not an object, or names no daemon, is reported
   * and replaced by the last good one: a glitch must not read as "no userns-remap, no seccomp".
   */
  private usableInfo(info: DockerInfo): DockerInfo {
    const problem = infoProblem(info);
    if (!problem) {
      this.lastGoodInfo = info;
      return info;
    }
    this.sink.dockerError('info', `malformed answer to GET /info (${problem}); ${this.lastGoodInfo ? 'keeping the last good daemon posture' : 'daemon posture unknown'}`);
    return this.lastGoodInfo ?? info;
  }

  /**
   * List and inspect every running container, with bounded concurrency. Re-lists never overlap: a
   * call while one is under way joins it. One container whose inspect fails is retried on its own;
   * the others are reconciled as usual. Rejects only when the list itself failed.
   */
  reconcile(): Promise<void> {
    this.reconciling ??= this.relist().finally(() => {
      this.reconciling = null;
    });
    return this.reconciling;
  }

  private async relist(): Promise<void> {
    const gone = new Set<string>();
    this.goneDuringReconcile = gone;
    try {
      let ids: string[];
      try {
        ids = await this.api.runningContainerIds();
      } catch (e) {
        const message = describeDockerError(e, this.api.endpoint.url);
        this.sink.dockerError('list', message);
        throw new SessionError(message);
      }
      const failed = new Set<string>();
      const inspected = await Promise.all(ids.map((id) => this.limit(() => this.inspectOrNote(id, failed))));
      const listed = new Set(ids);
      for (const id of [...this.unresolved]) if (!listed.has(id)) this.unresolved.delete(id);
      for (const id of failed) this.unresolved.add(id);
      await this.sink.reconciled(
        inspected.filter((c): c is ContainerInspect => c !== null && c.State?.Running === true && !gone.has(c.Id)),
        failed,
      );
      this.scheduleRetry();
    } finally {
      if (this.goneDuringReconcile === gone) this.goneDuringReconcile = null;
    }
  }

  /** Inspect one container; a failure is reported and noted in `failed`, not thrown. */
  private async inspectOrNote(id: string, failed: Set<string>): Promise<ContainerInspect | null> {
    try {
      return await this.api.inspect(id);
    } catch (e) {
      this.sink.dockerError('inspect', `inspect of container ${id.slice(0, 12)} failed: ${describeDockerError(e, this.api.endpoint.url)}`);
      failed.add(id);
      return null;
    }
  }

  /** Retry the inspects that failed, backing off while they keep failing. */
  private scheduleRetry(): void {
    if (this.unresolved.size === 0) {
      this.retryBackoff.reset();
      return;
    }
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      for (const id of [...this.unresolved]) {
        this.unresolved.delete(id);
        this.queueInspect(id, performance.now());
      }
    }, this.retryBackoff.next());
    this.retryTimer.unref();
  }

  private onEvent(e: DockerEvent): void {
    const receivedAt = performance.now();
    const action = baseAction(e.Action);
    const id = e.Actor?.ID;
    if (typeof id !== 'string' || !HEX_ID.test(id)) {
      this.sink.malformedEvent('event without a valid container id');
      return;
    }
    const key = `${id}/${String(e.Action)}/${String(e.timeNano ?? e.time)}`;
    if (this.recent.has(key)) return;
    this.recent.add(key);
    if (this.recent.size > 2000) this.recent.delete(this.recent.values().next().value as string);
    if (typeof e.time === 'number' && Number.isFinite(e.time)) this.lastEventSeconds = e.time;
    this.sink.event(action);
    switch (action) {
      case 'start':
      case 'restart':
      case 'unpause':
      case 'update':
      case 'rename':
        this.queueInspect(id, receivedAt);
        break;
      case 'die':
      case 'stop':
      case 'kill':
      case 'destroy':
        // kill is sent before die and does not mean the container is gone; die/destroy do.
        if (action === 'die' || action === 'destroy') this.gone(id);
        break;
      case 'exec_start': {
        const execId = e.Actor?.Attributes?.execID;
        if (typeof execId === 'string' && HEX_ID.test(execId)) this.queueExec(execId, receivedAt);
        break;
      }
      default:
        break;
    }
  }

  private gone(id: string): void {
    this.goneDuringReconcile?.add(id);
    this.unresolved.delete(id);
    this.sink.containerGone(id);
  }

  private queueInspect(id: string, receivedAt: number): void {
    void this.limit(async () => {
      const failed = new Set<string>();
      const c = await this.inspectOrNote(id, failed);
      if (failed.size > 0) {
        this.unresolved.add(id);
        this.scheduleRetry();
      } else if (c && c.State?.Running) this.sink.containerUpdated(c, receivedAt);
      else this.gone(id);
      if (this.unresolved.size === 0) this.retryBackoff.reset();
    });
  }

  private queueExec(execId: string, receivedAt: number): void {
    void this.limit(async () => {
      try {
        const x = await this.api.inspectExec(execId);
        if (x) this.sink.exec(x, receivedAt);
      } catch (e) {
        this.sink.dockerError('inspect_exec', `inspect of exec ${execId.slice(0, 12)} failed: ${describeDockerError(e, this.api.endpoint.url)}`);
      }
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepTimer = null;
        resolve();
      }, ms);
      this.sleepTimer = { timer, resolve };
    });
  }
}

/** A session step that failed and was already reported; its message is the disconnect reason. */
class SessionError extends Error {
  override name = 'SessionError';
}
