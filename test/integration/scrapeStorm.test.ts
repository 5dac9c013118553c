// Scrapes are read-only: a storm of /metrics requests (50 a second for 10 s) must not make rootwatch
// scan, drain process events or log anything, and a breakout in the middle of it is still reported
// once, as without the storm.
import { strict as assert } from 'node:assert';
import { engine, requireDocker } from '../harness/engines.js';
import { TEST_IMAGE, sleep, type PrivateEngine } from '../harness/privateDockerd.js';
import { sample, startTestDaemon, type TestDaemon } from '../harness/testDaemon.js';
import { waitFor } from '../harness/waitFor.js';

describe('a scrape storm', function () {
  this.timeout(120_000);
  let eng: PrivateEngine;
  let d: TestDaemon;

  before(async function () {
    requireDocker(this);
    eng = await engine('default');
    d = await startTestDaemon(eng.dockerHost, { breakout: { interval: '1s', host_reference_pid: eng.pid() } });
  });
  after(async () => {
    await d?.stop();
    await eng?.cli('rm', '-f', 'storm-escape').catch(() => undefined);
  });

  it('50 scrapes a second for 10 s run no scan and log nothing; a breakout during it is reported once', async () => {
    const id = await eng.cli('run', '-d', '--name', 'storm-escape', '--pid=host', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
      '--security-opt', 'seccomp=unconfined', TEST_IMAGE, 'sleep', '600');
    await waitFor(() => d.logs.some((l) => l.event === 'container_audited'), 'container audited');
    await sleep(1500);
    const scans = async (): Promise<number> => {
      const text = await d.metrics();
      const v = sample(text, 'rootwatch_proc_scan_duration_seconds_count', { pass: 'full' });
      assert.notEqual(v, null, 'the scan histogram exists');
      return (v as number) + (sample(text, 'rootwatch_proc_scan_duration_seconds_count', { pass: 'light' }) ?? 0);
    };
    const scans0 = await scans();
    const lines0 = d.logs.length;
    const t0 = Date.now();
    let scrapes = 0;
    let failed = 0;
    let escaped = false;
    while (Date.now() - t0 < 10_000) {
      const tick = Date.now();
      const res = await fetch(`${d.base}/metrics`).catch(() => null);
      if (res?.status === 200) {
        await res.text();
        scrapes++;
      } else failed++;
      if (!escaped && Date.now() - t0 > 5000) {
        escaped = true;
        await eng.cli('exec', '-d', 'storm-escape', 'nsenter', '-t', String(eng.pid()), '-m', '-u', '-i', '-n', 'sleep', '20');
      }
      await sleep(Math.max(0, 20 - (Date.now() - tick)));
    }
    const elapsed = (Date.now() - t0) / 1000;
    assert.equal(failed, 0);
    assert.ok(scrapes >= 300, `${scrapes} scrapes in ${elapsed.toFixed(1)} s`);
    // The 1 s scan kept its own pace (a full scan may follow the breakout's process events): nowhere
    // near one per scrape.
    const ran = (await scans()) - scans0;
    assert.ok(ran <= elapsed + 4, `${ran} scans during ${scrapes} scrapes`);
    await waitFor(() => d.alerts('host_namespace_process').some((a) => (a.container as { id: string } | null)?.id === id), 'the breakout during the storm is alerted', 10_000);
    const mine = d.alerts('host_namespace_process').filter((a) => (a.container as { id: string } | null)?.id === id);
    const pids = mine.map((a) => (a.evidence as Record<string, unknown>).pid);
    assert.equal(new Set(pids).size, pids.length, 'once per process, however many scrapes');
    // Nothing but the breakout's own lines was logged while the storm ran.
    const other = d.logs.slice(lines0).filter((l) => l.event !== 'alert' && l.event !== 'full_scan' && l.level !== 'debug');
    assert.deepEqual(other.map((l) => l.event), []);
  });
});
