// A private, throw-away Docker engine for integration tests. Never the host's engine: its own socket,
// data-root, exec-root, pidfile and containerd namespace, and no iptables or bridge changes.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, copyFileSync, symlinkSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const execFileP = promisify(execFile);

export const TEST_IMAGE = 'rootwatch-test:busybox';

export interface PrivateEngine {
  name: string;
  dir: string;
  socketPath: string;
  /** DOCKER_HOST-style URL for this engine. */
  dockerHost: string;
  dataRoot: string;
  pid(): number;
  docker: Docker;
  /** Run the docker CLI against this engine. Rejects on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  /** Stop dockerd (containers keep running only if live-restore; we never set it). */
  stop(): Promise<void>;
  /** Start dockerd again on the same dirs, as after an engine restart. */
  restart(): Promise<void>;
  /** Remove every container, stop the daemon and delete its directories. */
  destroy(): Promise<void>;
}

export interface EngineOptions {
  usernsRemap?: boolean;
  extraArgs?: string[];
}

/** Why integration tests cannot run here, or null when they can. */
export function dockerUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'integration tests need root (they start a private dockerd)';
  for (const bin of ['dockerd', 'containerd', 'runc', 'docker']) {
    if (!whichSync(bin)) return `${bin} is not installed (run scripts/setup-system.sh, or apt-get install docker.io)`;
  }
  if (!existsSync('/bin/busybox')) return '/bin/busybox is missing (apt-get install busybox-static)';
  return null;
}

function whichSync(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, bin);
    if (existsSync(p)) return p;
  }
  return null;
}

const live = new Set<PrivateEngine>();

async function waitForPing(docker: Docker, proc: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      throw new Error(`private dockerd exited with code ${proc.exitCode}; log tail:\n${tail(logFile)}`);
    }
    try {
      await docker.ping();
      return;
    } catch (e) {
      lastErr = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`private dockerd not ready after ${timeoutMs} ms (${lastErr}); log tail:\n${tail(logFile)}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function startPrivateDockerd(name: string, opts: EngineOptions = {}): Promise<PrivateEngine> {
  const reason = dockerUnavailableReason();
  if (reason) throw new Error(reason);
  // Short paths: the socket path must fit in sun_path (108 bytes).
  const dir = mkdtempSync(`/tmp/rwt-${name}-`);
  // A remapped daemon's root (uid 100000) must be able to traverse to its data-root.
  chmodSync(dir, 0o711);
  const socketPath = join(dir, 'docker.sock');
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const logFile = join(dir, 'dockerd.log');
  mkdirSync(dataRoot);
  const ns = `rwt-${name}-${dir.slice(-6)}`;
  const args = [
    '--host', `unix://${socketPath}`,
    '--data-root', dataRoot,
    '--exec-root', execRoot,
    '--pidfile', join(dir, 'docker.pid'),
    '--iptables=false', '--ip-masq=false', '--bridge=none',
    '--containerd-namespace', ns,
    '--containerd-plugins-namespace', `${ns}-plugins`,
    ...(opts.usernsRemap ? ['--userns-remap=default'] : []),
    ...(opts.extraArgs ?? []),
  ];
  const docker = new Docker({ socketPath });
  let proc: ChildProcess;
  const { openSync } = await import('node:fs');
  const launch = async (): Promise<void> => {
    const fd = openSync(logFile, 'a');
    proc = spawn('dockerd', args, { stdio: ['ignore', fd, fd], detached: false });
    await waitForPing(docker, proc, logFile, 30_000);
  };
  const stopDaemon = async (): Promise<void> => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(20_000).then(() => true)]);
    if (timedOut) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  await launch();
  const engine: PrivateEngine = {
    name,
    dir,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    dataRoot,
    pid: () => proc.pid ?? -1,
    docker,
    cli: async (...cliArgs: string[]) => {
      try {
        const { stdout } = await execFileP('docker', ['-H', `unix://${socketPath}`, ...cliArgs], {
          maxBuffer: 16 * 1024 * 1024,
        });
        return stdout.trim();
      } catch (e) {
        const err = e as Error & { stderr?: string };
        throw new Error(`docker ${cliArgs.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
      }
    },
    stop: stopDaemon,
    restart: async () => {
      await stopDaemon();
      await launch();
    },
    destroy: async () => {
      live.delete(engine);
      // Containers first, a few at a time and for at most REMOVE_DEADLINE_MS: dockerd 20.10 once
      // deadlocked half-way through 100 force-removes sent at once, and the teardown then hung for
      // good. Past the deadline the daemon is stopped anyway (SIGKILL after 20 s takes containerd with it).
      if (proc.exitCode === null) {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((r) => (timer = setTimeout(r, REMOVE_DEADLINE_MS)));
        await Promise.race([removeAllContainers(docker), deadline]);
        clearTimeout(timer);
      }
      await stopDaemon();
      await unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(engine);
  return engine;
}

/** How long a teardown waits for its containers' removal before it stops the daemon regardless. */
const REMOVE_DEADLINE_MS = 60_000;

/** Force-remove every container, REMOVE_CONCURRENCY at a time; an engine already down is fine. */
const REMOVE_CONCURRENCY = 8;
async function removeAllContainers(docker: Docker): Promise<void> {
  let ids: string[];
  try {
    ids = (await docker.listContainers({ all: true })).map((c) => c.Id);
  } catch {
    return;
  }
  const next = async (): Promise<void> => {
    for (let id = ids.pop(); id !== undefined; id = ids.pop()) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  };
  await Promise.all(Array.from({ length: REMOVE_CONCURRENCY }, next));
}

/** Unmount anything dockerd left mounted below dir (overlay merged dirs, netns files). */
export async function unmountUnder(dir: string): Promise<void> {
  let mounts: string[] = [];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
  } catch {
    return;
  }
  for (const m of mounts) {
    await execFileP('umount', ['-l', m]).catch(() => undefined);
  }
}

/** Build the busybox test image with `docker import` (no registry is reachable). Idempotent. */
export async function ensureTestImage(engine: PrivateEngine): Promise<string> {
  const existing = await engine.docker.listImages({ filters: { reference: [TEST_IMAGE] } });
  if (existing.length > 0) return TEST_IMAGE;
  const root = join(engine.dir, 'image-root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  const { stdout } = await execFileP('/bin/busybox', ['--list']);
  for (const applet of stdout.split('\n').map((s) => s.trim())) {
    if (!applet || applet === 'busybox') continue;
    try {
      symlinkSync('busybox', join(root, 'bin', applet));
    } catch {
      // already linked
    }
  }
  const tar = join(engine.dir, 'image.tar');
  await execFileP('tar', ['-C', root, '-cf', tar, '.']);
  await engine.cli('import', '-c', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin', '-c', 'CMD ["sh"]', tar, TEST_IMAGE);
  rmSync(root, { recursive: true, force: true });
  return TEST_IMAGE;
}

/** Tear down every engine still running (root hook, and on SIGINT/SIGTERM of the test run). */
export async function destroyAllEngines(): Promise<void> {
  await Promise.all([...live].map((e) => e.destroy().catch(() => undefined)));
}

let signalsHooked = false;
export function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void destroyAllEngines().finally(() => process.exit(130));
    });
  }
}
