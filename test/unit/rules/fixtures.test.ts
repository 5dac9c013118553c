// Every recorded container, through every container rule: the exact rule ids and severities.
import { strict as assert } from 'node:assert';
import { severityRank, type Severity } from '../../../src/model/finding.js';
import { containerRules } from '../../../src/rules/catalogue.js';
import { ctx, inspect, inspectNames, postureFor, run } from './fixtures.js';

// What every root container with no limits gets on the recording host (cgroup v1, no daemon NNP).
const BASE = [
  'host_cgroupns:low',
  'no_memory_limit:low',
  'no_new_privileges_unset:medium',
  'no_pids_limit:low',
  'root_user:medium',
  'writable_rootfs:low',
];

const withBase = (...extra: string[]): string[] => [...BASE, ...extra].sort();

const EXPECTED: Record<string, string[]> = {
  default: withBase(),
  hardened: ['host_cgroupns:low'],
  privileged: withBase('privileged:critical'),
  'docker-sock': withBase('docker_socket_mount:critical'),
  'volume-at-sock-path': withBase(),
  'var-run': withBase('docker_socket_mount:critical'),
  'hostroot-ro-rslave': withBase('docker_socket_mount:critical', 'sensitive_mount:high'),
  'etc-ro': withBase('sensitive_mount:medium'),
  'etc-ssh-rw': withBase('sensitive_mount:critical'),
  'docker-root-ro': withBase('sensitive_mount:medium'),
  'shared-propagation': withBase('shared_propagation:medium'),
  'api-cap-lowercase': withBase('dangerous_capability:critical', 'dangerous_capability:high'),
  'api-cap-all-lower': withBase('dangerous_capability:critical'),
  'api-secopt-bare-disable': withBase(),
  'cap-sys-admin-lower': withBase('dangerous_capability:critical'),
  'cap-sys-admin-prefixed': withBase('dangerous_capability:critical'),
  'cap-all-lower': withBase('dangerous_capability:critical'),
  'cap-sys-nice': withBase('added_capability:medium'),
  'cap-drop-all-readd-default': withBase(),
  'cap-sys-ptrace-hostpid': withBase('dangerous_capability:critical', 'host_pid:high'),
  'seccomp-unconfined-colon': withBase('seccomp_unconfined:high'),
  'seccomp-custom-json': withBase('seccomp_unconfined:high'),
  // No AppArmor / SELinux on the recording daemon: those rules stay silent (see quirk tests).
  'apparmor-unconfined': withBase(),
  'label-disable': withBase(),
  'label-type-spc': withBase(),
  'nnp-false': withBase(),
  'nnp-colon-true': BASE.filter((x) => x !== 'no_new_privileges_unset:medium'),
  'systempaths-unconfined': withBase('unmasked_paths:high'),
  'host-pid': withBase('host_pid:high'),
  'host-network': withBase('host_network:high'),
  'host-ipc': withBase('host_ipc:medium'),
  'host-uts': withBase('host_uts:low'),
  'host-cgroupns': withBase(),
  'cgroupns-private': BASE.filter((x) => x !== 'host_cgroupns:low'),
  'device-null': withBase('device_access:low'),
  'device-cgroup-rule': withBase('device_access:high'),
  'sysctl-msgmax': withBase('unsafe_sysctl:low'),
  'sysctl-safe': withBase(),
  'user-root-explicit': withBase(),
  'nsjoin-target': withBase('host_network:high', 'host_pid:high'),
  // PidMode/NetworkMode container:<nsjoin-target> resolve to host; IpcMode joins a "shareable" one.
  nsjoin: withBase('host_network:high', 'host_pid:high'),
  'userns-default': withBase(),
  'userns-host': withBase('host_userns:high'),
  'userns-host-privileged': withBase('host_userns:high', 'privileged:critical'),
};

describe('rules over recorded inspect fixtures', () => {
  it('has an expectation for every fixture file (and a file for every expectation)', () => {
    assert.deepEqual(Object.keys(EXPECTED).sort(), inspectNames());
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name}: ${expected.length} findings`, () => {
      assert.deepEqual(run(inspect(name), ctx(postureFor(name))), [...expected].sort());
    });
  }

  it('the hardened container gets no high or critical finding, and nothing but the cgroup v1 default', () => {
    const c = inspect('hardened');
    for (const rule of containerRules) {
      for (const hit of rule.check(c, ctx())) {
        const s: Severity = hit.severity ?? rule.severity;
        assert.ok(severityRank(s) < severityRank('high'), `${rule.id} ${s}: ${hit.message}`);
      }
    }
    assert.deepEqual(run(c, ctx(postureFor('hardened'))), ['host_cgroupns:low']);
  });

  it('every hit has a one-line message and flat evidence', () => {
    for (const name of inspectNames()) {
      const c = inspect(name);
      for (const rule of containerRules) {
        for (const hit of rule.check(c, ctx(postureFor(name)))) {
          assert.ok(hit.message.length > 0 && !hit.message.includes('\n'), `${name}/${rule.id}`);
          for (const [k, v] of Object.entries(hit.evidence)) {
            const flat = v === null || ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
            assert.ok(flat, `${name}/${rule.id} evidence ${k} is not flat`);
          }
        }
      }
    }
  });
});
