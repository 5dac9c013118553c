// Quirk cases, each from a recorded fixture with one field changed where the engine here could not
// produce the case itself (no AppArmor/SELinux, Docker 20.10 without writable-cgroups).
import { strict as assert } from 'node:assert';
import type { ContainerInspect } from '../../../src/model/dockerTypes.js';
import { containerRules, ruleById } from '../../../src/rules/catalogue.js';
import type { ContainerRule } from '../../../src/rules/rule.js';
import { auditContainer } from '../../../src/audit/evaluate.js';
import { ctx, info, inspect, posture, run, runRule } from './fixtures.js';

function rule(id: string): ContainerRule {
  const r = ruleById(id);
  assert.ok(r && r.scope === 'container', `container rule ${id}`);
  return r;
}

/** The default fixture with HostConfig fields replaced. */
function withHostConfig(patch: Record<string, unknown>, base = 'default'): ContainerInspect {
  const c = inspect(base);
  c.HostConfig = { ...c.HostConfig, ...patch };
  return c;
}

function withMounts(mounts: unknown[]): ContainerInspect {
  const c = inspect('default');
  c.Mounts = mounts as ContainerInspect['Mounts'];
  return c;
}

describe('container rules: quirks', () => {
  describe('mounts', () => {
    it('a volume whose destination is /var/run/docker.sock is not a socket mount', () => {
      const c = inspect('volume-at-sock-path');
      assert.equal(c.Mounts?.[0]?.Type, 'volume');
      assert.equal(c.Mounts?.[0]?.Destination, '/var/run/docker.sock');
      assert.deepEqual(runRule(rule('docker_socket_mount'), c), []);
      assert.deepEqual(runRule(rule('sensitive_mount'), c), []);
    });

    it('only Source decides: a harmless bind with destination /var/run/docker.sock is not flagged', () => {
      const c = withMounts([{ Type: 'bind', Source: '/srv/app', Destination: '/var/run/docker.sock', RW: true, Propagation: 'rprivate' }]);
      assert.deepEqual(runRule(rule('docker_socket_mount'), c), []);
    });

    it('the socket at its usual path, with a trailing slash, read-only: still critical', () => {
      const c = withMounts([{ Type: 'bind', Source: '/var/run/docker.sock/', Destination: '/sock', RW: false, Mode: 'ro' }]);
      const hits = rule('docker_socket_mount').check(c, ctx());
      assert.equal(hits.length, 1);
      assert.equal(hits[0]?.severity, undefined); // base: critical
      assert.match(hits[0]?.message ?? '', /read-only does not limit API calls/);
      assert.equal(hits[0]?.evidence.socket, '/var/run/docker.sock');
    });

    it('the parent directory /var/run counts as the socket (recorded -v /var/run:/host/run)', () => {
      const hits = rule('docker_socket_mount').check(inspect('var-run'), ctx());
      assert.deepEqual(hits.map((h) => [h.evidence['Mounts.Source'], h.evidence.socket]), [['/var/run', '/var/run/docker.sock']]);
    });

    it('a bind of /etc/ssh counts under /etc', () => {
      const hits = rule('sensitive_mount').check(inspect('etc-ssh-rw'), ctx());
      assert.equal(hits.length, 1);
      assert.equal(hits[0]?.severity, 'critical');
      assert.equal(hits[0]?.evidence.sensitive_path, '/etc');
      assert.equal(hits[0]?.evidence['Mounts.Source'], '/etc/ssh');
    });

    it('read-write is worse than read-only for the same path', () => {
      const ro = inspect('etc-ro');
      assert.deepEqual(runRule(rule('sensitive_mount'), ro), ['sensitive_mount:medium']);
      const m = ro.Mounts?.[0];
      assert.ok(m);
      m.RW = true;
      assert.deepEqual(runRule(rule('sensitive_mount'), ro), ['sensitive_mount:critical']);
    });

    it('the recorded daemon data root is sensitive (posture.dockerRootDir), its parent too', () => {
      const c = inspect('docker-root-ro');
      assert.equal(c.Mounts?.[0]?.Source, info().DockerRootDir);
      assert.deepEqual(runRule(rule('sensitive_mount'), c), ['sensitive_mount:medium']);
      // Without the daemon's root dir in the posture, a /tmp path is nothing special.
      assert.deepEqual(runRule(rule('sensitive_mount'), c, ctx(posture(false, { dockerRootDir: null }))), []);
    });

    it('remapped engine: a bind of the parent of DockerRootDir (<root>/<uid>.<gid>) is critical read-write', () => {
      const remapped = posture(true);
      assert.match(remapped.dockerRootDir ?? '', /\/\d+\.\d+$/);
      const parent = (remapped.dockerRootDir ?? '').replace(/\/[^/]+$/, '');
      const c = withMounts([{ Type: 'bind', Source: parent, Destination: '/x', RW: true }]);
      assert.deepEqual(runRule(rule('sensitive_mount'), c, ctx(remapped)), ['sensitive_mount:critical']);
    });

    it('node_exporter form /:/host:ro,rslave is not shared propagation; shared and rshared are', () => {
      const c = inspect('hostroot-ro-rslave');
      assert.equal(c.Mounts?.[0]?.Propagation, 'rslave');
      assert.deepEqual(runRule(rule('shared_propagation'), c), []);
      for (const p of ['slave', 'private', 'rprivate', '']) {
        c.Mounts![0]!.Propagation = p;
        assert.deepEqual(runRule(rule('shared_propagation'), c), [], p);
      }
      c.Mounts![0]!.Propagation = 'shared';
      // Source "/" is sensitive, so shared propagation on it is high.
      assert.deepEqual(runRule(rule('shared_propagation'), c), ['shared_propagation:high']);
    });

    it('recorded rshared on a scratch dir: medium, with the propagation in evidence', () => {
      const hits = rule('shared_propagation').check(inspect('shared-propagation'), ctx());
      assert.equal(hits.length, 1);
      assert.equal(hits[0]?.severity, 'medium');
      assert.equal(hits[0]?.evidence['Mounts.Propagation'], 'rshared');
    });

    it('one hit per offending mount', () => {
      const c = withMounts([
        { Type: 'bind', Source: '/etc', Destination: '/a', RW: false },
        { Type: 'bind', Source: '/usr/lib', Destination: '/b', RW: true },
        { Type: 'tmpfs', Source: '', Destination: '/tmp', RW: true },
        { Type: 'bind', Source: '/etc/localtime', Destination: '/etc/localtime', RW: false },
      ]);
      assert.deepEqual(runRule(rule('sensitive_mount'), c), ['sensitive_mount:medium', 'sensitive_mount:critical']);
    });
  });

  describe('capabilities', () => {
    it('sys_admin, CAP_SYS_ADMIN and lower-case via the API all give one critical hit', () => {
      for (const name of ['cap-sys-admin-lower', 'cap-sys-admin-prefixed']) {
        const hits = rule('dangerous_capability').check(inspect(name), ctx());
        assert.deepEqual(hits.map((h) => h.evidence.capability), ['CAP_SYS_ADMIN'], name);
      }
      const api = rule('dangerous_capability').check(inspect('api-cap-lowercase'), ctx());
      assert.deepEqual(api.map((h) => [h.evidence.capability, h.severity]), [
        ['CAP_SYS_ADMIN', 'critical'],
        ['CAP_NET_ADMIN', 'high'],
      ]);
      assert.deepEqual(api[0]?.evidence['HostConfig.CapAdd'], ['sys_admin', 'Net_Admin']);
    });

    it('ALL: one critical hit naming the set, and no separate added_capability', () => {
      const c = inspect('cap-all-lower');
      const hits = rule('dangerous_capability').check(c, ctx());
      assert.equal(hits.length, 1);
      assert.equal(hits[0]?.severity, 'critical');
      assert.match(hits[0]?.message ?? '', /^CapAdd ALL grants every capability except CAP_SYS_RESOURCE/);
      assert.deepEqual(runRule(rule('added_capability'), c), []);
    });

    it('ALL with every dangerous capability dropped: the rest is reported as added', () => {
      const c = withHostConfig({ CapAdd: ['ALL'], CapDrop: ['SYS_ADMIN', 'SYS_MODULE', 'DAC_READ_SEARCH', 'SYS_PTRACE', 'SYS_RAWIO', 'BPF', 'PERFMON', 'NET_ADMIN', 'SYS_BOOT', 'SYS_TIME', 'MAC_ADMIN', 'MAC_OVERRIDE', 'SYSLOG'] });
      assert.deepEqual(runRule(rule('dangerous_capability'), c), []);
      const hits = rule('added_capability').check(c, ctx());
      assert.equal(hits.length, 1);
      assert.ok((hits[0]?.evidence.capabilities as string[]).includes('CAP_SYS_RESOURCE'));
    });

    it('SYS_PTRACE is high alone, critical with the host pid namespace (also through container:<id>)', () => {
      assert.deepEqual(runRule(rule('dangerous_capability'), withHostConfig({ CapAdd: ['SYS_PTRACE'] })), ['dangerous_capability:high']);
      assert.deepEqual(runRule(rule('dangerous_capability'), inspect('cap-sys-ptrace-hostpid')), ['dangerous_capability:critical']);
      const target = inspect('nsjoin-target');
      const joined = withHostConfig({ CapAdd: ['SYS_PTRACE'], PidMode: `container:${target.Id}` });
      assert.deepEqual(runRule(rule('dangerous_capability'), joined), ['dangerous_capability:critical']);
    });

    it('privileged is reported once, by "privileged", not again as capabilities', () => {
      const c = withHostConfig({ CapAdd: ['SYS_ADMIN'] }, 'privileged');
      assert.deepEqual(runRule(rule('dangerous_capability'), c), []);
      assert.deepEqual(runRule(rule('added_capability'), c), []);
    });
  });

  describe('namespaces', () => {
    it('container:<id> resolves one hop to the target mode, with the target in evidence', () => {
      const c = inspect('nsjoin');
      const target = inspect('nsjoin-target');
      assert.equal(c.HostConfig?.PidMode, `container:${target.Id}`);
      const hits = rule('host_pid').check(c, ctx());
      assert.equal(hits.length, 1);
      assert.deepEqual(hits[0]?.evidence, {
        'HostConfig.PidMode': `container:${target.Id}`,
        'joined.HostConfig.PidMode': 'host',
        'joined.Name': '/rw-nsjoin-target',
      });
      // IpcMode joins a "shareable" namespace, which is not the host's.
      assert.deepEqual(runRule(rule('host_ipc'), c), []);
    });

    it('unknown target, or a lookup that throws: no finding, no exception', () => {
      const c = inspect('nsjoin');
      assert.deepEqual(runRule(rule('host_pid'), c, ctx(posture(), () => undefined)), []);
      const throwing = (): never => {
        throw new Error('boom');
      };
      assert.deepEqual(runRule(rule('host_network'), c, ctx(posture(), throwing)), []);
    });

    it('does not follow two hops', () => {
      const middle = inspect('nsjoin'); // joins nsjoin-target
      const c = withHostConfig({ PidMode: `container:${middle.Id}` });
      assert.deepEqual(runRule(rule('host_pid'), c, ctx(posture(), (id) => (id === middle.Id ? middle : undefined))), []);
    });

    it('host_userns: high when the daemon remaps, info otherwise', () => {
      const c = inspect('userns-host');
      assert.deepEqual(runRule(rule('host_userns'), c, ctx(posture(true))), ['host_userns:high']);
      assert.deepEqual(runRule(rule('host_userns'), c, ctx(posture(false))), ['host_userns:info']);
      assert.deepEqual(runRule(rule('host_userns'), inspect('userns-default'), ctx(posture(true))), []);
    });

    it('host_cgroupns: low as the cgroup v1 default, medium on cgroup v2', () => {
      const c = inspect('host-cgroupns');
      assert.equal(posture().cgroupVersion, '1');
      assert.deepEqual(runRule(rule('host_cgroupns'), c), ['host_cgroupns:low']);
      assert.deepEqual(runRule(rule('host_cgroupns'), c, ctx(posture(false, { cgroupVersion: '2' }))), ['host_cgroupns:medium']);
      assert.deepEqual(runRule(rule('host_cgroupns'), inspect('cgroupns-private')), []);
    });
  });

  describe('confinement', () => {
    it('MaskedPaths [] (systempaths=unconfined) is high; null means "not set"; privileged never', () => {
      assert.deepEqual(runRule(rule('unmasked_paths'), inspect('systempaths-unconfined')), ['unmasked_paths:high']);
      assert.deepEqual(runRule(rule('unmasked_paths'), withHostConfig({ MaskedPaths: null, ReadonlyPaths: null })), []);
      assert.deepEqual(runRule(rule('unmasked_paths'), withHostConfig({ MaskedPaths: undefined })), []);
      assert.equal(inspect('privileged').HostConfig?.MaskedPaths, null);
      assert.deepEqual(runRule(rule('unmasked_paths'), inspect('privileged')), []);
      assert.deepEqual(runRule(rule('unmasked_paths'), withHostConfig({ MaskedPaths: [] }, 'privileged')), []);
      assert.deepEqual(runRule(rule('unmasked_paths'), withHostConfig({ ReadonlyPaths: [] })), ['unmasked_paths:medium']);
    });

    it('seccomp: colon form, daemon-wide unconfined, explicit builtin overrides it', () => {
      const hits = rule('seccomp_unconfined').check(inspect('seccomp-unconfined-colon'), ctx());
      assert.deepEqual(hits[0]?.evidence, { 'HostConfig.SecurityOpt': ['seccomp:unconfined'] });
      const unconfinedDaemon = ctx(posture(false, { seccompProfile: 'unconfined' }));
      assert.deepEqual(runRule(rule('seccomp_unconfined'), inspect('default'), unconfinedDaemon), ['seccomp_unconfined:high']);
      assert.deepEqual(runRule(rule('seccomp_unconfined'), withHostConfig({ SecurityOpt: ['seccomp=builtin'] }), unconfinedDaemon), []);
      // No seccomp on the daemon: high when /info said so, silent when /info is too old to say.
      assert.deepEqual(runRule(rule('seccomp_unconfined'), inspect('default'), ctx(posture(false, { seccompProfile: null }))), ['seccomp_unconfined:high']);
      assert.deepEqual(runRule(rule('seccomp_unconfined'), inspect('default'), ctx(posture(false, { seccompProfile: null, securityOptionsKnown: false }))), []);
    });

    it('seccomp: custom default-allow profile with rules is medium; its JSON is not copied into evidence', () => {
      const json = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['bpf'], action: 'SCMP_ACT_ERRNO' }] });
      const hits = rule('seccomp_unconfined').check(withHostConfig({ SecurityOpt: [`seccomp=${json}`] }), ctx());
      assert.equal(hits[0]?.severity, 'medium');
      const recorded = rule('seccomp_unconfined').check(inspect('seccomp-custom-json'), ctx());
      const ev = recorded[0]?.evidence['HostConfig.SecurityOpt'] as string[];
      assert.ok(ev[0] && ev[0].length <= 120);
      assert.deepEqual(runRule(rule('seccomp_unconfined'), withHostConfig({ SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ERRNO"}'] })), []);
    });

    it('AppArmor: only where the daemon has AppArmor; SecurityOpt or top-level profile; not privileged', () => {
      const aa = ctx(posture(false, { apparmor: true }));
      assert.deepEqual(runRule(rule('apparmor_unconfined'), inspect('apparmor-unconfined'), aa), ['apparmor_unconfined:high']);
      assert.deepEqual(runRule(rule('apparmor_unconfined'), inspect('apparmor-unconfined')), []);
      assert.deepEqual(runRule(rule('apparmor_unconfined'), withHostConfig({ SecurityOpt: ['apparmor:unconfined'] }), aa), ['apparmor_unconfined:high']);
      const top = inspect('default');
      top.AppArmorProfile = 'unconfined';
      assert.deepEqual(runRule(rule('apparmor_unconfined'), top, aa), ['apparmor_unconfined:high']);
      const priv = inspect('privileged');
      priv.AppArmorProfile = 'unconfined'; // what the daemon writes for privileged on AppArmor hosts
      assert.deepEqual(runRule(rule('apparmor_unconfined'), priv, aa), []);
      assert.deepEqual(runRule(rule('apparmor_unconfined'), inspect('default'), aa), []);
    });

    it('SELinux: label=disable, bare disable and spc_t flagged; the auto-added label=disable for pid/ipc host is not', () => {
      const se = ctx(posture(false, { selinux: true }));
      assert.deepEqual(runRule(rule('selinux_disabled'), inspect('label-disable'), se), ['selinux_disabled:medium']);
      assert.deepEqual(runRule(rule('selinux_disabled'), inspect('api-secopt-bare-disable'), se), ['selinux_disabled:medium']);
      assert.deepEqual(runRule(rule('selinux_disabled'), inspect('label-type-spc'), se), ['selinux_disabled:medium']);
      for (const name of ['host-pid', 'host-ipc', 'privileged', 'nsjoin-target']) {
        assert.deepEqual(inspect(name).HostConfig?.SecurityOpt, ['label=disable'], name);
        assert.deepEqual(runRule(rule('selinux_disabled'), inspect(name), se), [], name);
      }
      assert.deepEqual(runRule(rule('selinux_disabled'), withHostConfig({ SecurityOpt: ['label=type:container_t', 'label=level:s0:c1,c2'] }), se), []);
      assert.deepEqual(runRule(rule('selinux_disabled'), inspect('label-disable')), []); // no SELinux on the daemon
    });

    it('writable cgroups: bare and =true forms; not for privileged', () => {
      assert.deepEqual(runRule(rule('writable_cgroups'), withHostConfig({ SecurityOpt: ['writable-cgroups'] })), ['writable_cgroups:high']);
      assert.deepEqual(runRule(rule('writable_cgroups'), withHostConfig({ SecurityOpt: ['writable-cgroups=true'] })), ['writable_cgroups:high']);
      assert.deepEqual(runRule(rule('writable_cgroups'), withHostConfig({ SecurityOpt: ['writable-cgroups=false'] })), []);
      assert.deepEqual(runRule(rule('writable_cgroups'), withHostConfig({ SecurityOpt: ['writable-cgroups'] }, 'privileged')), []);
    });

    it('no-new-privileges: the daemon default counts, the container setting wins', () => {
      const nnpDaemon = ctx(posture(false, { noNewPrivileges: true }));
      assert.deepEqual(runRule(rule('no_new_privileges_unset'), inspect('default'), nnpDaemon), []);
      const off = rule('no_new_privileges_unset').check(inspect('nnp-false'), nnpDaemon);
      assert.equal(off.length, 1);
      assert.match(off[0]?.message ?? '', /explicitly disabled/);
      assert.deepEqual(off[0]?.evidence['HostConfig.SecurityOpt'], ['no-new-privileges=false']);
      assert.deepEqual(runRule(rule('no_new_privileges_unset'), inspect('nnp-colon-true')), []);
      // Non-root user: low.
      assert.deepEqual(runRule(rule('no_new_privileges_unset'), withHostConfig({ SecurityOpt: null }, 'hardened')), ['no_new_privileges_unset:low']);
    });
  });

  describe('devices, sysctls, limits, user', () => {
    it('devices: block and memory devices critical, common ones medium, cgroup rules by type', () => {
      const devices = (p: string) => withHostConfig({ Devices: [{ PathOnHost: p, PathInContainer: p, CgroupPermissions: 'rwm' }] });
      assert.deepEqual(runRule(rule('device_access'), devices('/dev/sda')), ['device_access:critical']);
      assert.deepEqual(runRule(rule('device_access'), devices('/dev/nvme0n1')), ['device_access:critical']);
      assert.deepEqual(runRule(rule('device_access'), devices('/dev/mem')), ['device_access:critical']);
      assert.deepEqual(runRule(rule('device_access'), devices('/dev/kmsg')), ['device_access:medium']);
      assert.deepEqual(runRule(rule('device_access'), withHostConfig({ DeviceCgroupRules: ['b 8:* rwm'] })), ['device_access:critical']);
      assert.deepEqual(runRule(rule('device_access'), withHostConfig({ DeviceCgroupRules: ['c 10:200 rwm'] })), ['device_access:medium']);
      assert.deepEqual(runRule(rule('device_access'), withHostConfig({ Devices: [{ PathOnHost: '/dev/sda' }] }, 'privileged')), []);
    });

    it('sysctls: low when namespaced, medium when the namespace is the host one or it is not namespaced', () => {
      assert.deepEqual(runRule(rule('unsafe_sysctl'), inspect('sysctl-msgmax')), ['unsafe_sysctl:low']);
      assert.deepEqual(runRule(rule('unsafe_sysctl'), withHostConfig({ Sysctls: { 'kernel.msgmax': '1' }, IpcMode: 'host' })), ['unsafe_sysctl:medium']);
      assert.deepEqual(runRule(rule('unsafe_sysctl'), withHostConfig({ Sysctls: { 'net.ipv4.ip_forward': '1' }, NetworkMode: 'host' })), ['unsafe_sysctl:medium']);
      assert.deepEqual(runRule(rule('unsafe_sysctl'), withHostConfig({ Sysctls: { 'vm.swappiness': '1' } })), ['unsafe_sysctl:medium']);
      assert.deepEqual(runRule(rule('unsafe_sysctl'), withHostConfig({ Sysctls: { 'net/ipv4/ip_unprivileged_port_start': '0' } })), []);
      assert.deepEqual(runRule(rule('unsafe_sysctl'), inspect('sysctl-safe')), []);
    });

    it('PidsLimit: null, missing, 0 and -1 are unlimited; a wrong type is unknown', () => {
      for (const v of [null, undefined, 0, -1]) {
        assert.deepEqual(runRule(rule('no_pids_limit'), withHostConfig({ PidsLimit: v })), ['no_pids_limit:low'], String(v));
      }
      assert.deepEqual(runRule(rule('no_pids_limit'), withHostConfig({ PidsLimit: 100 })), []);
      assert.deepEqual(runRule(rule('no_pids_limit'), withHostConfig({ PidsLimit: '100' })), []);
    });

    it('root user forms', () => {
      const as = (user: unknown) => {
        const c = inspect('default');
        (c.Config as Record<string, unknown>).User = user;
        return runRule(rule('root_user'), c);
      };
      for (const u of ['', 'root', '0', '0:0', 'root:root', '0:1000']) assert.deepEqual(as(u), ['root_user:medium'], u);
      for (const u of ['1000', 'app', '1000:0', 'nobody', '10', 'rooty']) assert.deepEqual(as(u), [], u);
      assert.deepEqual(as(0), []); // wrong type: unknown, not root
    });
  });

  describe('remapped root (through the audit engine)', () => {
    it('root-sensitive rules drop a step under userns-remap; --userns=host keeps them', () => {
      const remapped = ctx(posture(true));
      const plain = auditContainer(inspect('userns-default'), remapped).map((f) => `${f.rule}:${f.severity}`);
      assert.ok(plain.includes('root_user:low'), plain.join(' '));
      const optedOut = auditContainer(inspect('userns-host-privileged'), remapped).map((f) => `${f.rule}:${f.severity}`);
      assert.ok(optedOut.includes('privileged:critical'), optedOut.join(' '));
      assert.ok(optedOut.includes('root_user:medium'), optedOut.join(' '));
    });
  });

  describe('untrusted input', () => {
    const junk: unknown[] = [
      {},
      { Id: 'x' },
      { Id: 'x', HostConfig: null, Mounts: null, Config: null },
      { Id: 'x', HostConfig: 'nope', Mounts: 'nope', Config: 'nope' },
      { Id: 'x', HostConfig: [], Mounts: {}, Config: [] },
      {
        Id: 'x',
        AppArmorProfile: 5,
        HostConfig: {
          Privileged: 'true',
          CapAdd: 'ALL',
          CapDrop: [null, 1],
          SecurityOpt: [null, 5, {}, 'seccomp', '=', ':', 'label='],
          PidMode: 42,
          NetworkMode: 'container:',
          IpcMode: ['host'],
          Devices: [null, 'x', { PathOnHost: 3 }, { PathOnHost: 'relative' }],
          DeviceCgroupRules: [7, ''],
          MaskedPaths: 'x',
          Sysctls: ['a'],
          PidsLimit: {},
          Memory: '0',
          CgroupnsMode: null,
        },
        Mounts: [null, 1, 'x', { Type: 'bind', Source: 5 }, { Type: 'bind', Source: '' }, { Type: 'bind' }, { Propagation: 7 }],
        Config: { User: ['root'], Env: null },
      },
    ];

    it('no rule throws on malformed inspect JSON', () => {
      const contexts = [ctx(), ctx(posture(true, { apparmor: true, selinux: true })), { posture: {} as never, lookup: () => undefined }];
      for (const c of junk) {
        for (const context of contexts) {
          for (const r of containerRules) {
            assert.doesNotThrow(() => r.check(c as ContainerInspect, context), r.id);
            assert.ok(Array.isArray(r.check(c as ContainerInspect, context)), r.id);
          }
        }
      }
    });

    it('string "true" is not Privileged: true', () => {
      assert.deepEqual(runRule(rule('privileged'), junk[5] as ContainerInspect), []);
    });

    it('environment values never reach evidence', () => {
      const c = withHostConfig({ Privileged: true, CapAdd: ['SYS_ADMIN'], PidMode: 'host', SecurityOpt: ['seccomp=unconfined'] });
      c.Config = { ...c.Config, Env: ['DB_PASSWORD=hunter2-secret', 'PATH=/bin'] };
      c.Mounts = [{ Type: 'bind', Source: '/etc', Destination: '/etc2', RW: true }];
      const all = JSON.stringify(containerRules.flatMap((r) => r.check(c, ctx())));
      assert.ok(!all.includes('hunter2'));
      assert.ok(run(c).includes('privileged:critical'));
    });
  });
});
