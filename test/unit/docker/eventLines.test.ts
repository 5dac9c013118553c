import { strict as assert } from 'node:assert';
import { EventLineSplitter, MAX_EVENT_BYTES } from '../../../src/docker/eventLines.js';
import type { DockerEvent } from '../../../src/model/dockerTypes.js';
import { baseAction } from '../../../src/docker/dockerWatcher.js';

function collect(): { events: DockerEvent[]; bad: string[]; s: EventLineSplitter } {
  const events: DockerEvent[] = [];
  const bad: string[] = [];
  return { events, bad, s: new EventLineSplitter({ event: (e) => events.push(e), malformed: (r) => bad.push(r) }) };
}

describe('Docker event stream splitting', () => {
  it('joins an event split over two chunks and splits two events in one chunk', () => {
    const { events, bad, s } = collect();
    s.push('{"Action":"start","time":10');
    s.push('00}\n{"Action":"die","time":2000}\n');
    assert.deepEqual(events.map((e) => `${e.Action}@${e.time}`), ['start@1000', 'die@2000']);
    assert.equal(bad.length, 0);
  });

  it('reports malformed lines and carries on', () => {
    const { events, bad, s } = collect();
    s.push('not json\n[1,2]\n{"Action":"start"}\n');
    assert.equal(events.length, 1);
    assert.deepEqual(bad, ['event line is not valid JSON', 'event line is not a JSON object']);
  });

  it('drops an over-long line without growing the buffer without bound', () => {
    const { events, bad, s } = collect();
    s.push('x'.repeat(MAX_EVENT_BYTES + 10));
    s.push('still the same line\n{"Action":"stop"}\n');
    assert.equal(bad.length, 1);
    assert.deepEqual(events.map((e) => e.Action), ['stop']);
  });

  it('warns once for a 50 MB line that arrives in 64 KiB chunks, and reads the event after it', () => {
    const { events, bad, s } = collect();
    const chunk = 'y'.repeat(64 * 1024);
    for (let sent = 0; sent < 50 * 1024 * 1024; sent += chunk.length) s.push(chunk);
    s.push('tail of the long line\n{"Action":"start"}\n');
    assert.deepEqual(bad, [`event line longer than ${MAX_EVENT_BYTES} bytes dropped`]);
    assert.deepEqual(events.map((e) => e.Action), ['start']);
  });

  it('normalises actions to a bounded set', () => {
    assert.equal(baseAction('exec_start: sh -c id'), 'exec_start');
    assert.equal(baseAction('health_status: healthy'), 'health_status');
    assert.equal(baseAction('evil"\n{label}'), 'other');
    assert.equal(baseAction(42), 'other');
  });
});
