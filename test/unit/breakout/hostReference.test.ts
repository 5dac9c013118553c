// Resolving the host's reference namespaces on a fixture /proc tree (ProcFs takes a root, as
// node_exporter's collectors take --path.procfs): dockerd first, the Podman API service on a host
// without dockerd, and never a process whose cgroup names a container, whatever it calls itself.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveHostReference } from '../../../src/breakout/hostReference.js';
import { ProcFs } from '../../../src/proc/procfs.js';

const CONTAINER = 'a'.repeat(64);

function fakeProc(procs: { pid: number; comm: string; cgroup: string; mnt: number }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'rw-fakeproc-'));
  for (const p of procs) {
    const dir = join(root, String(p.pid));
    mkdirSync(join(dir, 'ns'), { recursive: true });
    writeFileSync(join(dir, 'comm'), `${p.comm}\n`);
    writeFileSync(join(dir, 'cgroup'), p.cgroup);
    symlinkSync(`mnt:[${p.mnt}]`, join(dir, 'ns', 'mnt'));
    symlinkSync('pid:[4026531836]', join(dir, 'ns', 'pid'));
  }
  return root;
}

describe('host reference namespaces', () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const resolve = (procs: Parameters<typeof fakeProc>[0]): ReturnType<typeof resolveHostReference> => {
    const root = fakeProc(procs);
    roots.push(root);
    return resolveHostReference(new ProcFs(root), { pidfile: join(root, 'no.pid'), processName: 'dockerd' });
  };

  it('takes dockerd by name when there is no pidfile', () => {
    const r = resolve([
      { pid: 300, comm: 'podman', cgroup: '0::/system.slice/podman.service\n', mnt: 1 },
      { pid: 200, comm: 'dockerd', cgroup: '0::/system.slice/docker.service\n', mnt: 2 },
    ]);
    assert.equal(r?.ref.pid, 200);
    assert.match(r?.source ?? '', /dockerd/);
  });

  it('takes the Podman API service on a host without dockerd', () => {
    const r = resolve([{ pid: 300, comm: 'podman', cgroup: '0::/user.slice/session-1.scope\n', mnt: 1 }]);
    assert.equal(r?.ref.pid, 300);
    assert.equal(r?.ref.ns.mnt, 'mnt:[1]');
  });

  it('never takes a process in a container\'s cgroup, whatever its name', () => {
    const r = resolve([
      { pid: 100, comm: 'dockerd', cgroup: `12:pids:/docker/${CONTAINER}\n0::/docker/${CONTAINER}\n`, mnt: 9 },
      { pid: 110, comm: 'podman', cgroup: `0::/machine.slice/libpod-${CONTAINER}.scope\n`, mnt: 9 },
      { pid: 300, comm: 'podman', cgroup: '0::/system.slice/podman.service\n', mnt: 1 },
    ]);
    assert.equal(r?.ref.pid, 300);
  });
});
