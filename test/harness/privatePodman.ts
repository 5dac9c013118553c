// A private, throw-away rootful Podman serving the Docker-compatible API, for integration tests:
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

let shared: Promise<PrivatePodman> | null = null;

/** One private Podman for the whole run (torn down by destroySharedPodman in the root hook). */
export function podman(): Promise<PrivatePodman> {
  shared ??= startPrivatePodman();
  return shared;
}

export async function destroySharedPodman(): Promise<void> {
  const p = shared;
  shared = null;
  await (await p?.catch(() => null))?.destroy();
}

async function startPrivatePodman(): Promise<PrivatePodman> {
  const reason = podmanUnavailableReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync('/tmp/rwp-');
  const socketPath = join(dir, 'podman.sock');
  for (const d of ['root', 'run', 'tmp']) mkdirSync(join(dir, d));
  const conf = join(dir, 'containers.conf');
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
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'overlay'];
  const cli = async (...args: string[]): Promise<string> => {
    try {
      const { stdout } = await execFileP('podman', [...base, ...args], { env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
      return stdout.trim();
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`podman ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim().split('\n').filter((l) => !/level=warning/.test(l)).join(' ')}`);
    }
  };
  const proc: ChildProcess = spawn('podman', [...base, 'system', 'service', '--time', '0', `unix://${socketPath}`], { env, stdio: 'ignore' });
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
      await unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
