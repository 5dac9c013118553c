// Records real inspect JSON for the rule unit tests: starts two private engines (plain and
// userns-remapped), creates one container per risky setting, and saves
//   test/fixtures/inspect/<name>.json   GET /containers/{id}/json
//   test/fixtures/exec/<name>.json      GET /exec/{id}/json
//   test/fixtures/daemon/{info,version}{,-userns}.json
// Run as root: npx tsx scripts/record-fixtures.ts
// Containers that cannot start on this host (e.g. --privileged without CAP_SYS_RESOURCE) are only
// created: inspect is the same apart from State.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTestImage, startPrivateDockerd, type PrivateEngine } from '../test/harness/privateDockerd.js';

const ROOT = join(import.meta.dirname, '..', 'test', 'fixtures');

interface Spec {
  name: string;
  /** docker run/create options; {{sock}} {{dataRoot}} {{scratch}} {{target}} are substituted. */
  args: string[];
  /** Only create (the container cannot start here, or must not). */
  createOnly?: boolean;
  /**
   * Create through the API with these HostConfig fields instead of the CLI: the CLI (since 20.10)
   * normalises --cap-add to CAP_X upper case, but the daemon stores whatever the API was sent.
   */
  api?: Record<string, unknown>;
}

// One risky setting per container, plus the quirk forms the parsers must handle.
const SPECS: Spec[] = [
  { name: 'default', args: [] },
  {
    name: 'hardened',
    args: ['--read-only', '--user', '1000', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '--memory', '64m', '--pids-limit', '100'],
  },
  { name: 'privileged', args: ['--privileged'], createOnly: true },
  { name: 'docker-sock', args: ['--mount', 'type=bind,source={{sock}},target=/var/run/docker.sock'] },
  // An anonymous volume whose destination is /var/run/docker.sock: not the host socket.
  { name: 'volume-at-sock-path', args: ['-v', '/var/run/docker.sock'] },
  { name: 'var-run', args: ['-v', '/var/run:/host/run'] },
  // node_exporter's documented form; rslave is not shared propagation.
  { name: 'hostroot-ro-rslave', args: ['-v', '/:/host:ro,rslave'], createOnly: true },
  { name: 'etc-ro', args: ['-v', '/etc:/etc2:ro'] },
  { name: 'etc-ssh-rw', args: ['-v', '/etc/ssh:/ssh'] },
  { name: 'docker-root-ro', args: ['-v', '{{dataRoot}}:/docker-root:ro'] },
  { name: 'shared-propagation', args: ['--mount', 'type=bind,source={{scratch}},target=/mnt,bind-propagation=rshared'], createOnly: true },
  { name: 'cap-sys-admin-lower', args: ['--cap-add', 'sys_admin'] },
  { name: 'cap-sys-admin-prefixed', args: ['--cap-add', 'CAP_SYS_ADMIN'] },
  { name: 'cap-all-lower', args: ['--cap-add', 'all', '--cap-drop', 'SYS_RESOURCE'] },
  { name: 'api-cap-lowercase', args: [], api: { CapAdd: ['sys_admin', 'Net_Admin'], CapDrop: ['net_raw'] } },
  { name: 'api-cap-all-lower', args: [], api: { CapAdd: ['all'], CapDrop: ['sys_resource'] } },
  { name: 'api-secopt-bare-disable', args: [], api: { SecurityOpt: ['disable'] } },
  { name: 'nnp-colon-true', args: ['--security-opt', 'no-new-privileges:true'] },
  { name: 'cap-sys-nice', args: ['--cap-add', 'SYS_NICE'] },
  { name: 'cap-drop-all-readd-default', args: ['--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--cap-add', 'cap_setuid'] },
  { name: 'cap-sys-ptrace-hostpid', args: ['--cap-add', 'SYS_PTRACE', '--pid', 'host'] },
  { name: 'seccomp-unconfined-colon', args: ['--security-opt', 'seccomp:unconfined'] },
  { name: 'seccomp-custom-json', args: ['--security-opt', 'seccomp={{scratch}}/seccomp.json'] },
  { name: 'apparmor-unconfined', args: ['--security-opt', 'apparmor=unconfined'] },
  { name: 'label-disable', args: ['--security-opt', 'label=disable'] },
  { name: 'label-type-spc', args: ['--security-opt', 'label=type:spc_t'] },
  { name: 'nnp-false', args: ['--security-opt', 'no-new-privileges=false'] },
  { name: 'systempaths-unconfined', args: ['--security-opt', 'systempaths=unconfined'] },
  { name: 'host-pid', args: ['--pid', 'host'] },
  { name: 'host-network', args: ['--network', 'host'] },
  { name: 'host-ipc', args: ['--ipc', 'host'] },
  { name: 'host-uts', args: ['--uts', 'host'] },
  { name: 'host-cgroupns', args: ['--cgroupns', 'host'] },
  { name: 'cgroupns-private', args: ['--cgroupns', 'private'] },
  { name: 'device-null', args: ['--device', '/dev/null'] },
  { name: 'device-cgroup-rule', args: ['--device-cgroup-rule', 'c *:* rwm'] },
  { name: 'sysctl-msgmax', args: ['--sysctl', 'kernel.msgmax=65536'] },
  { name: 'sysctl-safe', args: ['--sysctl', 'net.ipv4.ip_unprivileged_port_start=0'] },
  // busybox has no /etc/passwd, so use the numeric form.
  { name: 'user-root-explicit', args: ['--user', '0:0'] },
  // Target for the container:<id> modes below.
  { name: 'nsjoin-target', args: ['--pid', 'host', '--network', 'host', '--ipc', 'shareable'] },
  { name: 'nsjoin', args: ['--pid', 'container:{{target}}', '--network', 'container:{{target}}', '--ipc', 'container:{{target}}'] },
];

const USERNS_SPECS: Spec[] = [
  { name: 'userns-default', args: [] },
  { name: 'userns-host', args: ['--userns', 'host'] },
  { name: 'userns-host-privileged', args: ['--userns', 'host', '--privileged'], createOnly: true },
];

// A custom profile that allows everything: the CLI inlines it as compact JSON into SecurityOpt.
const ALLOW_ALL_SECCOMP = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [] };

function save(dir: string, name: string, data: unknown): void {
  mkdirSync(join(ROOT, dir), { recursive: true });
  writeFileSync(join(ROOT, dir, `${name}.json`), JSON.stringify(data, null, 2) + '\n');
  console.log(`saved ${dir}/${name}.json`);
}

async function record(engine: PrivateEngine, specs: Spec[], vars: Record<string, string>): Promise<Map<string, string>> {
  const image = await ensureTestImage(engine);
  const ids = new Map<string, string>();
  for (const spec of specs) {
    const args = spec.args.map((a) => a.replace(/\{\{(\w+)\}\}/g, (_, k: string) => vars[k] ?? `{{${k}}}`));
    const name = `rw-${spec.name}`;
    let id: string;
    if (spec.api) {
      const c = await engine.docker.createContainer({ name, Image: image, Cmd: ['sleep', '3600'], HostConfig: spec.api });
      id = c.id;
      if (!spec.createOnly) {
        await c.start().catch((e: Error) => console.warn(`start failed for ${spec.name}: ${e.message.split('\n')[0]}`));
      }
    } else if (spec.createOnly) {
      id = await engine.cli('create', '--name', name, ...args, image, 'sleep', '3600');
    } else {
      try {
        id = await engine.cli('run', '-d', '--name', name, ...args, image, 'sleep', '3600');
      } catch (e) {
        // Fall back to create so the fixture still exists; say so loudly.
        console.warn(`run failed for ${spec.name}, creating only: ${(e as Error).message.split('\n')[0]}`);
        await engine.cli('rm', '-f', name).catch(() => undefined);
        id = await engine.cli('create', '--name', name, ...args, image, 'sleep', '3600');
      }
    }
    id = id.split('\n').pop() ?? id;
    ids.set(spec.name, id);
    if (spec.name === 'nsjoin-target') vars.target = id;
    save('inspect', spec.name, await engine.docker.getContainer(id).inspect());
  }
  return ids;
}

async function recordExecs(engine: PrivateEngine, ids: Map<string, string>): Promise<void> {
  const execs: { name: string; container: string; opts: { Privileged?: boolean; User?: string } }[] = [
    { name: 'exec-privileged', container: 'default', opts: { Privileged: true } },
    { name: 'exec-root-into-nonroot', container: 'hardened', opts: { User: '0' } },
    { name: 'exec-inherit-nonroot', container: 'hardened', opts: {} },
    { name: 'exec-root-named-into-nonroot', container: 'hardened', opts: { User: 'root' } },
    { name: 'exec-root-into-root', container: 'default', opts: { User: '0' } },
  ];
  for (const x of execs) {
    const cid = ids.get(x.container);
    if (!cid) throw new Error(`no container ${x.container}`);
    const exec = await engine.docker.getContainer(cid).exec({ Cmd: ['sleep', '600'], ...x.opts });
    try {
      await exec.start({ Detach: true });
    } catch (e) {
      console.warn(`exec start failed for ${x.name} (inspect still recorded): ${(e as Error).message}`);
    }
    save('exec', x.name, await exec.inspect());
  }
}

async function main(): Promise<void> {
  const scratch = mkdtempSync('/tmp/rwt-scratch-');
  writeFileSync(join(scratch, 'seccomp.json'), JSON.stringify(ALLOW_ALL_SECCOMP, null, 2));
  const engines: PrivateEngine[] = [];
  const cleanup: string[] = [scratch];
  try {
    const plain = await startPrivateDockerd('fix');
    engines.push(plain);
    save('daemon', 'info', await plain.docker.info());
    save('daemon', 'version', await plain.docker.version());
    const ids = await record(plain, SPECS, { sock: plain.socketPath, dataRoot: plain.dataRoot, scratch });
    await recordExecs(plain, ids);

    // The harness's mkdtemp dir is 0700, which dockerd refuses as a remapped graphroot ("allowing
    // 'o+x'"): give the remapped engine its own world-traversable data-root and exec-root (a later
    // --data-root/--exec-root wins over the harness's).
    const unsDirs = mkdtempSync('/tmp/rwt-uns-');
    chmodSync(unsDirs, 0o711);
    cleanup.push(unsDirs);
    const remapped = await startPrivateDockerd('fixu', {
      usernsRemap: true,
      extraArgs: ['--data-root', join(unsDirs, 'data'), '--exec-root', join(unsDirs, 'exec')],
    });
    engines.push(remapped);
    save('daemon', 'info-userns', await remapped.docker.info());
    save('daemon', 'version-userns', await remapped.docker.version());
    await record(remapped, USERNS_SPECS, { scratch });
  } finally {
    for (const e of engines) await e.destroy().catch((err: Error) => console.error(`destroy ${e.name}: ${err.message}`));
    for (const dir of cleanup) {
      // The harness only unmounts below its own dir; do the same for ours before deleting.
      const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
        .filter((m) => m.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
      for (const m of mounts) execFileSync('umount', ['-l', m]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

await main();
