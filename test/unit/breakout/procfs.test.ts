import { strict as assert } from 'node:assert';
import { parseMountinfo, CgroupTree } from '../../../src/proc/cgroupTree.js';
import { parseCgroupFile, parseStatus, ProcFs } from '../../../src/proc/procfs.js';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
99 31 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory`;
const V2 = '25 21 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

describe('procfs and cgroup parsing', () => {
  it('finds v1 and v2 hierarchies, first mount wins', () => {
    const t = new CgroupTree(parseMountinfo(HYBRID));
    assert.equal(t.version, 'hybrid');
    assert.deepEqual(t.mounts.map((m) => m.mountPoint), ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']);
    assert.equal(new CgroupTree(parseMountinfo(V2)).version, 2);
  });

  it('maps cgroup lines to directories for the cgroupfs and systemd drivers', () => {
    const t = new CgroupTree(parseMountinfo(HYBRID));
    const lines = parseCgroupFile('4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n');
    assert.deepEqual(t.dirsFor(lines), ['/sys/fs/cgroup/memory/docker/abc', '/sys/fs/cgroup/cpu,cpuacct/docker/abc', '/sys/fs/cgroup/systemd/docker/abc', '/sys/fs/cgroup/unified/docker/abc']);
    const v2 = new CgroupTree(parseMountinfo(V2));
    assert.deepEqual(v2.dirsFor(parseCgroupFile('0::/system.slice/docker-abc.scope\n')), ['/sys/fs/cgroup/system.slice/docker-abc.scope']);
  });

  it('parses status: uids, CapEff, NSpid', () => {
    const s = parseStatus(7, 'Name:\tsleep\nPPid:\t3\nUid:\t100000\t100000\t100000\t100000\nCapEff:\t00000000a80425fb\nNSpid:\t7\t1\n');
    assert.deepEqual(s, { pid: 7, ppid: 3, name: 'sleep', uids: [100000, 100000, 100000, 100000], capEff: 0xa80425fbn, nspid: [7, 1], tgid: 7, tracerPid: 0 });
  });

  it('parses status: Tgid and TracerPid', () => {
    const s = parseStatus(9, 'Name:\tsleep\nTgid:\t8\nPid:\t9\nPPid:\t1\nTracerPid:\t4242\n');
    assert.equal(s.tgid, 8);
    assert.equal(s.tracerPid, 4242);
  });

  it('reads the real /proc and treats a vanished pid as gone, not as an error', () => {
    const p = new ProcFs('/proc');
    assert.ok(p.pids().includes(process.pid));
    assert.ok(p.namespaces('self')?.mnt?.startsWith('mnt:['));
    assert.equal(p.status(2 ** 22 + 12345), null);
    assert.equal(p.exe(2 ** 22 + 12345), null);
    assert.match(p.startTime(process.pid) ?? '', /^\d+$/);
  });
});
