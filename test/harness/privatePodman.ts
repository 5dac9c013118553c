// A private, throw-away Podman (rootful, or rootless as a throw-away user) serving the Docker-compatible
// API, for integration tests:
// `podman system service` on its own socket, with its own storage root, run root, tmpdir and
// containers.conf. Never the host's Podman: nothing under /var/lib/containers or /run/containers.
//
// What this VM needs that the product must not assume lives in the test's containers.conf: ulimits
// below Podman's defaults (the VM's hard limits are lower), no networking (no bridges, no iptables),
// runc (crun refuses this host's hybrid cgroup layout), cgroupfs (no systemd) and file events (no journald).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep, unmountUnder } from './privateDockerd.js';

const execFileP = promisify(execFile);
export const PODMAN_TEST_IMAGE = 'localhost/rootwatch-test:busybox';

export interface PrivatePodman {
  dir: string;
  socketPath: string;
  dockerHost: string;
  /** The `podman system service` process: a host process in the host's namespaces. */
  pid(): number;
  /** Run the podman CLI against this instance's storage. Rejects on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  destroy(): Promise<void>;
}

export function podmanUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'Podman tests need root';
  for (const bin of ['/usr/bin/podman', '/usr/bin/conmon']) if (!existsSync(bin)) return `${bin} is missing (apt-get install podman)`;
  if (!existsSync('/usr/sbin/runc') && !existsSync('/usr/bin/runc')) return 'runc is missing';
  return null;
}

const shared = new Map<'rootful' | 'rootless', Promise<PrivatePodman>>();

/**
 * One private Podman of each kind for the whole run (torn down by destroySharedPodman in the root
 * hook). The rootless one runs as a throw-away user with a subordinate uid range, created for it and
 * deleted afterwards.
 */
export function podman(kind: 'rootful' | 'rootless' = 'rootful'): Promise<PrivatePodman> {
  let p = shared.get(kind);
  if (!p) {
    p = startPrivatePodman(kind === 'rootless');
    shared.set(kind, p);
  }
  return p;
}

export async function destroySharedPodman(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => null))?.destroy()));
}

async function startPrivatePodman(rootless: boolean): Promise<PrivatePodman> {
  const reason = podmanUnavailableReason() ?? (rootless && !existsSync('/usr/bin/newuidmap') ? '/usr/bin/newuidmap is missing (apt-get install uidmap)' : null);
  if (reason) throw new Error(reason);
  const dir = mkdtempSync('/tmp/rwp-');
  const socketPath = join(dir, 'run', 'podman.sock');
  for (const d of ['root', 'run', 'tmp', 'home']) mkdirSync(join(dir, d));
  // Rootless: a user of its own with 65,536 subordinate ids (useradd allocates them), owning the dirs.
  const user = rootless ? `rwp${dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}` : null;
  if (user) {
    await execFileP('useradd', ['--no-create-home', '--home-dir', join(dir, 'home'), '--shell', '/bin/sh', user]);
    const { stdout: sub } = await execFileP('grep', [`^${user}:`, '/etc/subuid']).catch(() => ({ stdout: '' }));
    if (!sub.trim()) await execFileP('usermod', ['--add-subuids', '400000-465535', '--add-subgids', '400000-465535', user]);
    await execFileP('chmod', ['755', dir]);
    await execFileP('chown', ['-R', user, dir]);
  }
  const conf = join(dir, 'containers.conf');
  // Rootless on cgroup v1 (this host) gets no cgroups of its own: runc carries on without them, crun
  // refuses hybrid hosts either way.
  writeFileSync(conf, [
    '[containers]',
    'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]',
    'netns = "none"',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${join(dir, 'events.log')}"`,
    '',
  ].join('\n'));
  const env = { ...process.env, CONTAINERS_CONF: conf, HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'run') };
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', rootless ? 'vfs' : 'overlay'];
  // runuser keeps the environment given to it only through `env`.
  const command = (args: string[]): [string, string[]] => (user
    ? ['runuser', ['-u', user, '--', 'env', `CONTAINERS_CONF=${conf}`, `HOME=${join(dir, 'home')}`, `XDG_RUNTIME_DIR=${join(dir, 'run')}`, 'podman', ...base, ...args]]
    : ['podman', [...base, ...args]]);
  const cli = async (...args: string[]): Promise<string> => {
    try {
      const [cmd, argv] = command(args);
      const { stdout } = await execFileP(cmd, argv, { env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
      return stdout.trim();
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`podman ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim().split('\n').filter((l) => !/level=warning/.test(l)).join(' ')}`);
    }
  };
  const [cmd, argv] = command(['system', 'service', '--time', '0', `unix://${socketPath}`]);
  const proc: ChildProcess = spawn(cmd, argv, { env, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  while (!existsSync(socketPath)) {
    if (proc.exitCode !== null) throw new Error(`podman system service exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('podman system service did not create its socket in 30 s');
    await sleep(100);
  }
  // The busybox image, imported as for the private dockerd.
  const rootfs = join(dir, 'image-root');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  const { stdout } = await execFileP('/bin/busybox', ['--list']);
  for (const applet of stdout.split('\n').map((s) => s.trim())) if (applet && applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
  await execFileP('tar', ['-C', rootfs, '-cf', join(dir, 'image.tar'), '.']);
  if (user) await execFileP('chown', [user, join(dir, 'image.tar')]);
  await cli('import', '--change', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin', join(dir, 'image.tar'), PODMAN_TEST_IMAGE);
  rmSync(rootfs, { recursive: true, force: true });
  return {
    dir,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    pid: () => proc.pid ?? -1,
    cli,
    destroy: async () => {
      await cli('rm', '--all', '--force', '--time', '0').catch(() => undefined);
      if (proc.exitCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      if (user) {
        // Rootless Podman leaves a pause process holding its user namespace.
        await execFileP('pkill', ['-KILL', '-u', user]).catch(() => undefined);
        await sleep(200);
        await execFileP('userdel', [user]).catch(() => undefined);
      }
      await unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
