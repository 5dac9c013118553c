// The HTTP endpoint Prometheus scrapes: /metrics, /healthz (process alive), /ready (Docker connected
// and first reconciliation done), and a small index page at /.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface HttpServerOptions {
  listen: string;
  registry: Registry;
  ready(): { ok: boolean; reason: string };
}

const INDEX = `<!doctype html><html><head><title>rootwatch</title></head><body>
<h1>rootwatch</h1><p>Docker host breakout and exposure monitor.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a></li><li><a href="ready">/ready</a></li></ul>
</body></html>
`;

export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host || '0.0.0.0', port: Number(listen.slice(i + 1)) };
}

export class MetricsHttpServer {
  private server: Server | null = null;

  constructor(private readonly opts: HttpServerOptions) {}

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics': {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.opts.registry.contentType }).end(body);
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
        return;
      case '/ready': {
        const r = this.opts.ready();
        res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${r.reason}\n`);
        return;
      }
      case '/':
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(INDEX);
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  }

  /** Resolves with the bound address (port 0 picks a free port, for tests). */
  start(): Promise<{ host: string; port: number }> {
    const { host, port } = splitListen(this.opts.listen);
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end('internal error\n');
        else res.end();
      });
    });
    // Keep-alive sockets from a scraper must not hold shutdown open.
    server.keepAliveTimeout = 5_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host, port });
      });
    });
  }

  stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
