// The package's unit under a real systemd. This VM's PID 1 is not systemd, but systemd boots as PID 1
// in a container: a bookworm root file system with systemd (debootstrap + docker import), run with the
// host's cgroup tree and network (the process connector only answers in the initial network
// namespace). The .deb is installed there with apt as an operator would, and the hardened unit is
// exercised: start with the connector, /metrics, journald, reload, a rejected reload, restart after
// SIGKILL, stop within 5 s, and remove + purge leaving nothing behind. The root file system is minbase
// plus systemd and dbus: nothing the package does not depend on (no procps, for one).
import { strict as assert } from 'node:assert';
import { basename } from 'node:path';
import { debPackage } from '../harness/debPackage.js';
import { bookwormRootfs, importImage } from '../harness/debianImages.js';
import { engine, requireDocker } from '../harness/engines.js';
import type { PrivateEngine } from '../harness/privateDockerd.js';
import { sample } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

const IMAGE = 'rootwatch-systemd:bookworm';
const METRICS = 'http://127.0.0.1:9796/metrics';

describe('the packaged unit under a real systemd (in a container)', function () {
  this.timeout(900_000);
  let eng: PrivateEngine;
  const name = `rw-systemd-${Date.now()}`;
  let debInContainer = '';
  const sh = (script: string): Promise<string> => eng.cli('exec', name, 'sh', '-c', script);
  const journal = async (): Promise<Record<string, unknown>[]> =>
    (await sh('journalctl -u rootwatch -o cat --no-pager || true'))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const mainPid = async (): Promise<number> => Number(await sh('systemctl show -p MainPID --value rootwatch'));

  before(async function () {
    requireDocker(this);
    const [deb, tar, e] = await Promise.all([debPackage(), bookwormRootfs(['systemd', 'systemd-sysv', 'dbus']), engine('default')]);
    eng = e;
    await importImage(eng, tar, IMAGE);
    await eng.cli(
      'run', '-d', '--name', name, '--network', 'host', '--cgroupns', 'host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--tmpfs', '/run', '--tmpfs', '/run/lock', '--tmpfs', '/tmp',
      '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
      IMAGE, '/lib/systemd/systemd',
    );
    await waitFor(async () => /^(running|degraded)$/m.test(await sh('systemctl is-system-running || true')), 'systemd up in the container', 60_000, 500);
    debInContainer = `/root/${basename(deb)}`;
    await eng.cli('cp', deb, `${name}:${debInContainer}`);
  });

  after(async () => {
    await eng?.cli('rm', '-f', name).catch(() => undefined);
  });

  it('installs with apt: enabled and started by the maintainer scripts, under the hardened unit, with the process connector', async () => {
    // apt resolves the package's dependencies from what is installed (libc6, libgcc-s1, libstdc++6): nothing to download.
    await sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${debInContainer}`);
    assert.equal((await sh('systemctl is-enabled rootwatch')).trim(), 'enabled');
    await waitFor(async () => (await sh('systemctl is-active rootwatch || true')).trim() === 'active', 'rootwatch active', 30_000, 250);
    // The unit's sandbox is in force: the bounding set is the unit's three capabilities, nothing more.
    const caps = await sh('grep CapBnd /proc/$(systemctl show -p MainPID --value rootwatch)/status');
    const mask = BigInt(`0x${caps.trim().split(/\s+/)[1] ?? ''}`);
    const CAP_DAC_READ_SEARCH = 2n, CAP_NET_ADMIN = 12n, CAP_SYS_PTRACE = 19n;
    assert.equal(mask, (1n << CAP_DAC_READ_SEARCH) | (1n << CAP_NET_ADMIN) | (1n << CAP_SYS_PTRACE), `bounding set ${caps.trim()}`);
    assert.match(await sh('grep NoNewPrivs /proc/$(systemctl show -p MainPID --value rootwatch)/status'), /NoNewPrivs:\s+1/);
    await waitFor(async () => sample(await fetch(METRICS).then((r) => r.text(), () => ''), 'rootwatch_process_source', { source: 'netlink' }) === 1,
      'process connector active under the unit', 30_000, 250);
    // The reader thread gets real-time priority under the unit (LimitRTPRIO=1, sched_setscheduler
    // allowed), else nice -10 (LimitNICE=-10, setpriority allowed), and the daemon says which. What the
    // environment grants decides which to expect: a kernel with CONFIG_RT_GROUP_SCHED gives the
    // service's cpu cgroup no real-time runtime, and systemd cannot raise the rlimits in a container
    // without CAP_SYS_RESOURCE (both true on this VM, where the unit's own Nice=-5 is then all there is).
    // Per thread: comm, nice (stat field 19), policy (field 41; 2 = SCHED_RR).
    await waitFor(async () => (await journal()).some((l) => l.event === 'process_reader'), 'process_reader in the journal', 20_000, 250);
    const pidDir = '/proc/$(systemctl show -p MainPID --value rootwatch)';
    const threads = await sh(`cd ${pidDir}/task && for t in *; do echo "$(cat $t/comm) $(sed "s/.*) //" $t/stat | cut -d" " -f17,39)"; done`);
    const byThread = threads.trim().split('\n').map((l) => l.split(' '));
    const reader = byThread.find(([comm]) => comm === 'rw-proc-events');
    assert.ok(reader, threads);
    const limits = await sh(`cat ${pidDir}/limits`);
    const soft = (name: string): number => Number(new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(limits)?.[1] ?? 0);
    const rtRuntime = (await sh(`p=$(grep -E "^[0-9]+:([^:]*,)?cpu(,[^:]*)?:" ${pidDir}/cgroup | cut -d: -f3); cat /sys/fs/cgroup/cpu$p/cpu.rt_runtime_us 2>/dev/null || echo unlimited`)).trim();
    const logged = (await journal()).find((l) => l.event === 'process_reader');
    const context = `${threads}\nrt_runtime_us ${rtRuntime}\n${limits}`;
    if (soft('Max realtime priority') >= 1 && rtRuntime !== '0') {
      assert.equal(reader[2], '2', `SCHED_RR: ${context}`);
      assert.equal(logged?.priority, 'realtime');
    } else {
      assert.equal(reader[1], soft('Max nice priority') >= 30 ? '-10' : '-5', `nice where real-time is refused: ${context}`);
      assert.equal(logged?.priority, 'normal');
    }
    assert.equal(byThread.filter(([, , policy]) => policy !== '0').length, reader[2] === '2' ? 1 : 0, `no other real-time thread: ${threads}`);
  });

  it('logs JSON to journald, reloads on systemctl reload, and rejects a bad config on reload, keeping the old one', async () => {
    await waitFor(async () => (await journal()).some((l) => l.event === 'started'), '"started" in the journal', 20_000, 250);
    const pid = await mainPid();
    await sh('systemctl reload rootwatch');
    await waitFor(async () => (await journal()).some((l) => l.event === 'config_reloaded'), 'config_reloaded in the journal', 20_000, 250);
    assert.equal(await mainPid(), pid, 'a reload keeps the process');

    await sh('cp /etc/rootwatch/rootwatch.yaml /root/good.yaml && printf "metrics:\\n  lisen: 1\\n" > /etc/rootwatch/rootwatch.yaml && systemctl reload rootwatch');
    await waitFor(async () => (await journal()).some((l) => l.event === 'config_reload_failed'), 'config_reload_failed in the journal', 20_000, 250);
    const failed = (await journal()).find((l) => l.event === 'config_reload_failed');
    assert.match(String(failed?.message), /unknown key "metrics\.lisen"/);
    assert.equal((await sh('systemctl is-active rootwatch')).trim(), 'active');
    assert.equal(await mainPid(), pid);
    await sh('cp /root/good.yaml /etc/rootwatch/rootwatch.yaml');
  });

  it('is restarted by systemd after kill -9, and stops within 5 s', async () => {
    const pid = await mainPid();
    await sh('systemctl kill -s KILL rootwatch');
    await waitFor(async () => {
      const now = await mainPid();
      return now > 0 && now !== pid && (await sh('systemctl is-active rootwatch || true')).trim() === 'active';
    }, 'restarted after SIGKILL (RestartSec=5)', 30_000, 250);
    await waitFor(async () => (await fetch(METRICS).then((r) => r.status, () => 0)) === 200, '/metrics after the restart', 20_000, 250);
    const t0 = Date.now();
    await sh('systemctl stop rootwatch');
    const took = Date.now() - t0;
    assert.ok(took < 5000, `systemctl stop took ${took} ms`);
    assert.equal((await sh('systemctl is-active rootwatch || true')).trim(), 'inactive');
    assert.match(await sh('systemctl show -p Result --value rootwatch'), /^success/, 'a clean exit on SIGTERM, not a timeout kill');
  });

  it('apt remove and purge leave nothing behind', async () => {
    await sh('systemctl start rootwatch');
    await sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y -q rootwatch');
    assert.equal((await sh('systemctl is-active rootwatch || true')).trim(), 'inactive', 'stopped on remove');
    assert.equal((await sh('ls /etc/rootwatch')).trim(), 'rootwatch.yaml', 'remove keeps the conffile');
    await sh('DEBIAN_FRONTEND=noninteractive apt-get purge -y -q rootwatch');
    const left = await sh('for p in /usr/lib/rootwatch /usr/bin/rootwatch /lib/systemd/system/rootwatch.service /etc/rootwatch /var/lib/rootwatch /usr/share/doc/rootwatch; do [ ! -e "$p" ] || echo "$p"; done; find /etc/systemd /var/lib/systemd -name "rootwatch*" 2>/dev/null; true');
    assert.equal(left.trim(), '', 'nothing left behind');
    assert.doesNotMatch(await sh('systemctl list-unit-files rootwatch.service --no-legend || true'), /rootwatch/);
  });
});
