// Podman answers the Docker-compatible API (`podman system service`): /info, /version and inspect JSON
// recorded from Debian's podman 4.3.1 (test/fixtures/daemon/podman-*.json, test/fixtures/podman/).
// rootwatch must say it is Podman, read its OCI runtime, match Podman's CVEs and never Docker's, and
// judge its containers with the same rules as Docker's.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditContainer } from '../../../src/audit/evaluate.js';
import { loadCveData } from '../../../src/host/cveData.js';
import { evaluateCves, type CveHostFacts } from '../../../src/host/cveMatcher.js';
import { hostInfoLabels } from '../../../src/host/hostExposure.js';
import type { ContainerInspect, DockerInfo, DockerVersion } from '../../../src/model/dockerTypes.js';
import { bannerVersion, engineKind, postureFrom, type DaemonPosture } from '../../../src/model/posture.js';
import { rootHostUidOf } from '../../../src/proc/procfs.js';
import { rootIsRemapped } from '../../../src/audit/context.js';
import { FIXTURES, posture as dockerPosture } from '../rules/fixtures.js';

const json = <T>(...p: string[]): T => JSON.parse(readFileSync(join(FIXTURES, ...p), 'utf8')) as T;
const podman = postureFrom(json<DockerInfo>('daemon', 'podman-info.json'), json<DockerVersion>('daemon', 'podman-version.json'));

function facts(p: DaemonPosture): CveHostFacts {
  return {
    kernelRelease: '6.18.44',
    engineVersion: p.engine === 'docker' ? p.version : null,
    podmanVersion: p.engine === 'podman' ? p.version : null,
    runcVersion: p.runc,
    containerdVersion: p.containerd,
    cgroupV1Mounted: true,
    unprivilegedUsernsAllowed: true,
    apparmor: false,
    selinux: false,
    authzPlugins: [],
    hostNetworkContainers: 0,
  };
}

const reported = (p: DaemonPosture): { id: string; component: string }[] =>
  evaluateCves(loadCveData({}).entries, facts(p), [], { now: new Date('2026-11-30') })
    .filter((v) => v.verdict === 'vulnerable' || v.verdict === 'possibly_vulnerable')
    .map((v) => ({ id: v.cve, component: v.component }));

describe('Podman', () => {
  it('is recognised from /version, with its OCI runtime and conmon read from their banners', () => {
    assert.equal(podman.engine, 'podman');
    assert.equal(podman.version, '4.3.1');
    assert.deepEqual(podman.ociRuntime, { name: 'crun', version: '1.8.1' });
    assert.equal(podman.conmon, '2.1.6');
    assert.equal(podman.runc, null, 'crun is not runc');
    assert.equal(podman.containerd, null);
    assert.equal(dockerPosture().engine, 'docker');
    assert.equal(dockerPosture().ociRuntime, null);
  });

  it('reads banners and names', () => {
    assert.equal(bannerVersion('crun version 1.8.1\ncommit: f8a0\nrundir: /run/crun'), '1.8.1');
    assert.equal(bannerVersion('conmon version 2.1.6, commit: unknown'), '2.1.6');
    assert.equal(bannerVersion('runc version 1.1.12'), '1.1.12');
    assert.equal(bannerVersion('1.2.3'), '1.2.3');
    assert.equal(engineKind({ Components: [{ Name: 'Engine', Version: '27.0.1' }] } as DockerVersion), 'docker');
    assert.equal(engineKind({ Platform: { Name: 'Podman Engine' } } as unknown as DockerVersion), 'podman');
  });

  it('a Podman host is reported for Podman CVEs and never for a Docker Engine one', () => {
    const cves = reported(podman);
    assert.ok(cves.some((c) => c.id === 'CVE-2024-1753'), `Podman 4.3.1 is before the CVE-2024-1753 fix: ${JSON.stringify(cves)}`);
    assert.deepEqual(cves.filter((c) => c.component === 'engine'), [], 'no Docker Engine CVE on a Podman host');
    assert.deepEqual(cves.filter((c) => c.component === 'containerd'), [], 'Podman runs no containerd');
  });

  it('a Docker host is never reported for a Podman CVE', () => {
    assert.deepEqual(reported(dockerPosture()).filter((c) => c.component === 'podman'), []);
  });

  it('labels rootwatch_host_info with the engine and the OCI runtime', () => {
    const l = hostInfoLabels(podman, { ...facts(podman), hostname: 'h', distro: null, distroVersion: null, arch: null, cgroupVersion: 'hybrid', unprivilegedBpfAllowed: null });
    assert.equal(l.engine, 'podman');
    assert.equal(l.podman_version, '4.3.1');
    assert.equal(l.docker_version, '');
    assert.equal(l.oci_runtime, 'crun 1.8.1');
  });

  it('judges Podman containers with the same rules as Docker\'s (privileged; host PID with every capability)', () => {
    const ctx = { posture: podman, lookup: () => undefined };
    const privileged = auditContainer(json<ContainerInspect>('podman', 'risky.json'), ctx).map((f) => `${f.rule}:${f.severity}`);
    assert.ok(privileged.includes('privileged:critical'), privileged.join(' '));
    const caps = auditContainer(json<ContainerInspect>('podman', 'risky2.json'), ctx);
    assert.ok(caps.some((f) => f.rule === 'dangerous_capability' && f.severity === 'critical' && /CAP_SYS_ADMIN/.test(f.message)), 'CAP_SYS_ADMIN from a CapAdd without the CAP_ prefix');
    assert.ok(caps.some((f) => f.rule === 'host_pid'));
  });

});

describe('remapping from the kernel (uid_map)', () => {
  it('reads the host uid of container root', () => {
    assert.equal(rootHostUidOf('         0          0 4294967295\n'), 0);
    assert.equal(rootHostUidOf('         0     100000      65536\n'), 100000);
    assert.equal(rootHostUidOf('0 1000 1\n1 231072 65536\n'), 1000, 'rootless Podman: root is the user');
    assert.equal(rootHostUidOf('1 100000 65536\n'), null, 'uid 0 not mapped');
    assert.equal(rootHostUidOf('garbage'), null);
  });

  it('the kernel\'s answer wins over the engine\'s: a Podman container in its own user namespace is remapped, --userns=host on a remapping daemon is not', () => {
    const c = json<ContainerInspect>('podman', 'risky2.json');
    assert.equal(rootIsRemapped(c, podman), false, 'rootful Podman, no uid_map read: host root');
    assert.equal(rootIsRemapped(c, podman, 200000), true, '--uidmap/--userns=auto: root is host uid 200000');
    const remappingDocker = dockerPosture(true);
    assert.equal(rootIsRemapped({ ...c, HostConfig: {} }, remappingDocker, 0), false, 'uid_map says host root, whatever the daemon is set to');
  });

  it('lowers root-related severities for a container whose uid_map remaps root, and says why', () => {
    const ctx = { posture: podman, lookup: () => undefined };
    const c = json<ContainerInspect>('podman', 'risky2.json');
    const plain = auditContainer(c, ctx).find((f) => f.rule === 'root_user');
    const mapped = auditContainer(c, ctx, undefined, { rootHostUid: 200000 }).find((f) => f.rule === 'root_user');
    assert.equal(plain?.severity, 'medium');
    assert.ok(mapped && mapped.severity !== 'medium', `lowered: ${mapped?.severity}`);
    assert.match(JSON.stringify(mapped), /own user namespace \(root is host uid 200000\)/);
  });
});
