// The Docker Engine API calls rootwatch makes, through dockerode, with typed results.
// Two clients: request/response calls get a timeout; the event stream must not (a quiet stream is idle).
import Docker from 'dockerode';
import type { ContainerInspect, DockerInfo, DockerVersion, ExecInspect } from '../model/dockerTypes.js';
import type { Endpoint } from './endpoint.js';

export class DockerApi {
  private readonly requests: Docker;
  private readonly stream: Docker;

  constructor(readonly endpoint: Endpoint, requestTimeoutMs: number) {
    this.requests = new Docker({ ...endpoint.options, timeout: requestTimeoutMs });
    this.stream = new Docker({ ...endpoint.options });
  }

  async info(): Promise<DockerInfo> {
    return (await this.requests.info()) as DockerInfo;
  }

  async version(): Promise<DockerVersion> {
    return (await this.requests.version()) as unknown as DockerVersion;
  }

  /** Ids of running containers. */
  async runningContainerIds(): Promise<string[]> {
    const list: unknown = await this.requests.listContainers({ all: false });
    if (!Array.isArray(list)) throw new Error('GET /containers/json did not return a JSON array');
    return list.map((c: { Id?: unknown }) => c?.Id).filter((id): id is string => typeof id === 'string' && /^[0-9a-f]{64}$/.test(id));
  }

  /** Inspect a container; null when it vanished in the meantime (404), which is normal under churn. */
  async inspect(id: string): Promise<ContainerInspect | null> {
    try {
      const c = (await this.requests.getContainer(id).inspect()) as unknown;
      if (!c || typeof c !== 'object' || typeof (c as ContainerInspect).Id !== 'string') throw new Error(`inspect of ${id.slice(0, 12)} is not a container object`);
      return c as ContainerInspect;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async inspectExec(id: string): Promise<ExecInspect | null> {
    try {
      return (await this.requests.getExec(id).inspect()) as unknown as ExecInspect;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Subscribe to container events; the stream has no idle timeout. */
  async containerEvents(since: number | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    const opts: Docker.GetEventsOptions & { abortSignal?: AbortSignal } = {
      filters: { type: ['container'] },
      abortSignal: signal,
    };
    if (since !== undefined) opts.since = since;
    return (await this.stream.getEvents(opts)) as NodeJS.ReadableStream;
  }
}

export function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { statusCode?: number }).statusCode === 404;
}

/** A one-line description of a Docker error for logs and CLI messages. */
export function describeDockerError(e: unknown, endpoint: string): string {
  const err = e as NodeJS.ErrnoException & { statusCode?: number; reason?: string };
  if (err?.code === 'ENOENT') return `Docker socket not found at ${endpoint}`;
  if (err?.code === 'ECONNREFUSED') return `connection refused by Docker at ${endpoint}`;
  if (err?.code === 'EACCES') return `permission denied on Docker socket ${endpoint}`;
  if (err?.code === 'ENOTSOCK') return `${endpoint} is not a socket`;
  if (err?.statusCode) return `Docker at ${endpoint} answered HTTP ${err.statusCode}${err.reason ? ` (${err.reason})` : ''}`;
  const msg = (err?.message ?? String(e)).split('\n')[0];
  return `cannot talk to Docker at ${endpoint}: ${msg}`;
}
