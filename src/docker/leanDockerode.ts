// dockerode without the two transports rootwatch never uses. dockerode loads, at require time, gRPC
// (@grpc/grpc-js and @grpc/proto-loader, for BuildKit sessions of `docker build`) and docker-modem
// loads ssh2 (for ssh:// hosts). rootwatch speaks to engines over unix:// and tcp:// only (endpoint.ts
// refuses ssh://) and builds nothing, yet those modules are ~23 MB of resident memory and ~100 ms of
// start-up in every daemon and every `rootwatch audit`.
//
// dockerode itself is not changed: this module, imported before it, puts a placeholder for each of the
// three in Node's require cache, so that dockerode's and docker-modem's require() find it instead of
// loading the real module. A placeholder's properties are functions that throw a clear error if ever
// called or constructed; nothing else about dockerode changes.
import { createRequire } from 'node:module';
import Module from 'node:module';

/** The modules left out, and which package requires them (resolution is relative to it). */
const LEFT_OUT: readonly { id: string; from: 'dockerode' | 'docker-modem'; why: string }[] = [
  { id: '@grpc/grpc-js', from: 'dockerode', why: 'BuildKit sessions' },
  { id: '@grpc/proto-loader', from: 'dockerode', why: 'BuildKit sessions' },
  { id: 'ssh2', from: 'docker-modem', why: 'ssh:// Docker hosts' },
];

const require = createRequire(import.meta.url);

function placeholder(id: string, why: string): unknown {
  const fail = (): never => {
    throw new Error(`${id} (${why}) is not loaded by rootwatch: it talks to engines over unix:// and tcp:// only`);
  };
  // Any property (dockerode destructures `Client` at load time) is a function that fails when used.
  const member = new Proxy(function leftOut() {}, { apply: fail, construct: fail });
  return new Proxy({}, { get: (_t, key) => (key === '__esModule' ? false : member) });
}

/** Resolve where dockerode would load each module from, and cache a placeholder there. */
function leaveOut(): string[] {
  const done: string[] = [];
  let dockerodeDir: string;
  try {
    dockerodeDir = require.resolve('dockerode');
  } catch {
    return done; // dockerode missing: its import fails next with its own error
  }
  const fromDockerode = createRequire(dockerodeDir);
  const requirers = { dockerode: fromDockerode, 'docker-modem': createRequire(fromDockerode.resolve('docker-modem')) };
  const cache = (Module as unknown as { _cache: Record<string, unknown> })._cache;
  for (const m of LEFT_OUT) {
    let file: string;
    try {
      file = requirers[m.from].resolve(m.id);
    } catch {
      continue; // a dockerode version that no longer needs it
    }
    if (cache[file] !== undefined) continue; // already loaded by someone else: leave it be
    const mod = new Module(file);
    mod.filename = file;
    mod.loaded = true;
    mod.exports = placeholder(m.id, m.why);
    cache[file] = mod;
    done.push(m.id);
  }
  return done;
}

/** The modules replaced by placeholders in this process (for tests). */
export const LEFT_OUT_MODULES: readonly string[] = leaveOut();
