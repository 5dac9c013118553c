// The HTTP endpoint Prometheus scrapes: /metrics, /healthz (process alive), /ready (Docker connected
// and first reconciliation done), and a small index page at /.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Registry } from 'prom-client';
import { BasicAuth } from './webAuth.js';

export interface WebConfig {
  tls_server_config?: { cert_file: string; key_file: string };
  basic_auth_users: Record<string, string>;
}

export interface HttpServerOptions {
  listen: string;
  registry: Registry;
  ready(): { ok: boolean; reason: string };
  /** TLS and basic auth, exporter-toolkit style; the endpoint reveals which containers are weak. */
  web?: WebConfig;
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
  private auth: BasicAuth;

  constructor(private readonly opts: HttpServerOptions) {
    this.auth = new BasicAuth(opts.web?.basic_auth_users ?? {});
  }

  /** New users apply to the next request (config reload); TLS files are read at start only. */
  setUsers(users: Record<string, string>): void {
    this.auth = new BasicAuth(users);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    // Liveness stays open so a local probe needs no credentials; everything else is protected.
    if (path !== '/healthz' && !(await this.auth.check(req.headers.authorization))) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="rootwatch"', 'Content-Type': 'text/plain' }).end('unauthorized\n');
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
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end('internal error\n');
        else res.end();
      });
    };
    const tls = this.opts.web?.tls_server_config;
    let server: Server;
    if (tls) {
      let cert: Buffer, key: Buffer;
      try {
        cert = readFileSync(tls.cert_file);
        key = readFileSync(tls.key_file);
      } catch (e) {
        return Promise.reject(new Error(`cannot read TLS certificate or key: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
      }
      server = createTlsServer({ cert, key, minVersion: 'TLSv1.2' }, handler);
    } else {
      server = createServer(handler);
    }
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
