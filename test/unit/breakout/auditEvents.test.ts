import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { AuditEventSource, auditRefusal, type AuditEventSink } from '../../../src/breakout/auditEvents.js';
import { COUNTER_INTERVAL_MS } from '../../../src/breakout/processEvents.js';
import { createLogger } from '../../../src/log/logger.js';
import type { AuditAddon, AuditBatch, AuditRecord, AuditRuleOutcome, AuditStatus } from '../../../src/proc/auditSource.js';

const CID = 'a'.repeat(64);

/** The addon's answers, as the kernel would give them; records what rootwatch asked of it. */
class FakeAudit implements AuditAddon {
  st: AuditStatus = { enabled: 1, pid: 900, lost: 0, backlogLimit: 8192 };
  /** What the kernel already holds (present) before rootwatch adds its rules. */
  present = new Set<string>();
  loaded = new Set<string>();
  adds = 0;
  removed: string[][] = [];
  queue: AuditBatch[] = [];
  opened = false;
  status(): AuditStatus { return { ...this.st }; }
  addRules(): AuditRuleOutcome[] {
    this.adds++;
    return ['b64', 'b64-ptrace-attach', 'b32'].map((arch) => {
      const there = this.present.has(arch) || this.loaded.has(arch);
      this.loaded.add(arch);
      return { arch, outcome: there ? 'present' : 'added' };
    });
  }
  removeRules(arches: string[]): number {
    this.removed.push([...arches]);
    for (const a of arches) this.loaded.delete(a);
    return arches.length;
  }
  open(): void { this.opened = true; }
  drain(): AuditBatch { return this.queue.shift() ?? batch([]); }
  close(): void { this.opened = false; }
}

function batch(records: AuditRecord[], extra: Partial<AuditBatch> = {}): AuditBatch {
  return { records, received: 0, matched: records.length, gone: 0, ringDropped: 0, overruns: 0, throttled: 0, realtimeReader: true, ...extra };
}

function record(pid: number, r: Partial<AuditRecord>): AuditRecord {
  return { pid, ppid: 1, syscall: 308, arch: 0xc000003e, gone: false, ns: [1, 2, 3, 4, 5, 6, 7], comm: 'x', status: 'Name:\tx\n', cgroup: '', stat: '', exe: '', parentExe: '', exeId: '', parentExeId: '', parentCgroup: '', cmdline: '', ...r };
}

interface Calls { examined: number[][]; scans: string[]; lost: Record<string, number>; records: Record<string, number>; state: boolean[] }

function setup(flag: (pids: number[]) => number[] = () => []): { fake: FakeAudit; src: AuditEventSource; calls: Calls } {
  const fake = new FakeAudit();
  const calls: Calls = { examined: [], scans: [], lost: {}, records: {}, state: [] };
  const sink: AuditEventSink = {
    examine: (c) => {
      const pids = c.map((x) => x.pid);
      calls.examined.push(pids);
      return flag(pids);
    },
    fullScan: (r) => calls.scans.push(r),
    lost: (why, n) => (calls.lost[why] = (calls.lost[why] ?? 0) + n),
    records: (o, n) => (calls.records[o] = (calls.records[o] ?? 0) + n),
    state: (a) => calls.state.push(a),
  };
  const src = new AuditEventSource(sink, createLogger({ level: 'emerg', stream: new PassThrough() }), '/proc', () => ({ addon: fake, reason: 'fake' }));
  return { fake, src, calls };
}

describe('audit source (breakout.audit)', () => {
  it('stays off, touching no rule, when auditing is disabled or no audit daemon is registered', () => {
    for (const st of [{ enabled: 0, pid: 0 }, { enabled: 0, pid: 900 }, { enabled: 1, pid: 0 }]) {
      const { fake, src } = setup();
      fake.st = { ...fake.st, ...st };
      const why = src.start();
      assert.ok(why !== null && why === auditRefusal(fake.status()), `refused for ${JSON.stringify(st)}`);
      assert.equal(fake.adds, 0);
      assert.equal(fake.opened, false);
      assert.equal(src.active, false);
    }
    assert.match(String(auditRefusal({ enabled: 1, pid: 0, lost: 0, backlogLimit: 64 })), /kernel would write every record to its log/);
  });

  it('removes on stop only the rules it added, not those already loaded', () => {
    const { fake, src, calls } = setup();
    fake.present.add('b32');
    assert.equal(src.start(), null);
    assert.equal(src.active, true);
    src.stop();
    assert.deepEqual(fake.removed, [['b64', 'b64-ptrace-attach']]);
    assert.deepEqual(calls.state, [true, false]);
  });

  it('judges records it read, counts a container process gone before it was read as audit_unread, not a host one, not one already flagged', () => {
    const { fake, src, calls } = setup((pids) => pids.filter((p) => p === 10));
    assert.equal(src.start(), null);
    fake.queue.push(batch([
      record(10, { cgroup: `0::/docker/${CID}\n` }),
      // the same process's later setns records, after it exited: already flagged, no loss
      record(10, { gone: true, ns: [0, 0, 0, 0, 0, 0, 0], status: '', parentCgroup: `0::/docker/${CID}\n` }),
      // another container process, gone: a loss
      record(11, { gone: true, ns: [0, 0, 0, 0, 0, 0, 0], status: '', parentCgroup: `0::/docker/${CID}\n` }),
      // runc's own mount on the host, gone: not a loss
      record(12, { gone: true, ns: [0, 0, 0, 0, 0, 0, 0], status: '', parentCgroup: '0::/system.slice/containerd.service\n' }),
    ]));
    src.sync();
    assert.deepEqual(calls.examined, [[10]]);
    assert.deepEqual(calls.records, { copied: 1, gone: 3 });
    assert.deepEqual(calls.lost, { audit_unread: 1 });
    src.stop();
  });

  it('counts records dropped or beyond the read budget as audit_dropped and scans at once', () => {
    const { fake, src, calls } = setup();
    assert.equal(src.start(), null);
    fake.queue.push(batch([], { throttled: 500, ringDropped: 2 }));
    src.sync();
    assert.deepEqual(calls.lost, { audit_dropped: 502 });
    assert.equal(calls.scans.length, 1);
    src.stop();
  });

  it('suspends (rules removed) when the audit daemon goes away, and adds them again when one registers', async function () {
    this.timeout(5 * COUNTER_INTERVAL_MS);
    const { fake, src, calls } = setup();
    assert.equal(src.start(), null);
    fake.st = { ...fake.st, pid: 0 };
    await new Promise((r) => setTimeout(r, COUNTER_INTERVAL_MS + 200));
    assert.equal(src.active, false);
    assert.deepEqual(fake.loaded, new Set());
    fake.st = { ...fake.st, pid: 901, lost: 7 };
    await new Promise((r) => setTimeout(r, COUNTER_INTERVAL_MS + 200));
    assert.equal(src.active, true);
    assert.equal(fake.loaded.size, 3);
    assert.deepEqual(calls.state, [true, false, true]);
    src.stop();
    assert.equal(fake.loaded.size, 0);
  });
});
