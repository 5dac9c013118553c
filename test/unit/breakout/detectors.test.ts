import { statShowsExiting } from '../../../src/proc/procfs.js';
import { strict as assert } from 'node:assert';
import { judgeContainerProcess, judgeHostProcess, processEvidence } from '../../../src/breakout/detectors.js';
import { snapshotFromCapture } from '../../../src/breakout/processScanner.js';
import { isEngineHelper } from '../../../src/breakout/runtimeHelpers.js';
import { capabilityMask, capabilityNames } from '../../../src/breakout/capabilityMask.js';
import { hookProgram, judgeModules, judgeTripwires } from '../../../src/breakout/tripwires.js';
import { DEFAULT_CAPABILITIES } from '../../../src/rules/capabilities.js';
import type { ContainerScope, HostReference, ProcessSnapshot } from '../../../src/breakout/types.js';

const HOST: HostReference = { pid: 900, ns: { mnt: 'mnt:[1]', pid: 'pid:[2]', net: 'net:[3]', ipc: 'ipc:[4]', uts: 'uts:[5]', cgroup: 'cgroup:[6]', user: 'user:[7]' } };
const C_NS = { mnt: 'mnt:[11]', pid: 'pid:[12]', net: 'net:[13]', ipc: 'ipc:[14]', uts: 'uts:[15]', cgroup: 'cgroup:[6]', user: 'user:[7]' };
const UPPER = '/var/lib/docker/overlay2/abc/diff';

function scope(over: Partial<ContainerScope> = {}): ContainerScope {
  return {
    id: 'f'.repeat(64), name: 'web', image: 'nginx', initNs: C_NS, sharesHost: new Set(['cgroup', 'user']), rootRemapped: false,
    privileged: false, allowedCaps: capabilityMask(DEFAULT_CAPABILITIES), storagePaths: [UPPER, '/var/lib/docker/overlay2/abc/merged'], declaredSources: [], mountsGiven: false, ...over,
  };
}
function proc(over: Partial<ProcessSnapshot> = {}): ProcessSnapshot {
  return { pid: 100, ppid: 99, startTime: '5', name: 'sh', exe: '/bin/sh', cmdline: ['sh'], uids: [0, 0, 0, 0], capEff: capabilityMask(DEFAULT_CAPABILITIES), ns: { ...C_NS }, ...over };
}

describe('breakout detectors', () => {
  it('a container process in its own namespaces is fine', () => {
    assert.deepEqual(judgeContainerProcess(proc(), scope(), HOST), []);
  });

  it('host_namespace_process: the host mount namespace, but not namespaces the container shares on purpose', () => {
    const p = proc({ ns: { ...C_NS, mnt: HOST.ns.mnt, pid: HOST.ns.pid } });
    const hits = judgeContainerProcess(p, scope({ sharesHost: new Set(['pid', 'cgroup', 'user']), initNs: { ...C_NS, pid: HOST.ns.pid } }), HOST);
    assert.deepEqual(hits.map((h) => h.reason), ['host_namespace_process']);
    assert.deepEqual(hits[0]?.evidence.host_namespaces, ['mnt']);
    assert.deepEqual(judgeContainerProcess(proc({ ns: { ...C_NS, pid: HOST.ns.pid } }), scope({ sharesHost: new Set(['pid', 'cgroup', 'user']), initNs: { ...C_NS, pid: HOST.ns.pid } }), HOST), []);
  });

  it('host_namespace_process: a container whose init itself sits in the host\'s namespaces (moved before rootwatch saw it)', () => {
    const moved = { ...C_NS, mnt: HOST.ns.mnt, net: HOST.ns.net };
    const hits = judgeContainerProcess(proc({ ns: moved }), scope({ initNs: moved }), HOST);
    assert.deepEqual(hits.map((h) => h.reason), ['host_namespace_process']);
    assert.deepEqual(hits[0]?.evidence.host_namespaces, ['mnt', 'net']);
  });

  it('a process copied as it exits (no exe, only pid and user namespaces left) is not judged; a live one with those facts is', () => {
    // As copied from runc's `runc:[1:CHILD]` during a container restart: host pid namespace, runc's capabilities.
    const exiting = proc({ name: 'runc:[1:CHILD]', exe: null, cmdline: [], capEff: (1n << 41n) - 1n, ns: { pid: HOST.ns.pid, user: HOST.ns.user } });
    assert.deepEqual(judgeContainerProcess(exiting, scope(), HOST), []);
    const live = proc({ name: 'runc:[1:CHILD]', exe: null, cmdline: [], capEff: (1n << 41n) - 1n, ns: { ...C_NS, pid: HOST.ns.pid } });
    assert.deepEqual(judgeContainerProcess(live, scope(), HOST).map((h) => h.reason), ['host_namespace_process', 'capability_escalation']);
    // Read between exit_mm() and exit_task_namespaces(): every namespace still there, no executable,
    // PF_EXITING in its stat flags (seen once from a healthcheck's runc exec).
    const betweenExits = proc({ name: 'runc:[1:CHILD]', exe: null, cmdline: [], capEff: (1n << 41n) - 1n, ns: { ...C_NS, pid: HOST.ns.pid }, exiting: true });
    assert.deepEqual(judgeContainerProcess(betweenExits, scope(), HOST), []);
    // An executable that is there: judged whatever the flags say.
    assert.deepEqual(judgeContainerProcess({ ...betweenExits, exe: '/bin/sh' }, scope(), HOST).map((h) => h.reason), ['host_namespace_process', 'capability_escalation']);
  });

  it('PF_EXITING is read from the flags field of /proc/<pid>/stat, whatever the command name holds', () => {
    const stat = (flags: number): string => `42 (a) b) c) R 1 42 42 0 -1 ${flags} 0 0 0 0 0 0 0 0 20 0 1 0 12345 0\n`;
    assert.equal(statShowsExiting(stat(0x400044)), true);
    assert.equal(statShowsExiting(stat(0x400040)), false);
    assert.equal(statShowsExiting('garbage'), false);
  });

  describe('the runtime exemption rests on what only the runtime can produce (issue 13)', () => {
    const RUNC = { dev: '65024', ino: '1000' };
    const SHIM = { dev: '65024', ino: '2000' };
    const host: HostReference = { ...HOST, runtimeBinaries: [RUNC], shimBinaries: [SHIM] };
    const sc = scope({ shimPid: 4242 });
    const inHostMnt = { ns: { ...C_NS, mnt: HOST.ns.mnt }, ageSeconds: 0.02, parentInContainer: false };
    const judge = (over: Partial<ProcessSnapshot>): string[] => judgeContainerProcess(proc({ ...inHostMnt, ...over }), sc, host).map((h) => h.reason);

    it('exempt: runc 1.1\'s bindfd copy ("/", runc\'s inode) or a memfd copy started by runc, in host namespaces', () => {
      assert.deepEqual(judge({ exe: '/', exeId: RUNC, parentExeId: RUNC }), []);
      assert.deepEqual(judge({ exe: '/memfd:runc_cloned:/proc/self/exe (deleted)', exeId: { dev: '1', ino: '77' }, parentExeId: RUNC }), []);
    });

    it('reaped by the shim, a runc init is exempt only in the container\'s own namespaces: the shim parents every docker exec too', () => {
      const extraCaps = { capEff: capabilityMask([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']) };
      const memfd = { exe: '/memfd:runc_cloned:/proc/self/exe (deleted)', exeId: { dev: '1', ino: '77' }, ...extraCaps };
      assert.deepEqual(judge({ ...memfd, ns: { ...C_NS }, ppid: 4242, parentExeId: null }), []);
      assert.deepEqual(judge({ ...memfd, ns: { ...C_NS }, parentExeId: SHIM }), []);
      assert.deepEqual(judge({ ...memfd, ppid: 4242, parentExeId: SHIM }), ['host_namespace_process', 'capability_escalation']);
    });

    it('flagged: a renamed static pair (runc, containerd-shim) from the container\'s filesystem', () => {
      assert.deepEqual(judge({ exe: '/tmp/runc', exeId: { dev: '83', ino: '12' }, parentExe: '/tmp/containerd-shim', parentExeId: { dev: '83', ino: '13' } }), ['host_namespace_process']);
    });

    it('flagged: a memfd named like runc\'s whose parent is not the runtime, or is a container process', () => {
      const memfd = { exe: '/memfd:runc_cloned:/proc/self/exe (deleted)', exeId: { dev: '1', ino: '78' } };
      assert.deepEqual(judge({ ...memfd, parentExeId: { dev: '83', ino: '13' } }), ['host_namespace_process']);
      // The host's runc binary, exec'd by the container through /proc/<pid>/root: its parent is the container's.
      assert.deepEqual(judge({ ...memfd, parentExeId: RUNC, parentInContainer: true }), ['host_namespace_process']);
      assert.deepEqual(judge({ ...memfd, parentExeId: RUNC, parentInContainer: undefined }), ['host_namespace_process'], 'unknown parent: not exempt');
    });

    it('flagged: an exec through a detached mount of another file (exe reads "/")', () => {
      assert.deepEqual(judge({ exe: '/', exeId: { dev: '83', ino: '12' }, parentExeId: RUNC }), ['host_namespace_process']);
    });

    it('flagged: a real runc copy that stays too long, or sits in a third namespace', () => {
      assert.deepEqual(judge({ exe: '/', exeId: RUNC, parentExeId: RUNC, ageSeconds: 11 }), ['host_namespace_process']);
      assert.deepEqual(judge({ exe: '/', exeId: RUNC, parentExeId: RUNC, ageSeconds: undefined }), ['host_namespace_process']);
      assert.deepEqual(judge({ exe: '/', exeId: RUNC, parentExeId: RUNC, ns: { ...C_NS, mnt: HOST.ns.mnt, net: 'net:[999]' } }), ['host_namespace_process']);
    });

    it('a process attributed by lineage says so in the evidence', () => {
      const hits = judgeContainerProcess(proc({ ...inHostMnt, attributedBy: 'lineage' }), sc, host);
      assert.deepEqual(hits.map((h) => [h.reason, h.evidence.attributed_by]), [['host_namespace_process', 'lineage']]);
    });
  });

  it('host_root_process only when root should be remapped', () => {
    const p = proc({ ns: { ...C_NS, user: HOST.ns.user } });
    assert.deepEqual(judgeContainerProcess(p, scope({ rootRemapped: true, initNs: { ...C_NS, user: 'user:[77]' } }), HOST).map((h) => h.reason), ['host_root_process']);
    assert.deepEqual(judgeContainerProcess(p, scope({ rootRemapped: false }), HOST), []);
    const unprivileged = proc({ uids: [100000, 100000, 100000, 100000], ns: { ...C_NS, user: 'user:[77]' } });
    assert.deepEqual(judgeContainerProcess(unprivileged, scope({ rootRemapped: true, initNs: { ...C_NS, user: 'user:[77]' } }), HOST), []);
  });

  it('capability_escalation names the extra capabilities; privileged containers are exempt', () => {
    const p = proc({ capEff: capabilityMask([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']) });
    const hits = judgeContainerProcess(p, scope(), HOST);
    assert.deepEqual(hits.map((h) => h.reason), ['capability_escalation']);
    assert.deepEqual(hits[0]?.evidence.extra_capabilities, ['CAP_SYS_ADMIN']);
    assert.deepEqual(judgeContainerProcess(p, scope({ privileged: true }), HOST), []);
  });

  it('kernel_helper_from_container: a kthreadd child running a script from the upper dir', () => {
    const helper = proc({ pid: 500, ppid: 2, exe: '/usr/bin/dash', cmdline: ['/bin/sh', `${UPPER}/payload`, '/x'], ns: HOST.ns });
    const hits = judgeHostProcess(helper, [scope()]);
    assert.deepEqual(hits.map((h) => h.reason), ['kernel_helper_from_container']);
    assert.equal(hits[0]?.evidence.container_path, `${UPPER}/payload`);
    assert.equal(hits[0]?.container?.name, 'web');
    assert.deepEqual(judgeHostProcess(proc({ ppid: 2, exe: null, cmdline: [] }), [scope()]), [], 'kernel threads have no exe');
    assert.deepEqual(judgeHostProcess(proc({ ppid: 2, exe: '/sbin/modprobe', cmdline: ['/sbin/modprobe', 'x'] }), [scope()]), []);
  });

  it('kernel_helper_from_container: a flagged helper\'s children count too, whatever they name', () => {
    const child = proc({ pid: 501, ppid: 500, exe: '/usr/bin/sleep', cmdline: ['sleep', '3'], ns: HOST.ns });
    const parent = { pid: 500, container: scope(), containerPath: `${UPPER}/payload` };
    const hits = judgeHostProcess(child, [scope()], parent);
    assert.deepEqual(hits.map((h) => [h.reason, h.evidence.helper_parent, h.evidence.container_path, h.container?.name]), [['kernel_helper_from_container', 500, `${UPPER}/payload`, 'web']]);
    assert.deepEqual(judgeHostProcess(child, [scope()]), [], 'the same process without a flagged parent');
  });

  it('container_binary_on_host: a host process executing a file in container storage; prefix must be a path boundary', () => {
    assert.deepEqual(judgeHostProcess(proc({ exe: `${UPPER}/bin/miner` }), [scope()]).map((h) => h.reason), ['container_binary_on_host']);
    assert.deepEqual(judgeHostProcess(proc({ exe: `${UPPER}2/bin/x`, cmdline: ['x'] }), [scope()]), []);
  });

  describe('host processes that name container paths (recorded from a private engine)', () => {
    const DATA = '/tmp/rwt-dflt-m2sZUc/data/overlay2/b691a1fc5936e7c658e4f905a04eaf0d74da31c82ef2a78596e1280affb4b85f';
    const sc = scope({ storagePaths: [`${DATA}/diff`, `${DATA}/merged`, `${DATA}/work`], rootDevice: '83' });
    const host = (over: Partial<ProcessSnapshot>): ProcessSnapshot => proc({ ns: {}, uids: [-1, -1, -1, -1], ...over });

    it('dockerd re-executing itself for docker cp / export / diff is not judged by its arguments', () => {
      const untar = host({ pid: 31815, ppid: 30997, name: 'exe', exe: '/usr/sbin/dockerd', parentExe: '/usr/sbin/dockerd', cmdline: ['docker-untar', '/tmp', `${DATA}/merged`] });
      const tar = host({ pid: 31700, ppid: 30997, name: 'exe', exe: '/usr/sbin/dockerd', parentExe: '/usr/sbin/dockerd', cmdline: ['docker-tar', '/bin/', `${DATA}/merged`] });
      assert.deepEqual(judgeHostProcess(untar, [sc]), []);
      assert.deepEqual(judgeHostProcess(tar, [sc]), []);
      // Copied by the addon without its parent (or with an unreadable one): still no code from the container.
      assert.deepEqual(judgeHostProcess({ ...untar, parentExe: null }, [sc]), []);
    });

    it('an administrator\'s ls, du, cat, find on upper and merged dirs is not judged by its arguments', () => {
      for (const [exe, argv] of [
        ['/usr/bin/ls', ['ls', '-la', `${DATA}/diff`]], ['/usr/bin/du', ['du', '-sh', `${DATA}/diff`]],
        ['/usr/bin/cat', ['cat', `${DATA}/merged/tmp/in.txt`]], ['/usr/bin/find', ['find', `${DATA}/diff`, '-maxdepth', '3']],
        ['/usr/bin/dash', ['sh', '-c', `cat ${DATA}/merged/tmp/in.txt`]],
        // A copy taken at a fork: the parent shell's executable with the child's next command line.
        ['/usr/bin/dash', ['cat', `${DATA}/merged/tmp/in.txt`]],
      ] as const) {
        assert.deepEqual(judgeHostProcess(host({ exe, cmdline: [...argv] }), [sc]), [], argv.join(' '));
      }
    });

    it('an interpreter running a container script is container code on the host', () => {
      const sh = judgeHostProcess(host({ exe: '/usr/bin/dash', cmdline: ['/bin/sh', `${DATA}/diff/payload`, 'x'] }), [sc]);
      assert.deepEqual(sh.map((h) => [h.reason, h.evidence.matched_by, h.evidence.container_path]), [['container_binary_on_host', 'script', `${DATA}/diff/payload`]]);
      const py = judgeHostProcess(host({ exe: '/usr/bin/python3.11', cmdline: ['python3', `${DATA}/merged/app.py`] }), [sc]);
      assert.deepEqual(py.map((h) => h.evidence.matched_by), ['script']);
      const bb = judgeHostProcess(host({ exe: '/bin/busybox', cmdline: ['sh', `${DATA}/merged/x.sh`] }), [sc]);
      assert.deepEqual(bb.map((h) => h.evidence.matched_by), ['script']);
      assert.deepEqual(judgeHostProcess(host({ exe: '/bin/busybox', cmdline: ['cat', `${DATA}/merged/x.sh`] }), [sc]), [], 'busybox cat');
    });

    it('an engine-named executable from container storage is not an engine helper (a container cannot fake one)', () => {
      const fake = host({ exe: `${DATA}/merged/usr/sbin/dockerd`, parentExe: '/usr/sbin/dockerd', cmdline: ['docker-untar', '/', `${DATA}/merged`] });
      assert.deepEqual(judgeHostProcess(fake, [sc]).map((h) => [h.reason, h.evidence.matched_by]), [['container_binary_on_host', 'executable']]);
      // A host dockerd binary with a parent that is not the engine is no engine helper: its script argument counts.
      assert.equal(isEngineHelper('/usr/sbin/dockerd', '/usr/bin/bash'), false);
      assert.equal(isEngineHelper('/usr/sbin/dockerd', '/usr/sbin/dockerd'), true);
      assert.equal(isEngineHelper('/tmp/x/dockerd-ish', '/usr/sbin/dockerd'), false);
    });

    it('an executable on the container root device, whatever path the kernel prints (/proc/<pid>/root/…)', () => {
      const viaRoot = host({ exe: '/bin/busybox', exeDevice: '83', cmdline: ['/proc/4242/root/bin/busybox', 'sleep', '5'] });
      assert.deepEqual(judgeHostProcess(viaRoot, [sc]).map((h) => [h.reason, h.evidence.matched_by]), [['container_binary_on_host', 'executable_device']]);
      assert.deepEqual(judgeHostProcess({ ...viaRoot, exeDevice: '2049' }, [sc]), [], 'host root device');
      assert.deepEqual(judgeHostProcess(viaRoot, [scope({ rootDevice: undefined })]), [], 'no device known (vfs driver)');
    });
  });

  it('capability masks round-trip in kernel bit order', () => {
    assert.equal(capabilityMask(['CAP_CHOWN']), 1n);
    assert.equal(capabilityMask(['CAP_SYS_ADMIN']), 1n << 21n);
    assert.deepEqual(capabilityNames(0x1fffeffffffn).includes('CAP_SYS_RESOURCE'), false);
  });
});

describe('tripwires', () => {
  const files = (v: Record<string, string | null>): Map<string, string | null> => new Map(Object.entries(v));

  it('core_pattern: only pipes name a program', () => {
    assert.equal(hookProgram('/proc/sys/kernel/core_pattern', 'core'), null);
    assert.equal(hookProgram('/proc/sys/kernel/core_pattern', '|/usr/lib/systemd/systemd-coredump %P'), '/usr/lib/systemd/systemd-coredump');
  });

  it('a hook into a running container\'s storage, or into dead container storage, is tripwire_container_path', () => {
    const hits = judgeTripwires(files({ '/sys/fs/cgroup/memory/release_agent': `${UPPER}/cmd\n` }), files({ '/sys/fs/cgroup/memory/release_agent': '\n' }), [scope()], []);
    assert.deepEqual(hits.map((h) => h.reason).sort(), ['tripwire_changed', 'tripwire_container_path']);
    const dead = judgeTripwires(files({ '/proc/sys/kernel/core_pattern': '|/var/lib/docker/overlay2/zzz/diff/x' }), new Map(), [], ['/var/lib/docker']);
    assert.deepEqual(dead.map((h) => h.reason), ['tripwire_container_path']);
    assert.equal(dead[0]?.container, null);
  });

  it('unchanged, absent and harmless hooks are quiet', () => {
    const v = files({ '/proc/sys/kernel/core_pattern': 'core', '/sys/kernel/uevent_helper': null });
    assert.deepEqual(judgeTripwires(v, v, [scope()], ['/var/lib/docker']), []);
  });

  it('new kernel modules', () => {
    assert.deepEqual(judgeModules(new Set(['a', 'evil']), new Set(['a'])).map((h) => h.evidence.module), ['evil']);
  });
});

describe('breakout evidence', () => {
  const UPPER_X = '/var/lib/docker/overlay2/abc/diff';
  it('carries pid, ppid, exe, cmdline, uids and every namespace when they were read', () => {
    const hit = judgeHostProcess(proc({ pid: 7, ppid: 6, exe: `${UPPER_X}/miner`, cmdline: ['miner', '-o', 'pool'], ns: HOST.ns }), [scope()])[0];
    assert.deepEqual(
      { pid: hit?.evidence.pid, ppid: hit?.evidence.ppid, exe: hit?.evidence.exe, cmdline: hit?.evidence.cmdline, uids: hit?.evidence.uids },
      { pid: 7, ppid: 6, exe: `${UPPER_X}/miner`, cmdline: ['miner', '-o', 'pool'], uids: '0 0 0 0' },
    );
    assert.deepEqual(hit?.evidence.namespaces, ['mnt=mnt:[1]', 'pid=pid:[2]', 'net=net:[3]', 'ipc=ipc:[4]', 'uts=uts:[5]', 'cgroup=cgroup:[6]', 'user=user:[7]']);
    assert.equal(hit?.container?.name, 'web');
  });

  it('says "unreadable" for what a connector copy of a host process lacks, never -1 or an empty list', () => {
    // As the addon copies a host process: stat, exe and cmdline, no status, no namespaces.
    const copy = snapshotFromCapture({
      pid: 31815, event: 'exec', ns: [0, 0, 0, 0, 0, 0, 0], status: '', cgroup: '', stat: `31815 (miner) R 30997 ${Array.from({ length: 17 }, () => '0').join(' ')} 4242 0`,
      exe: `${UPPER_X}/miner`, parentExe: '', cmdline: '',
    });
    assert.ok(copy);
    const ev = judgeHostProcess(copy, [scope()])[0]?.evidence;
    assert.equal(ev?.uids, 'unreadable');
    assert.equal(ev?.namespaces, 'unreadable');
    assert.equal(ev?.cmdline, 'unreadable');
    assert.equal(ev?.ppid, 30997);
    const partial = processEvidence(proc({ exe: null, ns: { mnt: 'mnt:[1]' } }));
    assert.equal(partial.exe, 'unreadable');
    assert.deepEqual((partial.namespaces as string[]).slice(0, 2), ['mnt=mnt:[1]', 'pid=unreadable']);
  });
});
