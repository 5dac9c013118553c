import { strict as assert } from 'node:assert';
import {
  cveFindings,
  evaluateCves,
  formatRange,
  inRange,
  matchingRange,
  type CveAck,
  type CveEntry,
  type CveHostFacts,
  type CveVerdict,
} from '../../../src/host/cveMatcher.js';
import { loadCveData } from '../../../src/host/cveData.js';
import { mustParse } from '../../../src/host/versions.js';

/** A host with nothing special: upstream kernel, current userland, confinement on. */
function facts(over: Partial<CveHostFacts> = {}): CveHostFacts {
  return {
    kernelRelease: '6.12.1',
    engineVersion: '28.2.2',
    runcVersion: '1.3.3',
    containerdVersion: '1.7.29',
    cgroupV1Mounted: false,
    unprivilegedUsernsAllowed: true,
    apparmor: false,
    selinux: false,
    authzPlugins: [],
    hostNetworkContainers: 0,
    ...over,
  };
}

function entry(over: Partial<CveEntry> & Pick<CveEntry, 'id' | 'component' | 'affected'>): CveEntry {
  return { title: 'test bug', severity: 'high', prerequisites: [], references: [], ...over };
}

const dirtyPipe = entry({
  id: 'CVE-2022-0847',
  component: 'kernel',
  affected: [
    { introduced: '5.8', fixed: '5.10.102' },
    { introduced: '5.11', fixed: '5.15.25' },
    { introduced: '5.16', fixed: '5.16.11' },
  ],
});
const releaseAgent = entry({
  id: 'CVE-2022-0492',
  component: 'kernel',
  affected: [{ introduced: '5.11', fixed: '5.15.20' }],
  prerequisites: ['cgroup_v1', 'no_apparmor_selinux', 'unprivileged_userns'],
});
const leakyVessels = entry({ id: 'CVE-2024-21626', component: 'runc', affected: [{ introduced: '1.0.0-rc93', fixed: '1.1.12' }] });
const authz = entry({
  id: 'CVE-2024-41110',
  component: 'engine',
  severity: 'critical',
  affected: [
    { introduced: '20.0.0', last_affected: '20.10.27' },
    { introduced: '27.1.0', fixed: '27.1.1' },
  ],
  prerequisites: ['authz_plugin'],
});
const shim = entry({
  id: 'CVE-2020-15257',
  component: 'containerd',
  severity: 'medium',
  affected: [{ fixed: '1.3.9' }, { introduced: '1.4.0', fixed: '1.4.3' }],
  prerequisites: ['host_network_containers'],
});

function one(e: CveEntry, f: CveHostFacts, acks: CveAck[] = [], now?: Date): CveVerdict {
  const [v] = evaluateCves([e], f, acks, now ? { now } : {});
  assert.ok(v);
  return v;
}

describe('host/cveMatcher', () => {
  describe('ranges', () => {
    const v = mustParse;
    it('introduced is inclusive, fixed exclusive, last_affected inclusive', () => {
      const r = { introduced: '1.0.0-rc93', fixed: '1.1.12' };
      assert.equal(inRange(v('1.0.0-rc93'), r), true);
      assert.equal(inRange(v('1.0.0-rc92'), r), false);
      assert.equal(inRange(v('1.1.11'), r), true);
      assert.equal(inRange(v('1.1.12'), r), false);
      assert.equal(inRange(v('1.1.12+ds1'), r), false);
      const last = { introduced: '20.0.0', last_affected: '20.10.27' };
      assert.equal(inRange(v('20.10.27'), last), true);
      assert.equal(inRange(v('20.10.28'), last), false);
      assert.equal(inRange(v('19.03.15'), last), false);
    });

    it('a range without introduced covers every earlier version', () => {
      assert.equal(inRange(v('0.1'), { fixed: '1.2.8' }), true);
      assert.equal(inRange(v('1.0-rc6'), { last_affected: '1.0-rc6' }), true);
      assert.equal(inRange(v('1.0.0-rc7'), { last_affected: '1.0-rc6' }), false);
    });

    it('pre-release bounds: rc builds sit between the previous release and the fixed release', () => {
      const r = { introduced: '1.4.0-rc.1', fixed: '1.4.0-rc.3' };
      assert.equal(inRange(v('1.4.0-rc.2'), r), true);
      assert.equal(inRange(v('1.4.0-rc.3'), r), false);
      assert.equal(inRange(v('1.4.0'), r), false);
      assert.equal(inRange(v('1.3.9'), r), false);
      assert.equal(inRange(v('5.17.0-rc2'), { introduced: '5.17-rc1', fixed: '5.17-rc3' }), true);
    });

    it('picks the stable-branch range a kernel belongs to', () => {
      assert.deepEqual(matchingRange(v('5.15.24'), dirtyPipe.affected), { introduced: '5.11', fixed: '5.15.25' });
      assert.equal(matchingRange(v('5.15.25'), dirtyPipe.affected), null);
      assert.equal(matchingRange(v('5.10.102'), dirtyPipe.affected), null);
      assert.equal(matchingRange(v('5.7.19'), dirtyPipe.affected), null);
      assert.equal(matchingRange(v('6.18.44'), dirtyPipe.affected), null);
    });

    it('an unparseable bound never matches', () => {
      assert.equal(inRange(v('1.0.0'), { fixed: 'soon' }), false);
    });

    it('formats ranges for people', () => {
      assert.equal(formatRange({ introduced: '1.0.0-rc93', fixed: '1.1.12' }), '>= 1.0.0-rc93, < 1.1.12');
      assert.equal(formatRange({ last_affected: '1.0-rc6' }), '<= 1.0-rc6');
    });
  });

  describe('verdicts from versions', () => {
    it('vulnerable: upstream kernel inside a range', () => {
      const v = one(dirtyPipe, facts({ kernelRelease: '5.10.50' }));
      assert.equal(v.verdict, 'vulnerable');
      assert.equal(v.severity, 'high');
      assert.equal(v.fixed, '5.10.102');
      assert.equal(v.affectedRange, '>= 5.8, < 5.10.102');
      assert.match(v.reason, /upstream build/);
    });

    it('vulnerable: a local build suffix the code does not know counts as upstream', () => {
      assert.equal(one(dirtyPipe, facts({ kernelRelease: '5.15.20-fc-v100' })).verdict, 'vulnerable');
    });

    it('possibly_vulnerable: distribution kernel whose upstream base is in range, one severity step lower', () => {
      for (const k of ['5.15.0-91-generic', '5.10.0-27-amd64']) {
        const v = one(dirtyPipe, facts({ kernelRelease: k }));
        assert.equal(v.verdict, 'possibly_vulnerable', k);
        assert.equal(v.severity, 'medium');
        assert.match(v.reason, /backport/);
      }
    });

    it('not_affected: outside every range, for upstream and distribution kernels', () => {
      assert.equal(one(dirtyPipe, facts({ kernelRelease: '6.1.0-27-amd64' })).verdict, 'not_affected');
      const rhel = one(dirtyPipe, facts({ kernelRelease: '4.18.0-477.el8.x86_64' }));
      assert.equal(rhel.verdict, 'not_affected');
      assert.match(rhel.reason, /RHEL-family build based on upstream 4\.18\.0/);
      assert.equal(one(leakyVessels, facts({ runcVersion: '1.1.12' })).verdict, 'not_affected');
      assert.equal(one(leakyVessels, facts({ runcVersion: '1.0.0-rc92' })).verdict, 'not_affected');
    });

    it('userland versions are compared by their upstream part and stay "vulnerable", with a backport hint', () => {
      const v = one(leakyVessels, facts({ runcVersion: '1.1.5+ds1' }));
      assert.equal(v.verdict, 'vulnerable');
      assert.match(v.reason, /"\+ds1".*backported fix/);
      assert.equal(one(leakyVessels, facts({ runcVersion: 'v1.1.11' })).verdict, 'vulnerable');
    });

    it('unknown: missing or unparseable version', () => {
      assert.equal(one(leakyVessels, facts({ runcVersion: null })).verdict, 'unknown');
      const v = one(leakyVessels, facts({ runcVersion: '7b11cfaabd73bb80907dd23182b9347b4245eb5d' }));
      assert.equal(v.verdict, 'unknown');
      assert.match(v.reason, /cannot parse the runc version/);
    });

    it('vendor-specific kernel CVE: only that vendor, compared by ABI', () => {
      const ubuntuOnly = entry({
        id: 'CVE-2021-3493',
        component: 'kernel',
        distro: 'ubuntu',
        affected: [{ introduced: '5.4', fixed: '5.4.0-72.80' }],
      });
      assert.equal(one(ubuntuOnly, facts({ kernelRelease: '5.4.0-71-generic' })).verdict, 'vulnerable');
      assert.equal(one(ubuntuOnly, facts({ kernelRelease: '5.4.0-72-generic' })).verdict, 'not_affected');
      const debian = one(ubuntuOnly, facts({ kernelRelease: '5.4.0-1-amd64' }));
      assert.equal(debian.verdict, 'not_affected');
      assert.match(debian.reason, /only in Ubuntu kernels/);
      assert.equal(one(ubuntuOnly, facts({ kernelRelease: '5.4.10' })).verdict, 'not_affected');
    });
  });

  describe('prerequisites', () => {
    const exposed = { kernelRelease: '5.15.10', cgroupV1Mounted: true, apparmor: false, selinux: false, unprivilegedUsernsAllowed: true };

    it('all met: the version verdict stands and the reason says why', () => {
      const v = one(releaseAgent, facts(exposed));
      assert.equal(v.verdict, 'vulnerable');
      assert.equal(v.severity, 'high');
      assert.match(v.reason, /cgroup v1 hierarchy is mounted/);
    });

    it('missing requirement excludes: no cgroup v1 → not_affected', () => {
      const v = one(releaseAgent, facts({ ...exposed, cgroupV1Mounted: false }));
      assert.equal(v.verdict, 'not_affected');
      assert.match(v.reason, /in the affected range.*not affected here: no cgroup v1 hierarchy/);
    });

    it('mitigation lowers: AppArmor or SELinux → possibly_vulnerable, one step lower', () => {
      for (const lsm of [{ apparmor: true }, { selinux: true }]) {
        const v = one(releaseAgent, facts({ ...exposed, ...lsm }));
        assert.equal(v.verdict, 'possibly_vulnerable');
        assert.equal(v.severity, 'medium');
        assert.match(v.reason, /lowered: AppArmor or SELinux is enabled/);
      }
    });

    it('unprivileged user namespaces off lowers; unknown keeps the verdict with a note', () => {
      const off = one(releaseAgent, facts({ ...exposed, unprivilegedUsernsAllowed: false }));
      assert.equal(off.verdict, 'possibly_vulnerable');
      assert.match(off.reason, /lowered: unprivileged user namespaces are disabled/);
      const unknown = one(releaseAgent, facts({ ...exposed, unprivilegedUsernsAllowed: null }));
      assert.equal(unknown.verdict, 'vulnerable');
      assert.match(unknown.reason, /unknown/);
    });

    it('lowerings add up: distribution kernel + LSM + userns off stays possibly_vulnerable, severity floor low', () => {
      const v = one(releaseAgent, facts({ ...exposed, kernelRelease: '5.15.0-91-generic', apparmor: true, unprivilegedUsernsAllowed: false }));
      assert.equal(v.verdict, 'possibly_vulnerable');
      assert.equal(v.severity, 'low');
    });

    it('authz plugin: only relevant when one is configured', () => {
      const none = one(authz, facts({ engineVersion: '20.10.24+dfsg1' }));
      assert.equal(none.verdict, 'not_affected');
      assert.match(none.reason, /no authorization plugin/);
      const some = one(authz, facts({ engineVersion: '20.10.24+dfsg1', authzPlugins: ['opa-docker-authz'] }));
      assert.equal(some.verdict, 'vulnerable');
      assert.equal(some.severity, 'critical');
      assert.equal(some.fixed, null); // the 20.10 branch names no fixed release
    });

    it('host-network containers: none → not_affected; some running → raised one step', () => {
      assert.equal(one(shim, facts({ containerdVersion: '1.4.2' })).verdict, 'not_affected');
      const v = one(shim, facts({ containerdVersion: '1.4.2', hostNetworkContainers: 2 }));
      assert.equal(v.verdict, 'vulnerable');
      assert.equal(v.severity, 'high');
      assert.match(v.reason, /raised: containers with host networking are running/);
    });

    it('raising never goes past critical', () => {
      const v = one({ ...shim, severity: 'critical' }, facts({ containerdVersion: '1.4.2', hostNetworkContainers: 1 }));
      assert.equal(v.severity, 'critical');
    });

    it('CRI plugin: disabled excludes, unknown lowers, enabled keeps', () => {
      const cri = entry({ id: 'CVE-2022-23648', component: 'containerd', affected: [{ introduced: '1.6.0', fixed: '1.6.1' }], prerequisites: ['cri_plugin'] });
      const f = facts({ containerdVersion: '1.6.0' });
      assert.equal(one(cri, { ...f, criPluginEnabled: false }).verdict, 'not_affected');
      assert.equal(one(cri, f).verdict, 'possibly_vulnerable');
      assert.equal(one(cri, { ...f, criPluginEnabled: true }).verdict, 'vulnerable');
    });

    it('AppArmor bypass needs AppArmor; unprivileged BPF off lowers', () => {
      const bypass = entry({ id: 'CVE-2019-16884', component: 'runc', affected: [{ last_affected: '1.0.0-rc8' }], prerequisites: ['apparmor'] });
      assert.equal(one(bypass, facts({ runcVersion: '1.0.0-rc8' })).verdict, 'not_affected');
      assert.equal(one(bypass, facts({ runcVersion: '1.0.0-rc8', apparmor: true })).verdict, 'vulnerable');
      const bpf = entry({ id: 'CVE-2021-31440', component: 'kernel', affected: [{ introduced: '5.7', fixed: '5.10.37' }], prerequisites: ['unprivileged_bpf'] });
      assert.equal(one(bpf, facts({ kernelRelease: '5.10.1', unprivilegedBpfAllowed: false })).verdict, 'possibly_vulnerable');
      assert.equal(one(bpf, facts({ kernelRelease: '5.10.1' })).verdict, 'vulnerable');
    });

    it('prerequisites do not turn an out-of-range version into a finding', () => {
      const v = one(shim, facts({ containerdVersion: '1.6.20', hostNetworkContainers: 5 }));
      assert.equal(v.verdict, 'not_affected');
      assert.equal(v.severity, 'medium');
    });
  });

  describe('acknowledgements', () => {
    const f = facts({ runcVersion: '1.1.5+ds1', hostname: 'build-07.example.org' });

    it('keeps the verdict and flags it', () => {
      const v = one(leakyVessels, f, [{ cve: 'CVE-2024-21626', reason: 'Debian 1.1.5+ds1-1+deb12u1 carries the fix' }]);
      assert.equal(v.verdict, 'vulnerable');
      assert.deepEqual(v.acknowledged, { reason: 'Debian 1.1.5+ds1-1+deb12u1 carries the fix' });
      assert.match(v.reason, /acknowledged by the operator/);
    });

    it('host globs match case-insensitively; a non-matching host or an unknown host name is not acknowledged', () => {
      const ack = (host: string): CveAck => ({ cve: 'CVE-2024-21626', reason: 'r', host });
      assert.ok(one(leakyVessels, f, [ack('BUILD-*')]).acknowledged);
      assert.ok(one(leakyVessels, f, [ack('*.example.org')]).acknowledged);
      assert.equal(one(leakyVessels, f, [ack('web-*')]).acknowledged, undefined);
      assert.equal(one(leakyVessels, facts({ runcVersion: '1.1.5' }), [ack('*')]).acknowledged, undefined);
    });

    it('applies through its expiry day, then no more (and says so)', () => {
      const ack: CveAck = { cve: 'CVE-2024-21626', reason: 'r', expires: '2026-03-01' };
      assert.deepEqual(one(leakyVessels, f, [ack], new Date('2026-03-01T23:00:00Z')).acknowledged, { reason: 'r', expires: '2026-03-01' });
      const late = one(leakyVessels, f, [ack], new Date('2026-03-02T00:00:01Z'));
      assert.equal(late.acknowledged, undefined);
      assert.match(late.reason, /acknowledgement expired on 2026-03-01/);
    });

    it('an acknowledgement of another CVE changes nothing', () => {
      assert.equal(one(leakyVessels, f, [{ cve: 'CVE-2019-5736', reason: 'r' }]).acknowledged, undefined);
    });
  });

  describe('cveFindings', () => {
    it('vulnerable: rule known_cve, message, evidence, entry severity', () => {
      const [finding, ...rest] = cveFindings(evaluateCves([leakyVessels], facts({ runcVersion: '1.1.5' })));
      assert.equal(rest.length, 0);
      assert.ok(finding);
      assert.equal(finding.rule, 'known_cve');
      assert.equal(finding.cve, 'CVE-2024-21626');
      assert.equal(finding.severity, 'high');
      assert.equal(finding.message, 'runc 1.1.5 is vulnerable to CVE-2024-21626 (test bug); fixed in 1.1.12');
      assert.equal(finding.evidence.component, 'runc');
      assert.equal(finding.evidence.version, '1.1.5');
      assert.equal(finding.evidence.fixed, '1.1.12');
      assert.equal(finding.evidence.verdict, 'vulnerable');
      assert.equal(finding.excepted, undefined);
    });

    it('possibly_vulnerable: one step lower, says "possibly"', () => {
      const [finding] = cveFindings(evaluateCves([dirtyPipe], facts({ kernelRelease: '5.15.0-91-generic' })));
      assert.ok(finding);
      assert.equal(finding.severity, 'medium');
      assert.match(finding.message, /^kernel 5\.15\.0-91-generic is possibly vulnerable to CVE-2022-0847/);
      assert.equal(finding.evidence.verdict, 'possibly_vulnerable');
    });

    it('no fixed release: the message names the affected range instead', () => {
      const [finding] = cveFindings(evaluateCves([authz], facts({ engineVersion: '20.10.24', authzPlugins: ['x'] })));
      assert.ok(finding);
      assert.match(finding.message, /no fixed release recorded for the affected range >= 20\.0\.0, <= 20\.10\.27$/);
      assert.equal(finding.evidence.fixed, null);
    });

    it('acknowledged → excepted; not_affected and unknown → nothing', () => {
      const verdicts = evaluateCves(
        [leakyVessels, dirtyPipe, shim],
        facts({ runcVersion: '1.1.5', kernelRelease: null }),
        [{ cve: 'CVE-2024-21626', reason: 'accepted until the upgrade', expires: '2099-01-01' }],
      );
      assert.deepEqual(
        verdicts.map((v) => v.verdict),
        ['vulnerable', 'unknown', 'not_affected'],
      );
      const findings = cveFindings(verdicts);
      assert.equal(findings.length, 1);
      assert.deepEqual(findings[0]?.excepted, { reason: 'accepted until the upgrade', expires: '2099-01-01' });
    });
  });

  describe('acceptance: this machine with the shipped config/cves.yaml', () => {
    const data = loadCveData();
    const machine = facts({
      runcVersion: '1.1.5+ds1',
      containerdVersion: '1.6.20~ds1',
      engineVersion: '20.10.24+dfsg1',
      kernelRelease: '6.18.44-fc-v782',
      cgroupV1Mounted: true,
      unprivilegedUsernsAllowed: true,
    });
    const verdicts = evaluateCves(data.entries, machine, data.acks);

    it('reports CVE-2024-21626 for runc as vulnerable', () => {
      const v = verdicts.find((x) => x.cve === 'CVE-2024-21626');
      assert.ok(v);
      assert.equal(v.component, 'runc');
      assert.equal(v.verdict, 'vulnerable');
      const f = cveFindings(verdicts).find((x) => x.cve === 'CVE-2024-21626');
      assert.ok(f);
      assert.match(f.message, /^runc 1\.1\.5\+ds1 is vulnerable to CVE-2024-21626 \(/);
    });

    it('reports no kernel CVE as vulnerable or possibly vulnerable', () => {
      const kernel = verdicts.filter((x) => x.component === 'kernel');
      assert.ok(kernel.length >= 10);
      for (const v of kernel) assert.equal(v.verdict, 'not_affected', `${v.cve}: ${v.reason}`);
      assert.equal(cveFindings(verdicts).filter((f) => f.evidence.component === 'kernel').length, 0);
    });

    it('CVE-2024-41110 is in range for engine 20.10.24 but not affected without authz plugins', () => {
      const v = verdicts.find((x) => x.cve === 'CVE-2024-41110');
      assert.equal(v?.verdict, 'not_affected');
      assert.match(v?.reason ?? '', /in the affected range/);
    });

    it('the same kernel on an older upstream base would be flagged (the data is not inert)', () => {
      const old = evaluateCves(data.entries, { ...machine, kernelRelease: '5.10.50-fc-v782' }, []);
      const flagged = old.filter((x) => x.component === 'kernel' && x.verdict === 'vulnerable').map((x) => x.cve);
      for (const id of ['CVE-2022-0847', 'CVE-2022-0492', 'CVE-2022-0185', 'CVE-2024-1086']) assert.ok(flagged.includes(id), id);
    });
  });
});
