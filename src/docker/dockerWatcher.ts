// Follows one Docker engine, Traefik-style: connect → subscribe to events → list and inspect everything
// (reconcile) → apply events → on any error, mark down, back off and start over from "connect".
// State is rebuilt from the engine after every reconnect instead of being patched.
import pLimit from 'p-limit';
import type { ContainerInspect, DockerEvent, ExecInspect } from '../model/dockerTypes.js';
import { postureFrom, type DaemonPosture } from '../model/posture.js';
import { Backoff } from './backoff.js';
import { describeDockerError, type DockerApi } from './dockerApi.js';
import { EventLineSplitter } from './eventLines.js';

/** Where the watcher delivers what it learns. Implemented by the monitor; never called re-entrantly. */
export interface DockerWatchSink {
  connected(posture: DaemonPosture): void;
  disconnected(reason: string): void;
  /** The full set of running containers after a (re)connect or periodic re-list. */
  reconciled(running: ContainerInspect[]): void;
  /** A container started (or changed); `receivedAt` is the event's arrival (performance.now()). */
  containerUpdated(container: ContainerInspect, receivedAt: number): void;
  containerGone(id: string): void;
  exec(exec: ExecInspect, receivedAt: number): void;
  /** Every event, with its action normalised to a bounded set. */
  event(action: string): void;
  malformedEvent(reason: string): void;
  warn(message: string): void;
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
}

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

  constructor(
    private readonly api: DockerApi,
    private readonly sink: DockerWatchSink,
    private readonly opts: WatcherOptions,
  ) {
    this.limit = pLimit(opts.inspectConcurrency);
    this.backoff = new Backoff(250, opts.maxBackoffMs);
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    if (this.relistTimer) clearInterval(this.relistTimer);
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
        reason = describeDockerError(e, this.api.endpoint.url);
      }
      if (this.relistTimer) clearInterval(this.relistTimer);
      this.relistTimer = null;
      if (this.stopped) break;
      this.sink.disconnected(reason);
      await this.sleep(this.backoff.next());
    }
  }

  /** One connection: returns (with the reason) when the stream ends or fails. */
  private async session(): Promise<string> {
    const [info, version] = await Promise.all([this.api.info(), this.api.version()]);
    const abort = new AbortController();
    this.abort = abort;
    // Subscribe before listing, so nothing that starts in between is missed.
    const stream = await this.api.containerEvents(this.lastEventSeconds, abort.signal);
    const ended = new Promise<string>((resolve) => {
      stream.on('end', () => resolve('Docker event stream ended'));
      stream.on('close', () => resolve('Docker event stream closed'));
      stream.on('error', (e: Error) => resolve(describeDockerError(e, this.api.endpoint.url)));
    });
    const splitter = new EventLineSplitter({
      event: (e) => this.onEvent(e),
      malformed: (r) => this.sink.malformedEvent(r),
    });
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    try {
      this.sink.connected(postureFrom(info, version));
      this.backoff.reset();
      await this.reconcile();
      this.relistTimer = setInterval(() => {
        this.reconcile().catch((e) => this.sink.warn(`periodic re-list failed: ${describeDockerError(e, this.api.endpoint.url)}`));
      }, this.opts.relistIntervalMs);
      this.relistTimer.unref();
      return await ended;
    } finally {
      // Whatever ended the session, the old stream must not keep delivering events.
      abort.abort();
    }
  }

  /** List and inspect every running container, with bounded concurrency. */
  async reconcile(): Promise<void> {
    const gone = new Set<string>();
    this.goneDuringReconcile = gone;
    try {
      const ids = await this.api.runningContainerIds();
      const inspected = await Promise.all(ids.map((id) => this.limit(() => this.api.inspect(id))));
      this.sink.reconciled(
        inspected.filter((c): c is ContainerInspect => c !== null && c.State?.Running === true && !gone.has(c.Id)),
      );
    } finally {
      if (this.goneDuringReconcile === gone) this.goneDuringReconcile = null;
    }
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
    this.sink.containerGone(id);
  }

  private queueInspect(id: string, receivedAt: number): void {
    void this.limit(async () => {
      try {
        const c = await this.api.inspect(id);
        if (c && c.State?.Running) this.sink.containerUpdated(c, receivedAt);
        else this.gone(id);
      } catch (e) {
        this.sink.warn(`inspect of container ${id.slice(0, 12)} failed: ${describeDockerError(e, this.api.endpoint.url)}`);
      }
    });
  }

  private queueExec(execId: string, receivedAt: number): void {
    void this.limit(async () => {
      try {
        const x = await this.api.inspectExec(execId);
        if (x) this.sink.exec(x, receivedAt);
      } catch (e) {
        this.sink.warn(`inspect of exec ${execId.slice(0, 12)} failed: ${describeDockerError(e, this.api.endpoint.url)}`);
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
