import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCveData, mergeCveData, parseCveData } from '../../../src/host/cveData.js';
import { collectHostFacts, type HostFacts } from '../../../src/host/hostFacts.js';
import { evaluateHostExposure, HostExposure, type HostEvaluation } from '../../../src/host/hostExposure.js';
import { compareFindings, type Finding } from '../../../src/model/finding.js';
import type { DockerInfo, DockerVersion } from '../../../src/model/dockerTypes.js';
import { postureFrom, type DaemonPosture } from '../../../src/model/posture.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../fixtures/daemon/${name}`, import.meta.url)), 'utf8'));
const posture = postureFrom(fixture('info.json') as DockerInfo, fixture('version.json') as DockerVersion);
const remapped = postureFrom(fixture('info-userns.json') as DockerInfo, fixture('version-userns.json') as DockerVersion);

/** The machine the fixtures were recorded on (kernel 6.18.44-fc-v782, hybrid cgroups, Debian 12). */
function machineFacts(p: DaemonPosture): HostFacts {
  return {
    kernelRelease: '6.18.44-fc-v782',
    engineVersion: p.version,
    runcVersion: p.runc,
    containerdVersion: p.containerd,
    cgroupV1Mounted: true,
    cgroupVersion: 'hybrid',
    unprivilegedUsernsAllowed: true,
    unprivilegedBpfAllowed: false,
    criPluginEnabled: null,
    apparmor: p.apparmor,
    selinux: p.selinux,
    authzPlugins: p.authorizationPlugins,
    hostNetworkContainers: 0,
    hostname: 'vm',
    distro: 'Debian GNU/Linux',
    distroVersion: '12',
    arch: 'x64',
  };
}

const NOW = Date.parse('2026-06-01T12:00:00Z');
const data = loadCveData({ operatorPath: '/nonexistent/rootwatch/cves.yaml' });
const cve = (r: HostEvaluation, id: string): Finding | undefined => r.findings.find((f) => f.cve === id);

const dir = mkdtempSync(join(tmpdir(), 'rw-hostexp-'));
function file(rel: string, text: string): string {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** Resolves with the first value `register` hands to its callback; rejects after `ms`. */
function next<T>(register: (cb: (v: T) => void) => void, ms = 5000): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no callback within ${ms} ms`)), ms);
    register((v) => {
      clearTimeout(t);
      res(v);
    });
  });
}

describe('host/hostExposure', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('evaluateHostExposure on the recorded daemon', () => {
    const r = evaluateHostExposure(posture, machineFacts(posture), data, NOW);

    it('reports CVE-2024-21626 for runc 1.1.5+ds1 with the severity from the data', () => {
      const f = cve(r, 'CVE-2024-21626');
      assert.ok(f, 'known_cve CVE-2024-21626');
      assert.equal(f.rule, 'known_cve');
      assert.equal(f.severity, data.entries.find((e) => e.id === 'CVE-2024-21626')?.severity);
      assert.equal(f.evidence.component, 'runc');
      assert.equal(f.evidence.verdict, 'vulnerable');
      assert.equal(f.excepted, undefined);
    });

    it('reports no kernel CVE for 6.18.44-fc-v782', () => {
      assert.deepEqual(r.findings.filter((f) => f.evidence.component === 'kernel'), []);
    });

    it('includes the daemon posture findings, worst first', () => {
      assert.ok(r.findings.some((f) => f.rule === 'userns_remap_disabled'));
      for (let i = 1; i < r.findings.length; i++) {
        assert.ok(compareFindings(r.findings[i - 1] as Finding, r.findings[i] as Finding) <= 0, 'sorted worst first');
      }
    });

    it('labels rootwatch_host_info', () => {
      assert.deepEqual(r.info, {
        kernel: '6.18.44-fc-v782',
        distro: 'Debian GNU/Linux 12',
        engine: 'docker',
        docker_version: '20.10.24+dfsg1',
        podman_version: '',
        oci_runtime: '',
        runc_version: '1.1.5+ds1',
        containerd_version: '1.6.20~ds1',
        cgroup_version: 'hybrid',
        userns_remap: 'false',
        rootless: 'false',
      });
    });

    it('has no userns_remap_disabled finding for the remapped daemon', () => {
      const u = evaluateHostExposure(remapped, machineFacts(remapped), data, NOW);
      assert.equal(u.findings.find((f) => f.rule === 'userns_remap_disabled'), undefined);
      assert.ok(cve(u, 'CVE-2024-21626'), 'the runc CVE does not depend on remapping');
      assert.equal(u.info.userns_remap, 'true');
    });

    it('marks a CVE the operator acknowledged as excepted, until the acknowledgement expires', () => {
      const op = parseCveData(
        'acknowledgements:\n  - { cve: CVE-2024-21626, reason: "Debian backported the fix (deb12u1)", host: "v*", expires: "2026-06-30" }\n',
        'operator.yaml',
      );
      const merged = mergeCveData(data, op);
      const f = cve(evaluateHostExposure(posture, machineFacts(posture), merged, NOW), 'CVE-2024-21626');
      assert.deepEqual(f?.excepted, { reason: 'Debian backported the fix (deb12u1)', expires: '2026-06-30' });
      const later = cve(evaluateHostExposure(posture, machineFacts(posture), merged, Date.parse('2026-07-01T00:00:00Z')), 'CVE-2024-21626');
      assert.equal(later?.excepted, undefined);
    });
  });

  describe('collectHostFacts', function () {
    this.timeout(10_000); // systeminformation may shell out on a slow machine
    it('reads a host /proc mounted elsewhere', async () => {
      const proc = join(dir, 'proc');
      file('proc/sys/kernel/osrelease', '5.15.0-91-generic\n');
      file('proc/sys/kernel/unprivileged_userns_clone', '0\n');
      file('proc/sys/user/max_user_namespaces', '63704\n');
      file('proc/sys/kernel/unprivileged_bpf_disabled', '0\n');
      file(
        'proc/self/mountinfo',
        [
          '25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
          '31 25 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
          '32 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd',
          '35 31 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory',
          '36 31 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct',
          '',
        ].join('\n'),
      );
      file('proc/1/root/etc/os-release', 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n');
      file('proc/1/root/etc/hostname', 'docker-host-1\n');

      const f = await collectHostFacts({ procfs: proc, sysfs: join(dir, 'sys'), posture, hostNetworkContainers: 2 });
      assert.equal(f.kernelRelease, '5.15.0-91-generic');
      assert.equal(f.unprivilegedUsernsAllowed, false);
      assert.equal(f.unprivilegedBpfAllowed, true);
      assert.equal(f.cgroupVersion, 1);
      assert.equal(f.cgroupV1Mounted, true);
      assert.equal(f.distro, 'Ubuntu');
      assert.equal(f.distroVersion, '22.04');
      assert.equal(f.hostname, 'docker-host-1');
      assert.equal(f.hostNetworkContainers, 2);
      assert.equal(f.runcVersion, '1.1.5+ds1');
      assert.equal(f.containerdVersion, '1.6.20~ds1');
      assert.equal(f.engineVersion, '20.10.24+dfsg1');
      assert.deepEqual([f.apparmor, f.selinux, f.authzPlugins], [false, false, []]);
    });

    it('does not throw on an empty tree: unknown stays unknown, the daemon fills the cgroup version', async () => {
      const empty = join(dir, 'empty');
      mkdirSync(empty, { recursive: true });
      const f = await collectHostFacts({ procfs: empty, sysfs: empty, posture, hostNetworkContainers: 0 });
      assert.equal(f.unprivilegedUsernsAllowed, null);
      assert.equal(f.unprivilegedBpfAllowed, null);
      assert.equal(f.cgroupVersion, 1); // posture CgroupVersion "1"
      assert.equal(f.kernelRelease, release()); // systeminformation's fallback
      assert.equal(typeof f.hostname, 'string');
    });

    it('reads this machine through /proc', async () => {
      const f = await collectHostFacts({ procfs: '/proc', sysfs: '/sys', posture, hostNetworkContainers: 0 });
      assert.equal(f.kernelRelease, release());
      assert.equal(f.hostname, hostname());
    });
  });

  describe('HostExposure', function () {
    this.timeout(10_000); // file events are waited for with next()'s own 5 s limit
    const errors: string[] = [];
    let onErrorHook: ((m: string) => void) | null = null;
    const onError = (m: string): void => {
      errors.push(m);
      onErrorHook?.(m);
    };
    let hx: HostExposure | null = null;
    afterEach(async () => {
      await hx?.close();
      hx = null;
      errors.length = 0;
      onErrorHook = null;
    });

    it('reloads when the operator file is rewritten and keeps the old data when it turns invalid', async () => {
      const opFile = file('etc/cves.yaml', 'cves: []\n');
      hx = new HostExposure({ procfs: '/proc', sysfs: '/sys', cveFile: opFile, settleMs: 50, onError });
      const first = await hx.refresh(posture, 0);
      assert.equal(cve(first, 'CVE-2024-21626')?.excepted, undefined);

      const changes: (HostEvaluation | null)[] = [];
      let notify: ((e: HostEvaluation | null) => void) | null = null;
      await hx.watch((evs) => {
        // One engine was refreshed (under the default name ''): one evaluation per change.
        assert.deepEqual([...evs.keys()], ['']);
        const e = evs.get('') ?? null;
        changes.push(e);
        notify?.(e);
      });

      const changed = next<HostEvaluation | null>((cb) => (notify = cb));
      writeFileSync(opFile, 'acknowledgements:\n  - { cve: CVE-2024-21626, reason: fixed by the Debian backport }\n');
      const ev = await changed;
      assert.deepEqual(cve(ev as HostEvaluation, 'CVE-2024-21626')?.excepted, { reason: 'fixed by the Debian backport' });
      assert.equal(hx.cveData.acks.length, 1);
      assert.deepEqual(errors, []);

      const before = hx.cveData;
      const failed = next<string>((cb) => (onErrorHook = cb));
      writeFileSync(opFile, 'acknowledgements:\n  - { cve: CVE-2024-21626, reason: x, expire: "2027-01-01" }\n');
      const msg = await failed;
      assert.ok(!msg.includes('\n'), msg);
      assert.ok(msg.startsWith(`${opFile}: `), msg);
      assert.match(msg, /acknowledgements\.0\.expire/);
      assert.equal(hx.cveData, before, 'previous data kept');
      assert.equal(changes.length, 1, 'no change callback for an invalid file');
      assert.ok(cve(hx.last as HostEvaluation, 'CVE-2024-21626')?.excepted);

      // Editors and config management replace the file by renaming a new one over it.
      const replaced = next<HostEvaluation | null>((cb) => (notify = cb));
      writeFileSync(`${opFile}.tmp`, 'cves: []\n');
      renameSync(`${opFile}.tmp`, opFile);
      const after = await replaced;
      assert.equal(cve(after as HostEvaluation, 'CVE-2024-21626')?.excepted, undefined);
      assert.equal(hx.cveData.acks.length, 0);
    });

    it('starts on the shipped data when the operator file is invalid', () => {
      const bad = file('etc/bad.yaml', 'cves: [\n');
      hx = new HostExposure({ procfs: '/proc', sysfs: '/sys', cveFile: bad, onError });
      assert.equal(hx.cveData.entries.length, data.entries.length);
      assert.equal(errors.length, 1);
      assert.ok((errors[0] as string).startsWith(`${bad}: invalid YAML`), errors[0]);
    });
  });
});
