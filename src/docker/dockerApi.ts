// The Docker Engine API calls rootwatch makes, through dockerode, with typed results.
// Two clients: request/response calls get a timeout; the event stream must not (a quiet stream is idle).
// The timeout is ours, on the whole call: docker-modem's own is a socket idle timeout (a server that
// drips a byte a second never trips it) and, when it trips, surfaces as "socket hang up".
// Before dockerode: leaves out the transports rootwatch never uses (gRPC, ssh2).
import './leanDockerode.js';
import Docker from 'dockerode';
import type { ContainerInspect, DockerInfo, DockerVersion, ExecInspect } from '../model/dockerTypes.js';
import type { Endpoint } from './endpoint.js';
import { sanitize } from '../log/sanitize.js';

export class DockerApi {
  private readonly requests: Docker;
  private readonly stream: Docker;

  constructor(readonly endpoint: Endpoint, private readonly requestTimeoutMs: number) {
    // The socket idle timeout stays as a backstop that frees the socket after ours has fired.
    this.requests = new Docker({ ...endpoint.options, timeout: requestTimeoutMs + 1000 });
    this.stream = new Docker({ ...endpoint.options });
  }

  /** Run one request with a deadline on the whole call; a late answer becomes a DockerTimeoutError. */
  private timed<T>(what: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DockerTimeoutError(what, this.requestTimeoutMs)), this.requestTimeoutMs);
      call().then(
        (v) => { clearTimeout(timer); resolve(v); },
        (e: unknown) => { clearTimeout(timer); reject(e); },
      );
    });
  }

  async info(): Promise<DockerInfo> {
    return (await this.timed('GET /info', () => this.requests.info())) as DockerInfo;
  }

  async version(): Promise<DockerVersion> {
    return (await this.timed('GET /version', () => this.requests.version())) as unknown as DockerVersion;
  }

  /**
   * Podman's own /info (libpod API), which says what its Docker-compatible /info does not: whether the
   * service runs rootless. Only asked of an engine that named itself Podman.
   */
  async libpodInfo(): Promise<unknown> {
    return this.timed('GET /libpod/info', () => new Promise<unknown>((resolve, reject) => {
      const modem = (this.requests as unknown as { modem: { dial(opts: object, cb: (err: unknown, data: unknown) => void): void } }).modem;
      modem.dial({ path: '/v4.0.0/libpod/info?', method: 'GET', statusCodes: { 200: true }, options: {} }, (err, data) => (err ? reject(err) : resolve(data)));
    }));
  }

  /** Ids of running containers. */
  async runningContainerIds(): Promise<string[]> {
    const list: unknown = await this.timed('GET /containers/json', () => this.requests.listContainers({ all: false }));
    if (!Array.isArray(list)) throw new Error('GET /containers/json did not return a JSON array');
    return list.map((c: { Id?: unknown }) => c?.Id).filter((id): id is string => typeof id === 'string' && /^[0-9a-f]{64}$/.test(id));
  }

  /** Inspect a container; null when it vanished in the meantime (404), which is normal under churn. */
  async inspect(id: string): Promise<ContainerInspect | null> {
    try {
      const c = (await this.timed(`GET /containers/${id.slice(0, 12)}/json`, () => this.requests.getContainer(id).inspect())) as unknown;
      if (!c || typeof c !== 'object' || typeof (c as ContainerInspect).Id !== 'string') throw new Error(`inspect of ${id.slice(0, 12)} is not a container object`);
      return c as ContainerInspect;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async inspectExec(id: string): Promise<ExecInspect | null> {
    try {
      return (await this.timed(`GET /exec/${id.slice(0, 12)}/json`, () => this.requests.getExec(id).inspect())) as unknown as ExecInspect;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Freeze every process of the container's cgroup (POST /containers/{id}/pause). */
  async pause(id: string): Promise<void> {
    await this.timed(`POST /containers/${id.slice(0, 12)}/pause`, () => this.requests.getContainer(id).pause());
  }

  /** SIGKILL the container's processes, as `docker kill` (POST /containers/{id}/kill). */
  async kill(id: string): Promise<void> {
    await this.timed(`POST /containers/${id.slice(0, 12)}/kill`, () => this.requests.getContainer(id).kill({ signal: 'SIGKILL' }));
  }

  /**
   * Stop as `docker stop` does: the container's stop signal, then SIGKILL after its own stop timeout
   * (`graceSeconds`, Docker's default 10). The call may rightly take that long: its deadline is the
   * grace plus the request timeout, and it goes over the client without a socket idle timeout.
   */
  async stop(id: string, graceSeconds: number): Promise<void> {
    const what = `POST /containers/${id.slice(0, 12)}/stop`;
    const ms = this.requestTimeoutMs + graceSeconds * 1000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DockerTimeoutError(what, ms)), ms);
      this.stream.getContainer(id).stop().then(
        () => { clearTimeout(timer); resolve(); },
        (e: unknown) => {
          clearTimeout(timer);
          // 304: already stopped, which is what was asked.
          if (typeof e === 'object' && e !== null && (e as { statusCode?: number }).statusCode === 304) resolve();
          else reject(e);
        },
      );
    });
  }

  /** Subscribe to container events; the stream has no idle timeout. */
  async containerEvents(since: number | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    const opts: Docker.GetEventsOptions & { abortSignal?: AbortSignal } = {
      filters: { type: ['container'] },
      abortSignal: signal,
    };
    if (since !== undefined) opts.since = since;
    // Only the answer's headers are timed: the stream itself may rightly stay quiet for hours.
    return (await this.timed('GET /events', () => this.stream.getEvents(opts))) as NodeJS.ReadableStream;
  }
}

/** A request that got no complete answer within docker.request_timeout. */
export class DockerTimeoutError extends Error {
  override name = 'DockerTimeoutError';
  constructor(readonly what: string, readonly ms: number) {
    super(`${what} got no answer within ${ms} ms`);
  }
}

export function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { statusCode?: number }).statusCode === 404;
}

/** A one-line description of a Docker error for logs and CLI messages. */
export function describeDockerError(e: unknown, endpoint: string): string {
  const err = e as NodeJS.ErrnoException & { statusCode?: number; reason?: string };
  if (e instanceof DockerTimeoutError) return `Docker at ${endpoint} timed out: ${e.message}`;
  if (err?.code === 'ENOENT') return `Docker socket not found at ${endpoint}`;
  if (err?.code === 'ECONNREFUSED') return `connection refused by Docker at ${endpoint}`;
  if (err?.code === 'EACCES') return `permission denied on Docker socket ${endpoint}`;
  if (err?.code === 'ENOTSOCK') return `${endpoint} is not a socket`;
  if (err?.statusCode) return `Docker at ${endpoint} answered HTTP ${err.statusCode}${err.reason ? ` (${err.reason})` : ''}`;
  // The message can carry text from the far end: one line, no control characters, bounded.
  const msg = sanitize((err?.message ?? String(e)).split('\n')[0] ?? '', 300);
  return `cannot talk to Docker at ${endpoint}: ${msg}`;
}
