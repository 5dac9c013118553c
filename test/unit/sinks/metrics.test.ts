// Label values come from containers and are hostile input: the exposition must stay valid.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { Metrics, type MetricsSource } from '../../../src/sinks/metrics.js';
import type { ContainerRecord } from '../../../src/model/inventory.js';
import type { Finding } from '../../../src/model/finding.js';
import { ALL_METRICS } from '../../../src/sinks/metricCatalogue.js';
import { posture } from '../rules/fixtures.js';

function record(id: string, name: string, image: string, findings: Finding[], engine = 'docker'): ContainerRecord {
  return { engine, posture: posture(), id, shortId: id.slice(0, 12), name, image, labels: {}, inspect: { Id: id }, findings };
}

const hostile = 'evil"} 1\nrootwatch_docker_up{x="\\';
const containers: ContainerRecord[] = [
  record('a'.repeat(64), hostile, 'reg.example/ünïcødé/😀:"quoted"\\back', [
    { rule: 'privileged', severity: 'critical', message: 'm', evidence: {} },
    { rule: 'sensitive_mount', severity: 'high', message: 'one', evidence: {} },
    { rule: 'sensitive_mount', severity: 'high', message: 'two', evidence: {} },
    { rule: 'host_pid', severity: 'high', message: 'm', evidence: {}, excepted: { reason: 'ok' } },
  ]),
  record('b'.repeat(64), 'x'.repeat(1000), 'img', [{ rule: 'privileged', severity: 'critical', message: 'm', evidence: {} }]),
];
const INFO = { kernel: '6.1.0-27-amd64', distro: 'Debian GNU/Linux 12', engine: 'docker', docker_version: '20.10.24+dfsg1', runc_version: '1.1.5+ds1', containerd_version: '1.6.20~ds1', cgroup_version: '2', userns_remap: 'false', rootless: 'false' };
const CVE: Finding = { rule: 'known_cve', severity: 'high', message: 'm', evidence: {}, cve: 'CVE-2024-21626' };
const source: MetricsSource = {
  engines: () => [{ name: 'docker', up: true, findings: [CVE], info: INFO }],
  containers: () => containers,
  expiredExceptions: () => 0,
  breakoutActive: () => [
    { hit: { reason: 'host_namespace_process', message: 'm', evidence: {}, container: { id: 'c'.repeat(64), name: 'web', image: 'img' } } },
    { hit: { reason: 'host_namespace_process', message: 'm', evidence: {}, container: { id: 'c'.repeat(64), name: 'web', image: 'img' } } },
    { hit: { reason: 'tripwire_changed', message: 'm', evidence: {}, container: null } },
  ],
};

function promtoolCheck(text: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      const missing = (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ code: missing ? 127 : err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
    p.stdin?.end(text);
  });
}

describe('metrics exposition', () => {
  let text = '';
  before(async () => {
    text = await new Metrics(source).registry.metrics();
  });

  it('escapes hostile label values so no line is forged', () => {
    const forged = text.split('\n').filter((l) => l.startsWith('rootwatch_docker_up{'));
    assert.deepEqual(forged, []);
    assert.ok(text.includes('container_name="evil\\"} 1\\nrootwatch_docker_up{x=\\"\\\\"'));
    assert.ok(text.includes('image="reg.example/ünïcødé/😀:\\"quoted\\"\\\\back"'));
  });

  it('caps long label values', () => {
    const line = text.split('\n').find((l) => l.includes(`container_id="${'b'.repeat(12)}"`));
    assert.ok(line, 'the long-named container has its series');
    assert.ok(line.includes(`container_name="${'x'.repeat(255)}…"`), 'its name is cut at 256 characters');
    assert.ok(line.length < 600, `line length ${line.length}`);
  });

  it('counts containers per rule once, and excepted findings separately', () => {
    assert.match(text, /^rootwatch_findings\{rule="privileged",severity="critical"\} 2$/m);
    assert.match(text, /^rootwatch_findings\{rule="sensitive_mount",severity="high"\} 1$/m);
    assert.match(text, /^rootwatch_findings_excepted\{rule="host_pid"\} 1$/m);
    assert.doesNotMatch(text, /rootwatch_container_finding\{[^}]*rule="host_pid"/);
    assert.match(text, /^rootwatch_host_finding\{rule="known_cve",severity="high",cve="CVE-2024-21626"\} 1$/m);
  });

  it('counts live breakout processes per container and reason; detection counters start at 0', () => {
    assert.match(text, /^rootwatch_breakout_processes\{container_id="cccccccccccc",container_name="web",image="img",reason="host_namespace_process"\} 2$/m);
    assert.match(text, /^rootwatch_breakout_processes\{container_id="",container_name="",image="",reason="tripwire_changed"\} 1$/m);
    assert.match(text, /^rootwatch_breakout_detections_total\{reason="kernel_helper_from_container"\} 0$/m);
  });

  it('exports every metric of the catalogue with HELP', () => {
    for (const m of ALL_METRICS) assert.ok(text.includes(`# HELP ${m.name} `), m.name);
  });

  it('passes promtool check metrics', async function () {
    const r = await promtoolCheck(text);
    if (r.code === 127) {
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') assert.fail('promtool is not installed');
      this.skip();
    }
    assert.equal(r.out.trim(), '', r.out);
    assert.equal(r.code, 0);
  });
});

describe('metrics with several engines on one host', () => {
  // dockerd and a rootless Podman, each running a container named "web".
  const web = (id: string, engine: string): ContainerRecord => record(id.repeat(64), 'web', 'img', [{ rule: 'privileged', severity: 'critical', message: 'm', evidence: {} }], engine);
  const two: ContainerRecord[] = [web('d', 'docker'), web('e', 'podman-1000')];
  const several = (up: boolean): MetricsSource => ({
    engines: () => [
      { name: 'docker', up: true, findings: [CVE], info: INFO },
      { name: 'podman-1000', up, findings: [], info: { ...INFO, engine: 'podman', docker_version: '', podman_version: '4.3.1', rootless: 'true' } },
    ],
    containers: () => two,
    expiredExceptions: () => 0,
    breakoutActive: () => [{ hit: { reason: 'host_namespace_process', message: 'm', evidence: {}, container: { id: 'e'.repeat(64), name: 'web', image: 'img' } } }],
  });

  it('labels each engine\'s series with its name, so same-named containers do not collide', async () => {
    const text = await new Metrics(several(false)).registry.metrics();
    assert.match(text, /^rootwatch_docker_up\{engine="docker"\} 1$/m);
    assert.match(text, /^rootwatch_docker_up\{engine="podman-1000"\} 0$/m, 'one engine down shows alone');
    assert.match(text, /^rootwatch_containers\{engine="docker"\} 1$/m);
    assert.match(text, /^rootwatch_containers\{engine="podman-1000"\} 1$/m);
    assert.match(text, /^rootwatch_container_finding\{container_id="dddddddddddd",container_name="web",image="img",rule="privileged",severity="critical",engine="docker"\} 1$/m);
    assert.match(text, /^rootwatch_container_finding\{container_id="eeeeeeeeeeee",container_name="web",image="img",rule="privileged",severity="critical",engine="podman-1000"\} 1$/m);
    assert.match(text, /^rootwatch_host_finding\{rule="known_cve",severity="high",cve="CVE-2024-21626",engine="docker"\} 1$/m);
    assert.match(text, /^rootwatch_breakout_processes\{[^}]*reason="host_namespace_process",engine="podman-1000"\} 1$/m);
    const info = text.split('\n').filter((l) => l.startsWith('rootwatch_host_info{'));
    assert.equal(info.length, 2, info.join('\n'));
    assert.ok(info.some((l) => l.includes('engine="podman-1000"') && l.includes('podman_version="4.3.1"')), info.join('\n'));
    // Aggregates stay per host: two containers with the rule.
    assert.match(text, /^rootwatch_findings\{rule="privileged",severity="critical"\} 2$/m);
  });

  it('adds no engine label on a host with one engine', async () => {
    const text = await new Metrics(source).registry.metrics();
    assert.deepEqual(text.split('\n').filter((l) => /^rootwatch_(?!host_info)[a-z_]+\{[^}]*engine="/.test(l)), []);
    assert.match(text, /^rootwatch_docker_up 1$/m);
    assert.match(text, /^rootwatch_host_info\{[^}]*engine="docker"/m, 'host_info keeps its engine kind');
  });

  it('passes promtool check metrics', async function () {
    const r = await promtoolCheck(await new Metrics(several(true)).registry.metrics());
    if (r.code === 127) this.skip();
    assert.equal(r.out.trim(), '', r.out);
  });
});
