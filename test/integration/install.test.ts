// Production install: scripts/install.sh and uninstall.sh into a DESTDIR, the systemd unit checked by
// systemd-analyze (verify, and the offline security rating), and the npm tarball's contents.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync, type ExecFileException } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyEngines, engine, requireDocker } from '../harness/engines.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UNIT_SRC = join(ROOT, 'systemd', 'rootwatch.service');
const MAX_EXPOSURE = 3.0;

interface Run { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 240_000, maxBuffer: 32 << 20 },
      (err: ExecFileException | null, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
  });
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every file and directory under dir, relative, sorted (node_modules counted, not listed). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory() && e.name !== 'node_modules') walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const nodeBin = execFileSync('bash', ['-c', 'command -v node'], { encoding: 'utf8' }).trim();
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function ensureBuilt(): void {
  if (!existsSync(join(ROOT, 'dist/src/main.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** Skip (one loud line) or fail under ROOTWATCH_REQUIRE_DOCKER=1 when systemd-analyze is missing. */
function requireSystemdAnalyze(ctx: Mocha.Context): void {
  if (execFileSyncOk('bash', ['-c', 'command -v systemd-analyze'])) return;
  const reason = 'systemd-analyze not found (apt-get install systemd)';
  if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') throw new Error(`ROOTWATCH_REQUIRE_DOCKER=1 but ${reason}`);
  console.error(`\n!!! SKIPPING SYSTEMD UNIT TESTS: ${reason} !!!\n`);
  ctx.skip();
}

function execFileSyncOk(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The unit as shipped, with ExecStart pointing at this machine's node and this checkout's dist. */
function unitForThisMachine(dir: string): string {
  const text = readFileSync(UNIT_SRC, 'utf8')
    .replace(/^ExecStart=\/usr\/bin\/node \/opt\/rootwatch\//m, `ExecStart=${nodeBin} ${ROOT.replace(/\/$/, '')}/`);
  assert.match(text, new RegExp(`^ExecStart=${nodeBin} \\S+/dist/src/main\\.js --config /etc/rootwatch/rootwatch\\.yaml run$`, 'm'));
  const p = join(dir, 'rootwatch.service');
  writeFileSync(p, text);
  return p;
}

describe('install.sh / uninstall.sh into a DESTDIR', function () {
  this.timeout(300_000);
  const dest = mkdtempSync(join(tmpdir(), 'rw-install-'));
  const prefix = join(dest, 'opt/rootwatch');
  const conf = join(dest, 'etc/rootwatch/rootwatch.yaml');
  const unit = join(dest, 'etc/systemd/system/rootwatch.service');
  const install = (env: NodeJS.ProcessEnv = {}): Promise<Run> => run('bash', ['scripts/install.sh'], { env: { DESTDIR: dest, ...env } });
  const uninstall = (...args: string[]): Promise<Run> => run('bash', ['scripts/uninstall.sh', ...args], { env: { DESTDIR: dest } });

  before(ensureBuilt);
  after(() => rmSync(dest, { recursive: true, force: true }));

  it('installs the program, production dependencies, config and unit', async () => {
    const r = ok(await install(), 'install.sh');
    assert.match(r.stdout, /installing production dependencies: npm ci --omit=dev/);
    assert.match(r.stdout, /DESTDIR set: not touching systemd/);

    assert.ok(statSync(join(prefix, 'dist/src/main.js')).isFile());
    const pkg = JSON.parse(readFileSync(join(prefix, 'package.json'), 'utf8')) as { name: string; version: string };
    assert.deepEqual([pkg.name, pkg.version], ['rootwatch', version]);
    assert.ok(existsSync(join(prefix, 'package-lock.json')));
    // Shipped data stays with the program (upgrades replace it); the operator's config goes to /etc.
    assert.equal(readFileSync(join(prefix, 'config/cves.yaml'), 'utf8'), readFileSync(join(ROOT, 'config/cves.yaml'), 'utf8'));
    assert.ok(!existsSync(join(dest, 'etc/rootwatch/cves.yaml')));
    assert.equal(readFileSync(conf, 'utf8'), readFileSync(join(ROOT, 'config/rootwatch.yaml'), 'utf8'));
    assert.equal(statSync(conf).mode & 0o777, 0o640);
    assert.ok(existsSync(join(prefix, 'scripts/uninstall.sh')));

    // Production dependencies only.
    assert.ok(existsSync(join(prefix, 'node_modules/commander/package.json')));
    for (const dev of ['typescript', 'mocha', 'tsx', 'eslint']) {
      assert.ok(!existsSync(join(prefix, 'node_modules', dev)), `dev dependency ${dev} installed`);
    }

    const unitText = readFileSync(unit, 'utf8');
    assert.match(unitText, new RegExp(`^ExecStart=${nodeBin} /opt/rootwatch/dist/src/main\\.js --config /etc/rootwatch/rootwatch\\.yaml run$`, 'm'));
    assert.equal(unitText.replace(/^ExecStart=.*$/m, ''), readFileSync(UNIT_SRC, 'utf8').replace(/^ExecStart=.*$/m, ''));

    // The installed tree runs on its own (from another directory, with only its node_modules).
    const v = ok(await run(nodeBin, [join(prefix, 'dist/src/main.js'), 'version'], { cwd: dest }), 'installed rootwatch version');
    assert.match(v.stdout, new RegExp(`^rootwatch ${version.replace(/\./g, '\\.')} `));
    const a = await run(nodeBin, [join(prefix, 'dist/src/main.js'), '--config', conf, '--docker-host', `unix://${dest}/none.sock`, 'audit'], { cwd: dest });
    assert.equal(a.code, 3, `installed config loads; audit without Docker exits 3:\n${a.stderr}`);
  });

  it('a second run is idempotent (same tree, dependencies reused)', async () => {
    const before = tree(dest);
    const unitBefore = readFileSync(unit, 'utf8');
    const r = ok(await install(), 'second install.sh');
    assert.match(r.stdout, /dependencies unchanged: reusing/);
    assert.match(r.stdout, /kept \/etc\/rootwatch\/rootwatch\.yaml \(same as the shipped default\)/);
    assert.deepEqual(tree(dest), before, 'no files added or left behind (staging dirs cleaned up)');
    assert.equal(readFileSync(unit, 'utf8'), unitBefore);
    assert.ok(!existsSync(`${conf}.dist`));
  });

  it('an upgrade keeps an edited config and puts the new default next to it', async () => {
    appendFileSync(conf, '# edited by the operator: marker-7f3a\n');
    const r = ok(await install(), 'install.sh over an edited config');
    assert.match(r.stdout, /kept your \/etc\/rootwatch\/rootwatch\.yaml; the shipped default is \/etc\/rootwatch\/rootwatch\.yaml\.dist/);
    assert.match(readFileSync(conf, 'utf8'), /marker-7f3a/);
    assert.equal(readFileSync(`${conf}.dist`, 'utf8'), readFileSync(join(ROOT, 'config/rootwatch.yaml'), 'utf8'));
    ok(await install(), 'third install.sh');
    assert.match(readFileSync(conf, 'utf8'), /marker-7f3a/);
    assert.ok(existsSync(`${conf}.dist`));
  });

  it('uninstall removes the program and the unit, keeps /etc/rootwatch and /var/lib/rootwatch; --purge removes them', async () => {
    const evidence = join(dest, 'var/lib/rootwatch/evidence');
    mkdirSync(evidence, { recursive: true, mode: 0o700 });
    writeFileSync(join(evidence, 'bundle.json'), '{}\n');
    const r = ok(await uninstall(), 'uninstall.sh');
    assert.match(r.stdout, /kept \/etc\/rootwatch/);
    assert.match(r.stdout, /kept \/var\/lib\/rootwatch/);
    assert.ok(existsSync(join(evidence, 'bundle.json')));
    assert.ok(!existsSync(prefix));
    assert.ok(!existsSync(unit));
    assert.match(readFileSync(conf, 'utf8'), /marker-7f3a/);
    ok(await uninstall(), 'uninstall.sh again (idempotent)');
    const p = ok(await uninstall('--purge'), 'uninstall.sh --purge');
    assert.match(p.stdout, /removed \/etc\/rootwatch \(--purge\)/);
    assert.ok(!existsSync(join(dest, 'etc/rootwatch')));
    assert.match(p.stdout, /removed \/var\/lib\/rootwatch \(--purge\)/);
    assert.ok(!existsSync(join(dest, 'var/lib/rootwatch')));
    assert.equal((await uninstall('--bogus')).code, 2);
  });

  it('PREFIX moves the program and the unit follows; uninstall refuses a directory that is not rootwatch', async () => {
    const r = await install({ PREFIX: '/usr/local/lib/rootwatch', ROOTWATCH_SKIP_NPM: '1', ROOTWATCH_SKIP_BUILD: '1' });
    ok(r, 'install.sh with PREFIX');
    assert.match(r.stdout, /ROOTWATCH_SKIP_NPM=1: not installing node_modules/);
    assert.ok(existsSync(join(dest, 'usr/local/lib/rootwatch/dist/src/main.js')));
    assert.ok(!existsSync(join(dest, 'usr/local/lib/rootwatch/node_modules')));
    assert.match(readFileSync(unit, 'utf8'), /^ExecStart=\S+ \/usr\/local\/lib\/rootwatch\/dist\/src\/main\.js /m);
    assert.match(readFileSync(unit, 'utf8'), /^Documentation=file:\/usr\/local\/lib\/rootwatch\/README\.md$/m);

    writeFileSync(join(dest, 'precious'), 'data');
    const bad = await run('bash', ['scripts/uninstall.sh'], { env: { DESTDIR: dest, PREFIX: '/' } });
    assert.notEqual(bad.code, 0);
    assert.ok(existsSync(join(dest, 'precious')));
    const notOurs = await run('bash', ['scripts/uninstall.sh'], { env: { DESTDIR: dest, PREFIX: '/etc' } });
    assert.notEqual(notOurs.code, 0);
    assert.match(notOurs.stderr, /not a rootwatch install/);
    assert.ok(existsSync(conf));
    ok(await run('bash', ['scripts/uninstall.sh', '--purge'], { env: { DESTDIR: dest, PREFIX: '/usr/local/lib/rootwatch' } }), 'uninstall PREFIX');
    assert.ok(!existsSync(join(dest, 'usr/local/lib/rootwatch')));
  });
});

describe('systemd unit', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'rw-unit-'));
  let unitPath: string;

  before(function () {
    requireSystemdAnalyze(this);
    ensureBuilt();
    unitPath = unitForThisMachine(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes systemd-analyze verify', async () => {
    const r = await run('systemd-analyze', ['verify', unitPath], { cwd: dir, env: { SYSTEMD_COLORS: '0' } });
    assert.equal(r.code, 0, `systemd-analyze verify:\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /rootwatch\.service:\d+: /, `warnings about the unit:\n${r.stderr}`);
  });

  it(`is rated at most ${MAX_EXPOSURE} by systemd-analyze security`, async () => {
    const r = await run('systemd-analyze', ['security', '--offline=true', unitPath], { cwd: dir, env: { SYSTEMD_COLORS: '0' } });
    const m = /Overall exposure level for rootwatch\.service: (\d+(?:\.\d+)?)/.exec(r.stdout);
    assert.ok(m, `no overall exposure in systemd-analyze security output (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    const exposure = Number(m[1]);
    console.log(`      systemd-analyze security: overall exposure ${exposure}`);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}:\n${r.stdout}`);
  });

  it('keeps the settings rootwatch depends on', () => {
    const text = readFileSync(UNIT_SRC, 'utf8');
    const settings = text.split('\n').filter((l) => /^[A-Z]\w*=/.test(l));
    const has = (l: string): boolean => settings.includes(l);
    assert.ok(has('CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_NET_ADMIN'));
    assert.ok(has('RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK'), 'the process connector needs AF_NETLINK');
    assert.ok(has('ProtectSystem=strict'));
    assert.ok(!settings.some((l) => l.startsWith('ReadWritePaths=')), 'rootwatch writes nothing');
    // These would break V8 or hide the processes rootwatch has to read.
    for (const forbidden of ['MemoryDenyWriteExecute=', 'ProtectProc=', 'ProcSubset=', 'PrivateUsers=', 'PrivatePIDs=']) {
      assert.ok(!settings.some((l) => l.startsWith(forbidden)), `${forbidden} must not be set`);
    }
  });
});

describe('rootwatch under the unit\'s privileges (capability bounding set, no_new_privs, read-only /proc)', function () {
  this.timeout(180_000);

  before(function () {
    requireDocker(this);
    if (process.getuid?.() !== 0 || !execFileSyncOk('bash', ['-c', 'command -v setpriv && command -v unshare'])) this.skip();
    ensureBuilt();
  });
  // The root hook does this for the whole suite; this file is also run alone with --no-config, and a
  // private dockerd left running would keep mocha from exiting. Later suites start a new one on use.
  after(() => destroyEngines());

  it('audits the private engine', async () => {
    const eng = await engine('default');
    const caps = /^CapabilityBoundingSet=(.*)$/m.exec(readFileSync(UNIT_SRC, 'utf8'))?.[1]?.split(/\s+/) ?? [];
    assert.ok(caps.length > 0);
    const bounding = ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
    const script = 'mount --bind /proc /proc && mount -o remount,bind,ro /proc && exec "$@"';
    const r = await run('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script, 'sandbox',
      'setpriv', `--bounding-set=${bounding}`, '--inh-caps=-all', '--no-new-privs',
      nodeBin, join(ROOT, 'dist/src/main.js'), '--config', '/dev/null', '--docker-host', eng.dockerHost, 'audit', '--json']);
    assert.equal(r.code, 0, `audit under the unit's privileges:\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as { host: { docker: { version: string } } };
    assert.ok(report.host.docker.version, 'talked to the engine without CAP_DAC_OVERRIDE');
  });
});

describe('npm tarball', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'rw-pack-'));

  before(ensureBuilt);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists what install.sh needs', async () => {
    const r = ok(await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']), 'npm pack --dry-run');
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const f of ['dist/src/main.js', 'systemd/rootwatch.service', 'scripts/install.sh', 'scripts/uninstall.sh',
      'config/rootwatch.yaml', 'config/cves.yaml', 'package.json', 'README.md']) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources and tests stay out');
  });

  it('installs from the unpacked tarball without building', async () => {
    ok(await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir]), 'npm pack');
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz);
    ok(await run('tar', ['xzf', tgz, '-C', dir], { cwd: dir }), 'tar');
    const dest = join(dir, 'root');
    const r = ok(await run('bash', ['scripts/install.sh'], { cwd: join(dir, 'package'), env: { DESTDIR: dest, ROOTWATCH_SKIP_NPM: '1' } }),
      'install.sh from the tarball');
    assert.doesNotMatch(r.stdout + r.stderr, /ensure-built|building/);
    for (const f of ['opt/rootwatch/dist/src/main.js', 'opt/rootwatch/config/cves.yaml', 'opt/rootwatch/package.json',
      'etc/rootwatch/rootwatch.yaml', 'etc/systemd/system/rootwatch.service']) {
      assert.ok(existsSync(join(dest, f)), `${f} not installed`);
    }
  });
});
