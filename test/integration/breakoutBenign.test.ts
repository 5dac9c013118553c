// Everyday Docker operations on running containers must not page: a corpus of what SREs and Docker
// itself do every day, run against the plain and the userns-remapped private engine with the daemon
// watching (process events and fast polling). No breakout metric may move and no breakout alert may be
// logged. The test cannot pass by the metric going missing: the breakout families must be exported,
// scans must have run during the corpus, and a positive control at the end (a host process executing
// a container's binary) must be counted by the same daemon.
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { auditdAvailable, ensureAuditd, type AuditdHandle } from '../harness/auditd.js';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';
import { BREAKOUT_REASONS } from '../../src/breakout/types.js';

const execFileP = promisify(execFile);

/** Every breakout counter series, by reason; throws when the family is not exported at all. */
function breakoutCounters(text: string): Map<string, number> {
  assert.match(text, /^# TYPE rootwatch_breakout_detections_total counter$/m, 'breakout counter family exported');
  assert.match(text, /^# TYPE rootwatch_breakout_processes gauge$/m, 'breakout gauge family exported');
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^rootwatch_breakout_detections_total\{reason="([^"]+)"\} (\S+)$/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

function breakoutGaugeLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('rootwatch_breakout_processes{'));
}

function scans(text: string): number {
  // Every pass, full and light.
  const full = sample(text, 'rootwatch_proc_scan_duration_seconds_count', { pass: 'full' });
  assert.notEqual(full, null, 'scan duration histogram exported');
  return (full as number) + (sample(text, 'rootwatch_proc_scan_duration_seconds_count', { pass: 'light' }) ?? 0);
}

/** The corpus: ≥ 12 everyday operations on a running container `name`. */
async function corpus(eng: PrivateEngine, name: string, work: string): Promise<string[]> {
  const done: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    if (process.env.RW_DEBUG) console.log(`  … ${what}`);
    await fn();
    done.push(what);
  };
  const cli = (...a: string[]): Promise<string> => eng.cli(...a);
  writeFileSync(join(work, 'in.txt'), 'hello\n');
  const id = await cli('inspect', '-f', '{{.Id}}', name);
  const upper = await cli('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id);
  const merged = await cli('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', id);

  await step('cp in (file)', () => cli('cp', join(work, 'in.txt'), `${name}:/tmp/in.txt`));
  await step('cp in (directory)', () => cli('cp', work, `${name}:/tmp/dir`));
  await step('cp out', () => cli('cp', `${name}:/tmp/in.txt`, join(work, 'out.txt')));
  await step('cp out (stdout tar)', () => execFileP('docker', ['-H', eng.dockerHost, 'cp', `${name}:/bin/busybox`, '-'], { maxBuffer: 64 << 20 }));
  await step('export', () => execFileP('docker', ['-H', eng.dockerHost, 'export', '-o', join(work, 'export.tar'), name], { maxBuffer: 1 << 20 }));
  await step('diff', () => cli('diff', name));
  await step('exec as root', () => cli('exec', name, 'sh', '-c', 'id; ls -la / >/dev/null; cat /tmp/in.txt'));
  await step('exec -u 1000 -w /tmp', () => cli('exec', '-u', '1000', '-w', '/tmp', name, 'id'));
  await step('exec -e, detached', () => cli('exec', '-d', '-e', 'X=1', name, 'sleep', '1'));
  await step('top', () => cli('top', name));
  await step('stats --no-stream', () => cli('stats', '--no-stream', name));
  await step('logs', () => cli('logs', '--tail', '5', name));
  await step('inspect', () => cli('inspect', name));
  await step('port', () => cli('port', name));
  await step('kill -s HUP', () => cli('kill', '-s', 'HUP', name));
  await step('pause/unpause', async () => {
    await cli('pause', name);
    await cli('unpause', name);
  });
  await step('update --memory', () => cli('update', '--memory', '96m', '--memory-swap', '192m', name));
  await step('commit', () => cli('commit', name, `rw-benign-commit:${name}`));
  await step('rename (and back)', async () => {
    await cli('rename', name, `${name}-renamed`);
    await cli('rename', `${name}-renamed`, name);
  });
  // An administrator looking at the container's files from the host.
  await step('host ls/du/cat/find on upper and merged dirs', async () => {
    await execFileP('ls', ['-la', upper, merged]);
    await execFileP('du', ['-sh', upper, merged]);
    await execFileP('cat', [join(merged, 'tmp/in.txt')]);
    await execFileP('find', [upper, '-maxdepth', '3']);
    await execFileP('sh', ['-c', `cat ${merged}/tmp/in.txt >/dev/null; ls ${upper}`]);
  });
  await step('attach (no stdin) for a moment', async () => {
    const child = spawn('docker', ['-H', eng.dockerHost, 'attach', '--no-stdin', '--sig-proxy=false', name], { stdio: 'ignore' });
    await sleep(500);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  });
  await step('debug container sharing the pid namespace, working in /proc/1/root', async () => {
    await cli('run', '--rm', '--pid', `container:${name}`, TEST_IMAGE, 'sh', '-c', 'cd /proc/1/root/tmp && ls >/dev/null && sleep 1.5');
  });
  await step('restart', () => cli('restart', '-t', '1', name));
  await step('exec after restart', () => cli('exec', name, 'true'));
  await step('cp in after restart', () => cli('cp', join(work, 'in.txt'), `${name}:/tmp/again.txt`));
  return done;
}

// The third run: the same corpus with the kernel audit source on beside auditd (issue 13), whose
// records (every runtime mount, the exec's setns calls) are judged too.
for (const { kind, audit } of [{ kind: 'default', audit: false }, { kind: 'userns', audit: false }, { kind: 'default', audit: true }] as const) {
  describe(`everyday Docker operations do not page (${kind} engine${audit ? ', audit source on' : ''})`, function () {
    let eng: PrivateEngine;
    let d: TestDaemon;
    let work: string;
    let auditd: AuditdHandle | null = null;

    before(async function () {
      requireDocker(this);
      eng = await engine(kind);
      if (audit) {
        if (!auditdAvailable()) assert.fail('auditd is not installed (scripts/setup-system.sh installs it)');
        auditd = await ensureAuditd();
      }
      d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '200ms', host_reference_pid: eng.pid(), ...(audit ? { audit: 'on' } : {}) } });
      if (audit) assert.equal(d.logs.find((l) => l.event === 'audit_source')?.state, 'active', 'the audit source runs');
      work = mkdtempSync('/tmp/rw-benign-');
      chmodSync(work, 0o755); // a remapped container's root (uid 100000) reads its bind mount too
    });

    after(async () => {
      await d?.stop();
      await auditd?.restore();
      if (eng) {
        await eng.cli('rm', '-f', 'benign-ops', 'benign-health').catch(() => undefined);
        await eng.cli('rmi', '-f', 'rw-benign-commit:benign-ops').catch(() => undefined);
        await eng.cli('volume', 'rm', '-f', 'rw-benign-vol').catch(() => undefined);
      }
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('a corpus of ≥ 12 operations moves no breakout metric and logs no breakout alert; a positive control is counted', async function () {
      this.timeout(240_000);
      // A declared bind and a named volume: host filesystems the container was given on purpose.
      await eng.cli('run', '-d', '--name', 'benign-ops', '--init', '-v', `${work}:/data:ro`, '-v', 'rw-benign-vol:/vol', '-w', '/data', TEST_IMAGE, 'sh', '-c', 'trap "echo hup" HUP; while true; do echo tick; sleep 0.5; done');
      await eng.cli('run', '-d', '--name', 'benign-health', '--health-cmd', 'ls / >/dev/null', '--health-interval', '1s', '--health-retries', '1', TEST_IMAGE, 'sleep', '600');
      const id = await eng.cli('inspect', '-f', '{{.Id}}', 'benign-ops');
      await waitFor(async () => (await d.metrics()).includes(id.slice(0, 12)), 'containers audited');
      const before = await d.metrics();
      const countersBefore = breakoutCounters(before);
      const scansBefore = scans(before);

      const done = await corpus(eng, 'benign-ops', work);
      assert.ok(done.length >= 12, `corpus ran ${done.length} operations`);
      // Healthchecks run every second meanwhile; give the last events and scans time to be judged.
      await waitFor(async () => (await eng.cli('inspect', '-f', '{{.State.Health.Status}}', 'benign-health')) === 'healthy', 'healthcheck ran', 20_000);
      await sleep(1500);

      const after = await d.metrics();
      assert.ok(scans(after) > scansBefore + 5, 'breakout scans ran during the corpus');
      const breakoutAlerts = d.alerts().filter((a) => (BREAKOUT_REASONS as readonly string[]).includes(String(a.rule)));
      assert.deepEqual(breakoutAlerts, [], `no breakout alert during: ${done.join(', ')}`);
      assert.deepEqual([...breakoutCounters(after)], [...countersBefore], 'no breakout counter moved');
      assert.deepEqual(breakoutGaugeLines(after), [], 'no breakout process is active');
      if (audit) {
        // The audit source judged records during the corpus (the exec's setns calls, runc's mounts).
        const copied = (n: string): number => sample(n, 'rootwatch_audit_records_total', { outcome: 'copied' }) ?? 0;
        assert.ok(copied(after) > copied(before), `audit records judged during the corpus: ${copied(after) - copied(before)}`);
      }

      // Positive control: a host process executing the container's own busybox is counted, so the
      // silence above is the detectors' judgement, not a daemon that counts nothing.
      const merged = await eng.cli('inspect', '-f', '{{.GraphDriver.Data.MergedDir}}', id);
      const ctl = spawn(join(merged, 'bin/busybox'), ['sleep', '5'], { stdio: 'ignore' });
      try {
        await waitFor(async () => (breakoutCounters(await d.metrics()).get('container_binary_on_host') ?? 0) > (countersBefore.get('container_binary_on_host') ?? 0), 'positive control counted', 5000);
        const alert = d.alerts('container_binary_on_host').find((a) => (a.evidence as Record<string, unknown>).pid === ctl.pid);
        assert.ok(alert, 'the control is named by pid');
        assert.equal((alert.container as { id: string }).id, id);
      } finally {
        ctl.kill('SIGKILL');
      }
      // The same binary run through /proc/<init>/root: the kernel then reports "/bin/busybox", a path
      // that reads like the host's own; the executable's device gives it away.
      const initPid = await eng.cli('inspect', '-f', '{{.State.Pid}}', id);
      const viaRoot = spawn(`/proc/${initPid}/root/bin/busybox`, ['sleep', '5'], { stdio: 'ignore' });
      try {
        await waitFor(() => d.alerts('container_binary_on_host').some((a) => (a.evidence as Record<string, unknown>).pid === viaRoot.pid), 'binary run through /proc/<pid>/root detected', 5000);
        const alert = d.alerts('container_binary_on_host').find((a) => (a.evidence as Record<string, unknown>).pid === viaRoot.pid);
        assert.equal((alert?.evidence as Record<string, unknown>).matched_by, 'executable_device');
        assert.equal((alert?.container as { id: string }).id, id);
      } finally {
        viaRoot.kill('SIGKILL');
      }
      assert.ok(readFileSync(join(work, 'out.txt'), 'utf8').includes('hello'), 'cp out really copied');
    });
  });
}
