import { strict as assert } from 'node:assert';
import { isSeverity } from '../../../src/model/finding.js';
import { allRules, containerRules, execRules, hostRules, ruleById } from '../../../src/rules/catalogue.js';

const CONTAINER_IDS = [
  'privileged', 'docker_socket_mount', 'sensitive_mount', 'shared_propagation', 'dangerous_capability',
  'added_capability', 'seccomp_unconfined', 'apparmor_unconfined', 'selinux_disabled', 'writable_cgroups',
  'unmasked_paths', 'no_new_privileges_unset', 'host_pid', 'host_network', 'host_ipc', 'host_uts', 'host_userns',
  'host_cgroupns', 'device_access', 'root_user', 'writable_rootfs', 'no_memory_limit', 'no_pids_limit', 'unsafe_sysctl',
];

const BASE_SEVERITY: Record<string, string> = {
  privileged: 'critical',
  docker_socket_mount: 'critical',
  sensitive_mount: 'critical',
  dangerous_capability: 'critical',
  added_capability: 'medium',
  seccomp_unconfined: 'high',
  apparmor_unconfined: 'high',
  selinux_disabled: 'medium',
  host_pid: 'high',
  host_network: 'high',
  host_ipc: 'medium',
  host_uts: 'low',
  host_userns: 'high',
  host_cgroupns: 'medium',
  writable_cgroups: 'high',
  unmasked_paths: 'high',
  device_access: 'medium',
  shared_propagation: 'medium',
  no_new_privileges_unset: 'medium',
  root_user: 'medium',
  writable_rootfs: 'low',
  no_memory_limit: 'low',
  no_pids_limit: 'low',
  unsafe_sysctl: 'medium',
  exec_privileged: 'high',
  exec_root: 'medium',
  userns_remap_disabled: 'medium',
  daemon_seccomp_unconfined: 'high',
  insecure_api: 'critical',
};

describe('rule catalogue', () => {
  it('has exactly the agreed rule ids, by scope', () => {
    assert.deepEqual(containerRules.map((r) => r.id).sort(), [...CONTAINER_IDS].sort());
    assert.deepEqual(execRules.map((r) => r.id), ['exec_privileged', 'exec_root']);
    assert.deepEqual(hostRules.map((r) => r.id), ['userns_remap_disabled', 'daemon_seccomp_unconfined', 'insecure_api']);
    assert.equal(allRules.length, CONTAINER_IDS.length + 5);
    assert.equal(new Set(allRules.map((r) => r.id)).size, allRules.length);
  });

  it('base severities', () => {
    assert.deepEqual(Object.fromEntries(allRules.map((r) => [r.id, r.severity])), BASE_SEVERITY);
  });

  it('every rule is documented: title, short why, concrete remediation, references', () => {
    for (const r of allRules) {
      assert.match(r.id, /^[a-z][a-z0-9_]*$/, r.id);
      assert.ok(isSeverity(r.severity), r.id);
      assert.ok(r.title.length > 3 && r.title.length < 80, r.id);
      assert.ok(r.why.length > 20 && r.why.split(/\.\s/).length <= 3, `${r.id}: why is 1–2 sentences`);
      assert.ok(/--|daemon\.json|dockerd|-v |Compose|USER|Mount|docker exec/.test(r.remediation), `${r.id}: remediation names a flag or setting`);
      if (r.references.cis) assert.match(r.references.cis, /^[1-5]\.\d+$/, r.id);
      if (r.references.pss) assert.match(r.references.pss, /^(Baseline|Restricted): /, r.id);
    }
  });

  it('CIS and PSS references of the main rules', () => {
    const ref = (id: string) => ruleById(id)?.references;
    assert.deepEqual(ref('privileged'), { cis: '5.5', pss: 'Baseline: Privileged Containers' });
    assert.equal(ref('docker_socket_mount')?.cis, '5.32');
    assert.equal(ref('sensitive_mount')?.cis, '5.6');
    assert.equal(ref('seccomp_unconfined')?.cis, '5.22');
    assert.equal(ref('host_pid')?.cis, '5.16');
    assert.equal(ref('host_network')?.cis, '5.10');
    assert.equal(ref('root_user')?.cis, '4.1');
    assert.equal(ref('insecure_api')?.cis, '2.7');
  });

  it('rules about what container root can do are root-sensitive; the others are not', () => {
    const sensitive = allRules.filter((r) => r.rootSensitive).map((r) => r.id).sort();
    assert.deepEqual(sensitive, [
      'added_capability', 'dangerous_capability', 'device_access', 'docker_socket_mount', 'exec_privileged', 'exec_root',
      'host_pid', 'privileged', 'root_user', 'sensitive_mount', 'unmasked_paths', 'writable_cgroups',
    ]);
  });

  it('ruleById', () => {
    assert.equal(ruleById('host_pid')?.scope, 'container');
    assert.equal(ruleById('exec_root')?.scope, 'exec');
    assert.equal(ruleById('insecure_api')?.scope, 'host');
    assert.equal(ruleById('nope'), undefined);
  });
});
