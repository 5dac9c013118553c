// Filesystem escapes that keep the container's namespaces: root directory, working directory and
// mounts, judged on facts recorded from a private engine (test/fixtures/breakout).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { judgeContainerProcess, judgeRoot } from '../../../src/breakout/detectors.js';
import { hostPathOf, judgeContainerMounts, locateHostPath, parseMountinfo } from '../../../src/breakout/mounts.js';
import { capabilityMask } from '../../../src/breakout/capabilityMask.js';
import { DEFAULT_CAPABILITIES } from '../../../src/rules/capabilities.js';
import type { ContainerScope, HostReference, ProcessSnapshot } from '../../../src/breakout/types.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '../../fixtures/breakout');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

const C_NS = { mnt: 'mnt:[11]', pid: 'pid:[4026531836]', net: 'net:[13]', ipc: 'ipc:[14]', uts: 'uts:[15]', cgroup: 'cgroup:[16]', user: 'user:[7]' };
// Recorded: host root 65024:2 (dockerd's /proc/<pid>/root), container overlay root 39:2187284.
const HOST: HostReference = { pid: 21040, ns: { ...C_NS, mnt: 'mnt:[1]', net: 'net:[3]', ipc: 'ipc:[4]', uts: 'uts:[5]', cgroup: 'cgroup:[6]' }, root: { dev: '65024', ino: '2' } };
const ID = '1abe01623c2960721b876a67440ad365723b04a0946e549641b1c258b1ad15aa';
const DATA = '/tmp/rwt-rec-I6OX7q/data';

function scope(over: Partial<ContainerScope> = {}): ContainerScope {
  return {
    id: ID, name: 'rec', image: 'rootwatch-test:busybox', initNs: C_NS, sharesHost: new Set(['pid', 'user']), rootRemapped: false,
    privileged: false, allowedCaps: capabilityMask([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']), storagePaths: [],
    root: { dev: '39', ino: '2187284' },
    declaredSources: ['/tmp/rec12/vol', ...['resolv.conf', 'hostname', 'hosts'].map((f) => `${DATA}/containers/${ID}/${f}`)],
    mountsGiven: true, ...over,
  };
}
function proc(over: Partial<ProcessSnapshot> = {}): ProcessSnapshot {
  return {
    pid: 21121, ppid: 21100, startTime: '5', name: 'sleep', exe: '/bin/busybox', cmdline: ['sleep', '600'], uids: [0, 0, 0, 0],
    capEff: capabilityMask(DEFAULT_CAPABILITIES), ns: { ...C_NS }, root: { dev: '39', ino: '2187284' }, cwdOutsideRoot: null, ...over,
  };
}

describe('filesystem escapes that keep the container\'s namespaces', () => {
  describe('host_root_filesystem', () => {
    it('chroot /proc/<dockerd>/root /bin/sleep: the root is the host\'s "/"', () => {
      const p = proc({ pid: 21192, exe: '/usr/bin/sleep', cmdline: ['/bin/sleep', '30'], root: { dev: '65024', ino: '2' } });
      const hits = judgeContainerProcess(p, scope(), HOST);
      assert.deepEqual(hits.map((h) => [h.reason, h.evidence.root_is, h.evidence.root]), [['host_root_filesystem', 'host_root', '65024:2']]);
      assert.equal(hits[0]?.container?.id, ID);
    });

    it('its own root, and a chroot inside the container\'s filesystem, are fine', () => {
      assert.deepEqual(judgeContainerProcess(proc(), scope(), HOST), []);
      assert.equal(judgeRoot(proc({ root: { dev: '39', ino: '4242' } }), scope(), HOST), null, 'chroot /var/empty inside the overlay');
    });

    it('another host directory counts only for a container given no binds or volumes', () => {
      const p = proc({ root: { dev: '65024', ino: '260072' } }); // chroot /proc/<pid>/root/tmp
      assert.equal(judgeRoot(p, scope({ mountsGiven: false }), HOST), 'host_root_device');
      assert.equal(judgeRoot(p, scope(), HOST), null, 'it may be a chroot into its own bind mount');
    });

    it('no verdict when a fact is missing (a copy, a process gone) or the container\'s root is a host directory (vfs driver)', () => {
      const p = proc({ root: { dev: '65024', ino: '2' } });
      assert.equal(judgeRoot({ ...p, root: undefined }, scope(), HOST), null);
      assert.equal(judgeRoot(p, scope({ root: undefined }), HOST), null);
      assert.equal(judgeRoot(p, scope(), { ...HOST, root: null }), null);
      assert.equal(judgeRoot(p, scope({ root: { dev: '65024', ino: '2' } }), HOST), null);
    });
  });

  describe('cwd_outside_root', () => {
    it('a working directory outside the process\'s own root is flagged with that directory', () => {
      const hits = judgeContainerProcess(proc({ pid: 21215, cwdOutsideRoot: '/tmp' }), scope(), HOST);
      assert.deepEqual(hits.map((h) => [h.reason, h.evidence.cwd]), [['cwd_outside_root', '/tmp']]);
    });

    it('runc init (a runtime copy started by the host\'s runc, young, in host or container namespaces) is not judged', () => {
      const runc = { dev: '65024', ino: '3301' };
      const runcInit = proc({
        exe: '/memfd:runc_cloned:/proc/self/exe (deleted)', parentExe: '/usr/sbin/runc', parentExeId: runc, parentInContainer: false, ageSeconds: 0.05,
        cwdOutsideRoot: '/run/containerd/x', root: HOST.root,
      });
      assert.deepEqual(judgeContainerProcess(runcInit, scope(), { ...HOST, runtimeBinaries: [runc] }), []);
      // The same facts with a parent of the same name but not the host's binary: judged.
      assert.deepEqual(judgeContainerProcess({ ...runcInit, parentExeId: { dev: '39', ino: '77' } }, scope(), { ...HOST, runtimeBinaries: [runc] }).map((h) => h.reason), ['host_root_filesystem', 'cwd_outside_root']);
    });
  });

  describe('host_mount_in_container (recorded mountinfo)', () => {
    const host = parseMountinfo(fixture('host-reference.mountinfo'));
    const given = parseMountinfo(fixture('container-with-bind.mountinfo'));

    it('parses mountinfo, and locates host paths through the host\'s bind mounts', () => {
      assert.equal(given.length, 29);
      assert.deepEqual(given.find((m) => m.mountPoint === '/data'), { id: 91, device: '254:0', root: '/tmp/rec12/vol', mountPoint: '/data', fsType: 'ext4', source: '/dev/vda', superOptions: ['rw', 'discard', 'resv_strict', 'resuid=65534', 'resgid=65534'] });
      assert.deepEqual(locateHostPath(`${DATA}/containers/${ID}/hosts`, host), { device: '254:0', fsPath: `${DATA}/containers/${ID}/hosts` });
      assert.deepEqual(locateHostPath('/tmp/rec12/vol', host), { device: '254:0', fsPath: '/tmp/rec12/vol' });
    });

    it('declared binds and Docker\'s own resolv.conf, hostname and hosts are not escapes', () => {
      assert.deepEqual(judgeContainerMounts(given, host, scope()), []);
    });

    it('the host\'s root device mounted whole, or a subtree not declared, is flagged; a bind the container lost its declaration for is too', () => {
      const extra = [
        '95 74 254:0 / /mnt/host rw,relatime - ext4 /dev/vda rw,discard',
        '96 74 254:0 /etc /mnt/etc rw,relatime - ext4 /dev/vda rw,discard',
      ].join('\n');
      const mounts = parseMountinfo(`${fixture('container-with-bind.mountinfo')}${extra}\n`);
      const hits = judgeContainerMounts(mounts, host, scope());
      assert.deepEqual(hits.map((h) => [h.reason, h.evidence.mount_point, h.evidence.filesystem_root, h.evidence.host_root_device]), [
        ['host_mount_in_container', '/mnt/host', '/', true],
        ['host_mount_in_container', '/mnt/etc', '/etc', true],
      ]);
      assert.equal(hits[0]?.container?.id, ID);
      const undeclared = judgeContainerMounts(given, host, scope({ declaredSources: scope().declaredSources.slice(1) }));
      assert.deepEqual(undeclared.map((h) => h.evidence.mount_point), ['/data']);
    });

    it('pseudo filesystems and cgroup mounts (same superblocks as the host\'s) are not host block filesystems', () => {
      const onlyPseudo = given.filter((m) => m.source !== '/dev/vda');
      assert.deepEqual(judgeContainerMounts(onlyPseudo, host, scope({ declaredSources: [] })), []);
    });

    it('a single file bound in by the engine (docker-init for --init) is not a view of the host\'s tree; a directory is', () => {
      const mounts = parseMountinfo('95 74 254:0 /usr/bin/tini-static /sbin/docker-init ro,relatime - ext4 /dev/vda rw\n96 74 254:0 /etc /mnt/etc rw - ext4 /dev/vda rw\n');
      const seen: string[] = [];
      const isDirectory = (device: string, fsPath: string): boolean => {
        seen.push(hostPathOf(device, fsPath, host) ?? 'null');
        return fsPath !== '/usr/bin/tini-static';
      };
      assert.deepEqual(judgeContainerMounts(mounts, host, scope(), isDirectory).map((h) => h.evidence.mount_point), ['/mnt/etc']);
      assert.deepEqual(seen, ['/usr/bin/tini-static', '/etc']);
      // Unknown (the file cannot be reached from rootwatch): flagged, never silently dropped.
      assert.equal(judgeContainerMounts(mounts, host, scope(), () => null).length, 2);
    });

    it('hostPathOf maps a filesystem path back through a host mount of its device', () => {
      assert.equal(hostPathOf('254:0', '/etc', host), '/etc');
      assert.equal(hostPathOf('254:0', '/', host), '/');
      assert.equal(hostPathOf('0:29', '/docker/x', host), '/sys/fs/cgroup/cpu/docker/x');
      assert.equal(hostPathOf('9:9', '/x', host), null);
    });

    it('`-v /:/host` is declared: the whole host filesystem is given on purpose (the audit rules flag that)', () => {
      const mounts = parseMountinfo('95 74 254:0 / /host rw,relatime - ext4 /dev/vda rw\n');
      assert.deepEqual(judgeContainerMounts(mounts, host, scope({ declaredSources: ['/'] })), []);
    });
  });
});
