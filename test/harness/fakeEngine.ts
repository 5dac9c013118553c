// A fake Docker Engine API on a unix socket, for what a real engine will not do on demand: answer
// HTTP 500 for one container, send a malformed list, a hostile /version, a stream of garbage events,
// 10,000 containers, or nothing at all. It starts from /info, /version and inspect JSON recorded from
// the real engine (test/fixtures) and lets a test replace any route. Requests are counted per route.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Route = 'ping' | 'info' | 'version' | 'list' | 'inspect' | 'events' | 'exec';

/** Answer a request; `id` is the container or exec id for inspect and exec routes. */
export type Handler = (req: IncomingMessage, res: ServerResponse, id: string) => void;

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** A 64-hex container id made from a number, so tests can name containers by index. */
export function fakeId(n: number, prefix = 'f'): string {
  return (prefix + n.toString(16)).padStart(64, '0');
}

/**
 * Inspect JSON of a running container, from the recorded default container. Its init pid is one that
 * cannot exist (above the kernel's pid_max ceiling of 2^22), like a container whose /proc is not ours.
 */
export function fakeContainer(id: string, name: string, overrides: { HostConfig?: Record<string, unknown>; Pid?: number } = {}): Record<string, unknown> {
  const base = fixture('inspect/default.json');
  const state = { ...(base.State as Record<string, unknown>), Pid: overrides.Pid ?? 4_194_304 + (parseInt(id.slice(-6), 16) % 1_000_000) };
  return { ...base, Id: id, Name: `/${name}`, State: state, HostConfig: { ...(base.HostConfig as Record<string, unknown>), ...overrides.HostConfig } };
}

export class FakeEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'rw-fake-'));
  readonly socketPath = join(this.dir, 'docker.sock');
  readonly dockerHost = `unix://${this.socketPath}`;
  /** Requests served, by route. */
  readonly requests = new Map<Route, number>();
  /** Containers the default list and inspect routes serve, by id. */
  readonly containers = new Map<string, Record<string, unknown>>();
  /** Open event streams: a test writes lines to them. */
  readonly streams = new Set<ServerResponse>();
  private readonly handlers = new Map<Route, Handler>();
  private server: Server | null = null;

  info: unknown = fixture('daemon/info.json');
  version: unknown = fixture('daemon/version.json');

  /** Replace one route's answer (until replaced again). */
  on(route: Route, handler: Handler): this {
    this.handlers.set(route, handler);
    return this;
  }

  count(route: Route): number {
    return this.requests.get(route) ?? 0;
  }

  addContainers(n: number, overrides: Parameters<typeof fakeContainer>[2] = {}): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = fakeId(this.containers.size + 1);
      this.containers.set(id, fakeContainer(id, `fake-${this.containers.size + 1}`, overrides));
      ids.push(id);
    }
    return ids;
  }

  /** Write one raw line (or anything) to every open event stream. */
  emit(text: string): void {
    for (const s of this.streams) s.write(text);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.serve(req, res));
    // A slow or silent handler must not keep the server from closing.
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server?.listen(this.socketPath, () => resolve()));
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.destroy();
    this.streams.clear();
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]?.replace(/^\/v[0-9.]+/, '') ?? '';
    let route: Route | null = null;
    let id = '';
    let m: RegExpMatchArray | null;
    if (path === '/_ping') route = 'ping';
    else if (path === '/info') route = 'info';
    else if (path === '/version') route = 'version';
    else if (path === '/containers/json') route = 'list';
    else if (path === '/events') route = 'events';
    else if ((m = path.match(/^\/containers\/([^/]+)\/json$/))) [route, id] = ['inspect', m[1] ?? ''];
    else if ((m = path.match(/^\/exec\/([^/]+)\/json$/))) [route, id] = ['exec', m[1] ?? ''];
    if (!route) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"page not found"}');
    this.requests.set(route, this.count(route) + 1);
    const custom = this.handlers.get(route);
    if (custom) return custom(req, res, id);
    this.defaultAnswer(route, req, res, id);
  }

  private defaultAnswer(route: Route, req: IncomingMessage, res: ServerResponse, id: string): void {
    const json = (body: unknown, status = 200): void => void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    switch (route) {
      case 'ping':
        return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
      case 'info':
        return json(this.info);
      case 'version':
        return json(this.version);
      case 'list':
        return json([...this.containers.keys()].map((Id) => ({ Id, State: 'running' })));
      case 'inspect': {
        const c = this.containers.get(id);
        return c ? json(c) : json({ message: `No such container: ${id}` }, 404);
      }
      case 'exec':
        return json({ message: `No such exec instance: ${id}` }, 404);
      case 'events':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        this.streams.add(res);
        req.on('close', () => this.streams.delete(res));
        return;
    }
  }
}
