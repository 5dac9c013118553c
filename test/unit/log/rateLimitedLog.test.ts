import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../../src/log/logger.js';
import { RateLimitedLog } from '../../../src/log/rateLimitedLog.js';
import { infoProblem } from '../../../src/docker/infoProblem.js';

function capture(): { lines: Record<string, unknown>[]; limited: RateLimitedLog } {
  const lines: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  stream.on('data', (b: Buffer) => {
    for (const l of b.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { lines, limited: new RateLimitedLog(createLogger({ level: 'debug', stream }), 200) };
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('rate-limited logging of repeatable trouble', () => {
  it('logs the first of a kind at once, then one summary with the count per interval', async () => {
    const { lines, limited } = capture();
    for (let i = 0; i < 500; i++) limited.log('warning', 'docker_event_malformed', `bad line ${i}`, { event: 'docker_event_malformed' });
    await tick(20);
    assert.deepEqual(lines.map((l) => l.message), ['bad line 0']);
    await tick(250);
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.event, 'docker_event_malformed');
    assert.equal(lines[1]?.repeated, 499);
    assert.match(String(lines[1]?.message), /^499 more like this in the last 0 s: bad line 499$/);
    limited.close();
  });

  it('keeps kinds apart, and logs at once again after a quiet interval', async () => {
    const { lines, limited } = capture();
    limited.log('warning', 'docker_error/list', 'list failed', { event: 'docker_error', op: 'list' });
    limited.log('warning', 'docker_error/inspect', 'inspect failed', { event: 'docker_error', op: 'inspect' });
    await tick(20);
    assert.equal(lines.length, 2, 'one line per kind');
    await tick(450); // two intervals with nothing held back: the kind is forgotten
    limited.log('warning', 'docker_error/list', 'list failed again', { event: 'docker_error', op: 'list' });
    await tick(20);
    assert.equal(lines.at(-1)?.message, 'list failed again');
    limited.close();
  });

  it('writes what is held back on close (shutdown)', async () => {
    const { lines, limited } = capture();
    limited.log('error', 'scan_error', 'scan failed', { event: 'scan_error' });
    limited.log('error', 'scan_error', 'scan failed', { event: 'scan_error' });
    limited.close();
    await tick(20);
    assert.deepEqual(lines.map((l) => l.repeated ?? 0), [0, 1]);
  });
});

describe('telling a daemon\'s /info from junk', () => {
  it('accepts a real /info and rejects what only looks like one', () => {
    assert.equal(infoProblem({ ID: 'x', ServerVersion: '20.10', SecurityOptions: ['name=seccomp,profile=builtin'] }), null);
    assert.equal(infoProblem('a string'), 'not a JSON object');
    assert.equal(infoProblem([1, 2]), 'not a JSON object');
    assert.equal(infoProblem(null), 'not a JSON object');
    assert.equal(infoProblem({ Containers: 3 }), 'neither ServerVersion nor ID');
    assert.equal(infoProblem({ ServerVersion: '20.10', SecurityOptions: 'name=userns' }), 'SecurityOptions is not a list');
  });
});
