// Where the Docker API is: --docker-host, then config docker.host, then DOCKER_HOST, then the default
// socket. Same conventions as the docker CLI (unix://, tcp:// with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH).
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
  options: DockerOptions;
}

export function resolveDockerHost(flag: string | undefined, configured: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag || configured || env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
}

/** Turn a DOCKER_HOST URL into dockerode options. `requestTimeoutMs` is never applied to the event stream client. */
export function parseEndpoint(url: string, env: NodeJS.ProcessEnv): Endpoint {
  const m = /^([a-z]+):\/\/(.*)$/.exec(url);
  if (!m) {
    // A bare path is what some users put in DOCKER_HOST by mistake; accept it as a unix socket.
    if (url.startsWith('/')) return { url, options: { socketPath: url } };
    throw new EndpointError(`docker host "${url}": expected unix:///path/to/docker.sock or tcp://host:port`);
  }
  const scheme = m[1] as string;
  const rest = m[2] as string;
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw new EndpointError(`docker host "${url}": unix socket path must be absolute`);
    return { url, options: { socketPath: rest } };
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
    return { url, options };
  }
  throw new EndpointError(`docker host "${url}": unsupported scheme "${scheme}" (use unix:// or tcp://)`);
}
