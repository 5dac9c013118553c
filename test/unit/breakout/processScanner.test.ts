// The scanner end to end on a /proc tree built in a temporary directory (ProcFs takes a root, as
// node_exporter's --path.procfs): links are symlinks, so root, cwd and exe have real identities.
// Covers what the pure detectors cannot: the working-directory walk, the TracerPid sweep and when
// it runs, and the mountinfo check with the host reference's mounts.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessScanner } from '../../../src/breakout/processScanner.js';
import { CgroupTree } from '../../../src/proc/cgroupTree.js';
import { ProcFs } from '../../../src/proc/procfs.js';
import type { ContainerRecord } from '../../../src/model/inventory.js';
import type { HostReference } from '../../../src/breakout/types.js';
import type { RawProcessCapture } from '../../../src/proc/procConnector.js';
import { posture } from '../rules/fixtures.js';

const ID = 'c'.repeat(64);
const HOST_NS = { mnt: 'mnt:[1]', pid: 'pid:[2]', net: 'net:[3]', ipc: 'ipc:[4]', uts: 'uts:[5]', cgroup: 'cgroup:[6]', user: 'user:[7]' };
const C_NS = { ...HOST_NS, mnt: 'mnt:[11]', net: 'net:[13]', ipc: 'ipc:[14]', uts: 'uts:[15]', cgroup: 'cgroup:[16]' };

interface FakeProc {
  pid: number;
  ppid?: number;
  name?: string;
  exe?: string;
  root: string;
  cwd: string;
  ns: Record<string, string>;
  tracerPid?: number;
  inContainer?: boolean;
  mountinfo?: string;
}

class Tree {
  readonly dir = mkdtempSync(join(tmpdir(), 'rw-scan-'));
  readonly proc = join(this.dir, 'proc');
  readonly cg = join(this.dir, 'cg');
  readonly members: number[] = [];

  constructor() {
    mkdirSync(this.proc);
    mkdirSync(join(this.cg, 'docker', ID), { recursive: true });
    for (const d of ['hostroot/tmp', 'hostroot/var/lib', 'croot/bin', 'croot/tmp', 'exe']) mkdirSync(join(this.dir, d), { recursive: true });
    writeFileSync(join(this.dir, 'exe', 'sleep'), '');
  }

  path(p: string): string {
    return join(this.dir, p);
  }

  add(p: FakeProc): void {
    const d = join(this.proc, String(p.pid));
    mkdirSync(join(d, 'ns'), { recursive: true });
    const name = p.name ?? 'sleep';
    writeFileSync(join(d, 'status'), `Name:\t${name}\nTgid:\t${p.pid}\nPid:\t${p.pid}\nPPid:\t${p.ppid ?? 1}\nTracerPid:\t${p.tracerPid ?? 0}\nUid:\t0\t0\t0\t0\nCapEff:\t00000000a80425fb\nNSpid:\t${p.pid}\n`);
    writeFileSync(join(d, 'stat'), `${p.pid} (${name}) S ${p.ppid ?? 1} ${Array.from({ length: 17 }, () => '0').join(' ')} 12345 0\n`);
    writeFileSync(join(d, 'cmdline'), `${name}\x00600\x00`);
    writeFileSync(join(d, 'cgroup'), p.inContainer ? `0::/docker/${ID}\n` : '0::/system.slice/x.service\n');
    writeFileSync(join(d, 'mountinfo'), p.mountinfo ?? '');
    symlinkSync(p.exe ?? this.path('exe/sleep'), join(d, 'exe'));
    symlinkSync(p.root, join(d, 'root'));
    symlinkSync(p.cwd, join(d, 'cwd'));
    for (const [k, v] of Object.entries(p.ns)) symlinkSync(v, join(d, 'ns', k));
    if (p.inContainer) {
      this.members.push(p.pid);
      writeFileSync(join(this.cg, 'docker', ID, 'cgroup.procs'), `${this.members.join('\n')}\n`);
    }
  }

  scanner(): ProcessScanner {
    return new ProcessScanner(new ProcFs(this.proc), new CgroupTree([{ mountPoint: this.cg, fsRoot: '/', version: 2, controllers: [] }]), { sysfs: join(this.dir, 'sys') });
  }

  /** The process writes its pid to the root cgroup.procs: it is no member of the container's cgroup any more. */
  leave(pid: number): void {
    this.members.splice(this.members.indexOf(pid), 1);
    writeFileSync(join(this.cg, 'docker', ID, 'cgroup.procs'), `${this.members.join('\n')}\n`);
    writeFileSync(join(this.proc, String(pid), 'cgroup'), '0::/\n');
  }

  /** The process joins other namespaces (setns). */
  move(pid: number, ns: Record<string, string>): void {
    for (const [k, v] of Object.entries(ns)) {
      rmSync(join(this.proc, String(pid), 'ns', k));
      symlinkSync(v, join(this.proc, String(pid), 'ns', k));
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function record(over: Partial<ContainerRecord['inspect']> = {}): ContainerRecord {
  return {
    engine: 'docker', posture: posture(), id: ID, shortId: ID.slice(0, 12), name: 'web', image: 'busybox', labels: {}, findings: [],
    inspect: { Id: ID, State: { Running: true, Pid: 100 }, HostConfig: { PidMode: 'host', CapAdd: ['SYS_PTRACE'], CgroupnsMode: 'private' }, Mounts: [], ...over },
  };
}

describe('process scanner on a /proc tree', () => {
  let t: Tree;
  let host: HostReference;

  beforeEach(() => {
    t = new Tree();
    // The host reference (dockerd), the container's init, a host process.
    t.add({ pid: 10, name: 'dockerd', root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
    t.add({ pid: 100, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
    host = { pid: 10, ns: HOST_NS };
  });

  afterEach(() => t.remove());

  const scan = (s: ProcessScanner, rec = record()) => s.scan([rec], posture(), host, '/var/lib/docker');
  const reasons = (r: ReturnType<typeof scan>) => r.fresh.map((d) => `${d.hit.reason}:${d.pid ?? ''}`).sort();

  it('a quiet container: nothing', () => {
    t.add({ pid: 101, root: t.path('croot'), cwd: t.path('croot/tmp'), ns: C_NS, inContainer: true });
    assert.deepEqual(reasons(scan(t.scanner())), []);
  });

  it('host_root_filesystem and cwd_outside_root from root and cwd identities; a chroot inside the container is fine', () => {
    t.add({ pid: 101, root: t.path('hostroot'), cwd: t.path('hostroot'), ns: C_NS, inContainer: true });
    t.add({ pid: 102, root: t.path('croot'), cwd: t.path('hostroot/var/lib'), ns: C_NS, inContainer: true });
    t.add({ pid: 103, root: t.path('croot/tmp'), cwd: t.path('croot/tmp'), ns: C_NS, inContainer: true });
    const s = t.scanner();
    const r = scan(s);
    assert.deepEqual(reasons(r), ['cwd_outside_root:102', 'host_root_filesystem:101']);
    assert.equal(r.fresh.find((d) => d.pid === 102)?.hit.evidence.cwd, t.path('hostroot/var/lib'));
    assert.deepEqual(reasons(scan(s)), [], 'counted once');
  });

  it('host_process_traced: a host process whose TracerPid is a container process', () => {
    t.add({ pid: 101, name: 'ptrace-hold', root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
    t.add({ pid: 200, root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS, tracerPid: 101 });
    t.add({ pid: 201, root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS, tracerPid: 10 }); // a host debugger
    const r = scan(t.scanner());
    assert.deepEqual(reasons(r), ['host_process_traced:200']);
    const hit = r.fresh[0]?.hit;
    assert.equal(hit?.evidence.tracer_pid, 101);
    assert.equal(hit?.container?.id, ID);
  });

  it('no TracerPid sweep where no container process shares the host pid namespace', () => {
    // A container in its own pid namespace cannot see host processes: the sweep is skipped (were it
    // run, pid 200's TracerPid would name the container's init).
    const own = record({ HostConfig: { CgroupnsMode: 'private' } });
    t.remove();
    t = new Tree();
    t.add({ pid: 10, name: 'dockerd', root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
    t.add({ pid: 100, root: t.path('croot'), cwd: t.path('croot'), ns: { ...C_NS, pid: 'pid:[12]' }, inContainer: true });
    t.add({ pid: 200, root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS, tracerPid: 100 });
    assert.deepEqual(reasons(scan(t.scanner(), own)), []);
  });

  it('with process events, the sweep waits for a ptrace event (or the safety-net scan)', () => {
    t.add({ pid: 101, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
    const s = t.scanner();
    s.ptraceEvents = true;
    assert.deepEqual(reasons(scan(s)), []); // scan 1: nothing traced yet
    t.add({ pid: 200, root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS, tracerPid: 101 });
    assert.deepEqual(reasons(scan(s)), [], 'scan 2: no ptrace event, no sweep');
    s.notePtraceEvent();
    assert.deepEqual(reasons(scan(s)), ['host_process_traced:200']);
  });

  it('host_mount_in_container from the init\'s mountinfo against the host reference\'s', () => {
    t.remove();
    t = new Tree();
    const hostMounts = '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n22 27 0:21 / /proc rw - proc proc rw\n';
    const given = `74 49 0:39 / / rw - overlay overlay rw\n92 74 254:0 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw - ext4 /dev/vda rw\n`;
    t.add({ pid: 10, name: 'dockerd', root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS, mountinfo: hostMounts });
    t.add({ pid: 100, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true, mountinfo: `${given}95 74 254:0 / /mnt rw - ext4 /dev/vda rw\n` });
    const r = scan(t.scanner(), record({ HostsPath: `/var/lib/docker/containers/${ID}/hosts` }));
    assert.deepEqual(r.fresh.map((d) => [d.hit.reason, d.hit.evidence.mount_point]), [['host_mount_in_container', '/mnt']]);
  });

  describe('lineage (issue 13): a container process stays its container\'s wherever it moves', () => {
    it('a member that leaves the container\'s cgroup and joins the host\'s mount namespace → host_namespace_process, attributed by lineage', () => {
      t.add({ pid: 101, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
      const s = t.scanner();
      assert.deepEqual(reasons(scan(s)), []);
      t.leave(101);
      t.move(101, { mnt: HOST_NS.mnt });
      const r = scan(s);
      assert.deepEqual(reasons(r), ['host_namespace_process:101']);
      assert.equal(r.fresh[0]?.hit.evidence.attributed_by, 'lineage');
      assert.equal(r.fresh[0]?.hit.container?.id, ID);
    });

    it('a lineage entry speaks for a parent pid only while it has the entry\'s start time (pids are reused)', () => {
      t.add({ pid: 101, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
      const s = t.scanner();
      scan(s);
      t.leave(101);
      // pid 101 is now another, younger host process (same pid, another start time): its child is a host process.
      writeFileSync(join(t.proc, '101', 'stat'), `101 (sleep) S 1 ${Array.from({ length: 17 }, () => '0').join(' ')} 99999 0\n`);
      t.add({ pid: 301, ppid: 101, root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      assert.deepEqual(reasons(scan(s)), []);
    });

    it('a process first seen outside the cgroup, whose parent is a container process, is the container\'s', () => {
      t.add({ pid: 101, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
      const s = t.scanner();
      scan(s);
      t.add({ pid: 300, ppid: 101, root: t.path('croot'), cwd: t.path('croot'), ns: { ...C_NS, mnt: HOST_NS.mnt, net: HOST_NS.net } });
      const r = scan(s);
      assert.deepEqual(reasons(r), ['host_namespace_process:300']);
      assert.equal(r.fresh[0]?.hit.evidence.attributed_by, 'lineage');
    });

    it('children of the container\'s shim are its processes, except the runtime\'s own (by device and inode)', () => {
      t.remove();
      t = new Tree();
      mkdirSync(t.path('hostroot/usr/sbin'), { recursive: true });
      writeFileSync(t.path('hostroot/usr/sbin/runc'), '');
      writeFileSync(t.path('hostroot/usr/sbin/containerd-shim-runc-v2'), '');
      writeFileSync(t.path('exe/runc'), '');
      t.add({ pid: 10, name: 'dockerd', root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      t.add({ pid: 50, name: 'containerd-shim', exe: t.path('hostroot/usr/sbin/containerd-shim-runc-v2'), root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      t.add({ pid: 100, ppid: 50, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
      const s = t.scanner();
      scan(s);
      // docker exec'd, out of the cgroup before any scan saw it, in the host's namespaces: the container's.
      t.add({ pid: 400, ppid: 50, root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      // runc (the host's binary, however it is named) and a look-alike named runc (another file).
      t.add({ pid: 401, ppid: 50, name: 'runc', exe: t.path('hostroot/usr/sbin/runc'), root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      t.add({ pid: 402, ppid: 50, name: 'runc', exe: t.path('exe/runc'), root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      // An executable that cannot be read (in the middle of an exec, exiting) cannot be told from runc.
      t.add({ pid: 403, ppid: 50, name: 'runc', exe: t.path('exe/gone'), root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      const r = scan(s);
      assert.deepEqual(reasons(r), ['host_namespace_process:400', 'host_namespace_process:402', 'host_root_filesystem:400', 'host_root_filesystem:402']);
    });

    it('membership is read from every hierarchy: a process that left only one is still a member', () => {
      t.remove();
      t = new Tree();
      const v1 = join(t.dir, 'cg-pids');
      mkdirSync(join(v1, 'docker', ID), { recursive: true });
      t.add({ pid: 10, name: 'dockerd', root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS });
      t.add({ pid: 100, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
      t.add({ pid: 101, root: t.path('croot'), cwd: t.path('croot'), ns: { ...C_NS, mnt: HOST_NS.mnt } });
      writeFileSync(join(t.proc, '100', 'cgroup'), `3:pids:/docker/${ID}\n0::/docker/${ID}\n`);
      writeFileSync(join(v1, 'docker', ID, 'cgroup.procs'), '100\n101\n');
      const s = new ProcessScanner(new ProcFs(t.proc), new CgroupTree([
        { mountPoint: t.cg, fsRoot: '/', version: 2, controllers: [] },
        { mountPoint: v1, fsRoot: '/', version: 1, controllers: ['pids'] },
      ]), { sysfs: join(t.dir, 'sys') });
      const r = scan(s);
      assert.deepEqual(reasons(r), ['host_namespace_process:101']);
      assert.equal(r.fresh[0]?.hit.evidence.attributed_by, undefined, 'a member, not lineage');
    });
  });

  it('container_binary_on_host by the identities of the directories on the executable\'s path: an upper directory bound elsewhere', () => {
    t.remove();
    t = new Tree();
    mkdirSync(t.path('upper/bin'), { recursive: true });
    writeFileSync(t.path('upper/bin/miner'), '');
    // Another name for the upper directory (a bind mount on a real host; a symlinked directory here).
    symlinkSync(t.path('upper'), t.path('bound'));
    t.add({ pid: 10, name: 'dockerd', root: '/', cwd: t.path('hostroot'), ns: HOST_NS });
    t.add({ pid: 100, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
    const rec = record({ GraphDriver: { Name: 'overlay2', Data: { UpperDir: t.path('upper'), MergedDir: t.path('croot') } } });
    const s = t.scanner();
    assert.deepEqual(reasons(scan(s, rec)), []);
    t.add({ pid: 500, name: 'miner', exe: t.path('bound/bin/miner'), root: '/', cwd: t.path('hostroot'), ns: HOST_NS });
    t.add({ pid: 501, name: 'sleep', root: '/', cwd: t.path('hostroot'), ns: HOST_NS });
    const r = scan(s, rec);
    assert.deepEqual(reasons(r), ['container_binary_on_host:500']);
    assert.equal(r.fresh[0]?.hit.evidence.matched_by, 'storage_directory');
    assert.equal(r.fresh[0]?.hit.container?.id, ID);
  });

  it('a host copy the addon found a storage directory on the path of (by identity) is container_binary_on_host, gone or not', () => {
    // Storage directories are resolved in the reference's view: dockerd's root is / here.
    t.remove();
    t = new Tree();
    t.add({ pid: 10, name: 'dockerd', root: '/', cwd: t.path('hostroot'), ns: HOST_NS });
    t.add({ pid: 100, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
    const upper = t.path('upper');
    mkdirSync(upper, { recursive: true });
    const rec = record({ GraphDriver: { Name: 'overlay2', Data: { UpperDir: upper, MergedDir: t.path('croot') } } });
    const s = t.scanner();
    scan(s, rec);
    const id = statSync(upper);
    const copy = (storageDir?: string): RawProcessCapture => ({
      pid: 700, event: 'exec', ns: [0, 0, 0, 0, 0, 0, 0], status: '', cgroup: '0::/system.slice/x.service\n', stat: `700 (miner) R 1 ${Array.from({ length: 17 }, () => '0').join(' ')} 12346 0\n`,
      exe: '/mnt/bound/bin/miner', parentExe: '', cmdline: 'miner\0', ...(storageDir ? { storageDir } : {}),
    });
    assert.deepEqual(s.examine([copy()], [rec], posture(), host).fresh, [], 'a path naming no storage, no storage directory: not judged');
    const r = s.examine([copy(`${id.dev}:${id.ino}`)], [rec], posture(), host);
    assert.deepEqual(r.fresh.map((d) => `${d.hit.reason}:${d.pid ?? ''}`), ['container_binary_on_host:700']);
    assert.equal(r.fresh[0]?.hit.evidence.matched_by, 'storage_directory');
    assert.ok(s.storageDirIds().includes(`${id.dev}:${id.ino}`), 'the filter the addon gets');
  });

  describe('the light pass (process events active)', () => {
    it('reads no container process, but judges one moved into a container\'s cgroup (every third pass per container)', () => {
      const s = t.scanner();
      assert.deepEqual(reasons(scan(s)), []);
      // A host process (host namespaces, host root) written into the container's cgroup.procs.
      t.add({ pid: 300, name: 'intruder', root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS, inContainer: true });
      const found: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = s.lightScan([record()], host, '/var/lib/docker');
        assert.ok(r, 'a light pass');
        found.push(...reasons(r));
      }
      assert.ok(found.includes('host_namespace_process:300'), found.join(', '));
    });

    it('reads no member of a container whose member list is the one its last check saw', () => {
      t.add({ pid: 101, root: t.path('croot'), cwd: t.path('croot'), ns: C_NS, inContainer: true });
      const proc = new ProcFs(t.proc);
      const s = new ProcessScanner(proc, new CgroupTree([{ mountPoint: t.cg, fsRoot: '/', version: 2, controllers: [] }]), { sysfs: join(t.dir, 'sys') });
      scan(s);
      const reads: string[] = [];
      const read = proc.read.bind(proc);
      proc.read = (pid, file) => {
        reads.push(`${pid}/${file}`);
        return read(pid, file);
      };
      // Of the members other than the init (whose start time the mount-table check reads).
      const statReads = (): string[] => reads.filter((r) => /^\d+\/stat$/.test(r) && r !== '100/stat');
      // Three passes: the container's member check runs in one of them and reads each member once.
      for (let i = 0; i < 3; i++) s.lightScan([record()], host, '/var/lib/docker');
      assert.ok(statReads().includes('101/stat'), reads.join(' '));
      reads.length = 0;
      for (let i = 0; i < 3; i++) s.lightScan([record()], host, '/var/lib/docker');
      assert.deepEqual(statReads(), [], 'the same members: none read again');
      // One more member: the list changed, so its members are looked at again and the new one judged.
      t.add({ pid: 300, name: 'intruder', root: t.path('hostroot'), cwd: t.path('hostroot'), ns: HOST_NS, inContainer: true });
      const found: string[] = [];
      for (let i = 0; i < 3; i++) found.push(...reasons(s.lightScan([record()], host, '/var/lib/docker') as ReturnType<typeof scan>));
      assert.ok(found.includes('host_namespace_process:300'), found.join(', '));
      assert.ok(statReads().includes('300/stat'), reads.join(' '));
    });

    it('reads the module list only when /sys/module\'s link count changed; a full scan always reads it', () => {
      mkdirSync(t.path('sys/module/ext4'), { recursive: true });
      writeFileSync(join(t.proc, 'modules'), 'ext4 1 0 - Live 0x0\n');
      const s = t.scanner();
      scan(s);
      // A new module in /proc/modules, but no new directory in /sys/module: the light pass does not read.
      writeFileSync(join(t.proc, 'modules'), 'ext4 1 0 - Live 0x0\nevil 1 0 - Live 0x0\n');
      assert.deepEqual(reasons(s.lightScan([record()], host, '/var/lib/docker') as ReturnType<typeof scan>), []);
      mkdirSync(t.path('sys/module/evil'));
      assert.deepEqual(reasons(s.lightScan([record()], host, '/var/lib/docker') as ReturnType<typeof scan>), ['kernel_module_loaded:']);
      writeFileSync(join(t.proc, 'modules'), 'ext4 1 0 - Live 0x0\nevil 1 0 - Live 0x0\nworse 1 0 - Live 0x0\n');
      assert.deepEqual(reasons(scan(s)), ['kernel_module_loaded:']);
    });

    it('with the addon\'s mount watch, reads only the mount tables it says changed (and a newly watched one once)', () => {
      const s = t.scanner();
      let changed: number[] = [];
      const watched: number[][] = [];
      s.mountWatch = { watch: (pids) => void watched.push([...pids]), changed: () => new Set(changed) };
      scan(s);
      const hostMount = '36 35 98:0 / /mnt rw - ext4 /dev/vda1 rw\n';
      writeFileSync(join(t.proc, '100', 'mountinfo'), hostMount);
      writeFileSync(join(t.proc, '10', 'mountinfo'), '20 1 98:0 / / rw - ext4 /dev/vda1 rw\n');
      // The first light pass gives the watch the init and reads its table once more.
      const first = s.lightScan([record()], host, '/var/lib/docker');
      assert.deepEqual(watched, [[100]]);
      assert.deepEqual(reasons(first as ReturnType<typeof scan>), ['host_mount_in_container:']);
      // Unchanged per the watch: the table is not read again (a change on disk goes unseen).
      writeFileSync(join(t.proc, '100', 'mountinfo'), '');
      for (let i = 0; i < 4; i++) assert.ok(s.lightScan([record()], host, '/var/lib/docker')?.active.some((d) => d.hit.reason === 'host_mount_in_container'));
      // The watch says it changed: read, and the mount is gone.
      changed = [100];
      assert.ok(!s.lightScan([record()], host, '/var/lib/docker')?.active.some((d) => d.hit.reason === 'host_mount_in_container'));
    });

    it('asks for a full scan (null) instead when a hook newly points into a container', () => {
      const s = t.scanner();
      const rec = record({ GraphDriver: { Name: 'overlay2', Data: { UpperDir: t.path('upper'), MergedDir: t.path('croot') } } });
      mkdirSync(join(t.proc, 'sys', 'kernel'), { recursive: true });
      writeFileSync(join(t.proc, 'sys', 'kernel', 'core_pattern'), 'core\n');
      scan(s, rec);
      writeFileSync(join(t.proc, 'sys', 'kernel', 'core_pattern'), `|${t.path('upper')}/x\n`);
      assert.equal(s.lightScan([rec], host, '/var/lib/docker'), null);
      assert.ok(reasons(scan(s, rec)).includes('tripwire_container_path:'));
    });
  });

  it('a copy of a known container\'s process that exited mid-copy (no status) is not a host process running its binary', () => {
    const upper = t.path('upper');
    const rec = record({ GraphDriver: { Name: 'overlay2', Data: { UpperDir: upper, MergedDir: t.path('croot') } } });
    const s = t.scanner();
    scan(s, rec);
    const copy = (pid: number, cgroup: string): RawProcessCapture => ({
      pid, event: 'exec', ns: [0, 0, 0, 0, 0, 0, 0], status: '', cgroup, stat: `${pid} (miner) R 1 ${Array.from({ length: 17 }, () => '0').join(' ')} 12346 0\n`,
      exe: `${upper}/bin/miner`, parentExe: '', cmdline: 'miner\0',
    });
    const gone = s.examine([copy(600, `0::/docker/${ID}\n`)], [rec], posture(), host);
    assert.deepEqual(gone.fresh, []);
    const onHost = s.examine([copy(601, '0::/system.slice/x.service\n')], [rec], posture(), host);
    assert.deepEqual(onHost.fresh.map((d) => `${d.hit.reason}:${d.pid ?? ''}`), ['container_binary_on_host:601']);
  });
});
