// The Debian package as an operator meets it: built with `npm run package`, inspected with dpkg-deb,
// installed on this machine (no systemd runs here, so nothing is started), run with the system's node
// made unavailable, then removed and purged, leaving nothing behind.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { debPackage, run } from '../harness/debPackage.js';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, type PrivateEngine } from '../harness/privateDockerd.js';

/** Every path the package may create; after a purge none may exist. */
const LEFT_BEHIND = ['/usr/lib/rootwatch', '/usr/bin/rootwatch', '/lib/systemd/system/rootwatch.service', '/etc/rootwatch', '/var/lib/rootwatch', '/usr/share/doc/rootwatch'];

function installed(): boolean {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Status}', 'rootwatch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('installed');
  } catch {
    return false;
  }
}

/** systemd symlinks that deb-systemd-helper made for the unit (wants, masks). */
function unitLinks(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}/${e.name}`);
      else if (e.name.startsWith('rootwatch')) found.push(`${dir}/${e.name}`);
    }
  };
  walk('/etc/systemd/system');
  walk('/var/lib/systemd/deb-systemd-helper-enabled');
  return found;
}

/** Run the installed rootwatch in a mount namespace where the system's node is /dev/null. */
function withoutSystemNode(args: string[]): Promise<string> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const hide = existsSync('/usr/bin/node') ? 'mount --bind /dev/null /usr/bin/node && ' : '';
  return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${hide}! command -v node >/dev/null || [ ! -s "$(command -v node)" ] || exit 97; exec /usr/bin/rootwatch ${quoted}`], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
}

describe('the Debian package', function () {
  this.timeout(600_000);
  let deb: string;
  let eng: PrivateEngine;

  before(async function () {
    requireDocker(this);
    if (installed()) throw new Error('a rootwatch package is already installed on this machine: this test installs and purges its own');
    [deb, eng] = await Promise.all([debPackage(), engine('default')]);
  });

  after(async () => {
    if (installed()) await run('dpkg', ['--purge', 'rootwatch']).catch(() => undefined);
  });

  it('is named rootwatch_<version>_<arch>.deb and holds the unit, the conffile, the runtime and the addon', async () => {
    const version = (JSON.parse(execFileSync('cat', ['package.json'], { encoding: 'utf8' })) as { version: string }).version;
    const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
    assert.ok(deb.endsWith(`/rootwatch_${version}_${arch}.deb`), deb);
    const info = await run('dpkg-deb', ['--info', deb]);
    assert.match(info, /^ Package: rootwatch$/m);
    assert.match(info, new RegExp(`^ Version: ${version.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(info, /^ Depends: .*libc6/m);
    assert.doesNotMatch(info, /nodejs/, 'no dependency on the system node');
    for (const script of ['postinst', 'prerm', 'postrm', 'conffiles']) assert.match(info, new RegExp(`\\b${script}\\b`));
    const conffiles = await run('dpkg-deb', ['--info', deb, 'conffiles']);
    assert.equal(conffiles.trim(), '/etc/rootwatch/rootwatch.yaml');
    const contents = await run('dpkg-deb', ['--contents', deb]);
    for (const path of [
      './lib/systemd/system/rootwatch.service', './etc/rootwatch/rootwatch.yaml', './usr/bin/rootwatch', './usr/lib/rootwatch/node',
      './usr/lib/rootwatch/app/dist/src/main.js', './usr/lib/rootwatch/app/native/build/Release/proc_events.node',
      './usr/lib/rootwatch/app/config/cves.yaml', './usr/lib/rootwatch/app/node_modules/dockerode/package.json',
    ]) {
      assert.match(contents, new RegExp(` ${path.replace(/[.]/g, '\\.')}$`, 'm'), `${path} in the package`);
    }
    assert.doesNotMatch(contents, /node_modules\/(typescript|mocha|eslint|tsx)\//, 'no dev dependencies');
    // The unit runs the packaged command, not a node from PATH.
    const unit = execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile '${deb}' | tar -xO ./lib/systemd/system/rootwatch.service`], { encoding: 'utf8' });
    assert.match(unit, /^ExecStart=\/usr\/bin\/rootwatch --config \/etc\/rootwatch\/rootwatch\.yaml run$/m);
  });

  it('installs, runs without the system node (version, audit --json against a private engine), removes and purges cleanly', async () => {
    await run('dpkg', ['--install', deb], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    assert.ok(installed());
    assert.match(await withoutSystemNode(['version']), /^rootwatch \d+\.\d+\.\d+ \(node v\d+/);

    const c = await eng.docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '300'], name: `rw-deb-${Date.now()}`, HostConfig: { PidMode: 'host' } });
    await c.start();
    try {
      const report = JSON.parse(await withoutSystemNode(['--docker-host', eng.dockerHost, 'audit', '--json'])) as {
        containers: { id: string; findings: { rule: string }[] }[];
      };
      const mine = report.containers.find((x) => x.id === c.id);
      assert.ok(mine, 'the running container is audited');
      assert.ok(mine.findings.some((f) => f.rule === 'host_pid'), 'with its host_pid finding');
    } finally {
      await c.remove({ force: true });
    }

    await run('dpkg', ['--remove', 'rootwatch']);
    assert.ok(!existsSync('/usr/lib/rootwatch'), 'program removed');
    assert.ok(!existsSync('/usr/bin/rootwatch'));
    assert.ok(existsSync('/etc/rootwatch/rootwatch.yaml'), 'remove keeps the conffile');
    await run('dpkg', ['--purge', 'rootwatch']);
    assert.ok(!installed());
    assert.deepEqual(LEFT_BEHIND.filter((p) => existsSync(p)), [], 'nothing left behind');
    assert.deepEqual(unitLinks(), [], 'no unit symlinks or helper state left behind');
  });
});
