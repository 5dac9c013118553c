// The log-event catalogue (src/log/logEvents.ts, the README's table) against the code: every `event`
// the code logs is listed, and every listed event is still logged somewhere.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_EVENTS } from '../../../src/log/logEvents.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('log events', () => {
  const logged = new Map<string, string>();
  for (const file of sources('src')) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bevent: '([a-z_]+)'\s*[,}]/g)) logged.set(m[1] as string, file);
  }

  it('finds the events the code logs (the scan itself works)', () => {
    assert.ok(logged.has('alert') && logged.has('started') && logged.size >= 20, `found ${[...logged.keys()].join(', ')}`);
  });

  it('lists every event the code logs', () => {
    const missing = [...logged].filter(([e]) => !(e in LOG_EVENTS)).map(([e, f]) => `${e} (${f})`);
    assert.deepEqual(missing, [], 'add these to src/log/logEvents.ts and run npm run docs');
  });

  it('lists no event the code no longer logs', () => {
    assert.deepEqual(Object.keys(LOG_EVENTS).filter((e) => !logged.has(e)), []);
  });
});
