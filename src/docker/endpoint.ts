// Where the Docker API is: --docker-host, then config docker.host, then DOCKER_HOST, then the default
// socket; several engines (dockerd and Podman, one rootless Podman per user) may be named.
// Same conventions as the docker CLI (unix://, tcp:// with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DockerOptions } from 'dockerode';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export class EndpointError extends Error {
  override name = 'EndpointError';
}

export interface Endpoint {
  /** What the user gave, for messages. */
  url: string;
  /**
   * The engine's name on a host with several: the `engine` label of its containers' series and the
   * `engine` field of its log lines. Derived from the URL (see engineName), unique per daemon.
   */
  name: string;
  options: DockerOptions;
}

/**
 * Every engine to follow: the --docker-host flags, else config docker.host (one URL or a list), else
 * DOCKER_HOST, else the default socket. The same URL twice is refused: it would list each container twice.
 */
export function resolveDockerHosts(flags: readonly string[], configured: string | readonly string[] | undefined, env: NodeJS.ProcessEnv): string[] {
  const list = flags.length > 0 ? [...flags] : typeof configured === 'string' ? [configured] : configured && configured.length > 0 ? [...configured] : [env.DOCKER_HOST || DEFAULT_DOCKER_HOST];
  const seen = new Set<string>();
  for (const url of list) {
    const key = url.startsWith('/') ? `unix://${url}` : url;
    if (seen.has(key)) throw new EndpointError(`docker host "${url}" is listed twice`);
    seen.add(key);
  }
  return list;
}

/**
 * A short, stable name for an engine, from its URL: what an operator would call it. `docker` for a
 * Docker socket, `podman` for rootful Podman's, `podman-<uid>` for a rootless user's
 * (/run/user/<uid>/podman/podman.sock), `<host>:<port>` for TCP. Which engine answers is only known
 * after connecting, so the URL decides (a socket whose path names podman is Podman's). Names are made
 * unique by parseEndpoints.
 */
export function engineName(url: string): string {
  const path = url.startsWith('/') ? url : /^unix:\/\/(.*)$/.exec(url)?.[1];
  if (path === undefined) return url.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
  const user = /^\/run\/user\/(\d+)\//.exec(path)?.[1];
  const kind = /podman/.test(path) ? 'podman' : 'docker';
  return user !== undefined ? `${kind}-${user}` : kind;
}

/** Parse every URL and give each a unique name (a second `docker` socket becomes `docker-2`). */
export function parseEndpoints(urls: readonly string[], env: NodeJS.ProcessEnv): Endpoint[] {
  const used = new Set<string>();
  return urls.map((url) => {
    const e = parseEndpoint(url, env);
    let name = e.name;
    for (let i = 2; used.has(name); i++) name = `${e.name}-${i}`;
    used.add(name);
    return { ...e, name };
  });
}

/** Turn a DOCKER_HOST URL into dockerode options. `requestTimeoutMs` is never applied to the event stream client. */
export function parseEndpoint(url: string, env: NodeJS.ProcessEnv): Endpoint {
  const m = /^([a-z]+):\/\/(.*)$/.exec(url);
  if (!m) {
    // A bare path is what some users put in DOCKER_HOST by mistake; accept it as a unix socket.
    if (url.startsWith('/')) return { url, name: engineName(url), options: { socketPath: url } };
    throw new EndpointError(`docker host "${url}": expected unix:///path/to/docker.sock or tcp://host:port`);
  }
  const scheme = m[1] as string;
  const rest = m[2] as string;
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw new EndpointError(`docker host "${url}": unix socket path must be absolute`);
    return { url, name: engineName(url), options: { socketPath: rest } };
  }
  if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
    const hp = /^(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(rest);
    if (!hp) throw new EndpointError(`docker host "${url}": expected tcp://host:port`);
    const host = (hp[1] as string).replace(/^\[|\]$/g, '');
    const tlsVerify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
    const useTls = scheme === 'https' || tlsVerify;
    const port = hp[2] ? Number(hp[2]) : useTls ? 2376 : 2375;
    const options: DockerOptions = { host, port, protocol: useTls ? 'https' : 'http' };
    if (useTls) {
      const certDir = env.DOCKER_CERT_PATH || join(env.HOME ?? '/root', '.docker');
      try {
        options.ca = readFileSync(join(certDir, 'ca.pem'));
        options.cert = readFileSync(join(certDir, 'cert.pem'));
        options.key = readFileSync(join(certDir, 'key.pem'));
      } catch (e) {
        throw new EndpointError(`docker host "${url}": cannot read TLS files in ${certDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    return { url, name: engineName(url), options };
  }
  throw new EndpointError(`docker host "${url}": unsupported scheme "${scheme}" (use unix:// or tcp://)`);
}
