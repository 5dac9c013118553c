import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError, loadConfig, validateConfig } from '../../../src/config/load.js';
import { parseDuration } from '../../../src/config/duration.js';
import { MAX_YAML_BYTES } from '../../../src/config/yamlFile.js';

const dir = mkdtempSync(join(tmpdir(), 'rw-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('config', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the shipped config/rootwatch.yaml equals the built-in defaults', () => {
    assert.deepEqual(loadConfig('config/rootwatch.yaml', true), validateConfig({}, 'defaults'));
  });

  it('a missing default file means defaults; a missing explicit file is an error', () => {
    const d = loadConfig(join(dir, 'absent.yaml'), false);
    assert.equal(d.metrics.listen, '0.0.0.0:9796');
    assert.equal(d.docker.relist_interval, 300_000);
    assert.throws(() => loadConfig(join(dir, 'absent.yaml'), true), (e: Error) => e instanceof ConfigError && /cannot read config file \(ENOENT\)/.test(e.message));
  });

  it('names an unknown key with its path', () => {
    const p = file('unknown.yaml', 'docker:\n  relist_intervall: 5m\n');
    assert.throws(() => loadConfig(p, true), (e: Error) => e.message === `${p}: unknown key "docker.relist_intervall"`);
  });

  it('names a key with a wrong type', () => {
    const p = file('type.yaml', 'docker:\n  inspect_concurrency: lots\n');
    assert.throws(() => loadConfig(p, true), (e: Error) => e.message.startsWith(`${p}: key "docker.inspect_concurrency":`));
  });

  it('rejects invalid YAML with a line number and no newline in the message', () => {
    const p = file('bad.yaml', 'log:\n  level: [info\n');
    assert.throws(() => loadConfig(p, true), (e: Error) => /invalid YAML at line \d+/.test(e.message) && !e.message.includes('\n'));
  });

  it('rejects a top level that is not a mapping', () => {
    const p = file('list.yaml', '- a\n- b\n');
    assert.throws(() => loadConfig(p, true), /top level must be a mapping/);
  });

  it('reports an unreadable path (a directory) in one line', () => {
    // Root can read any file whatever its mode, so a directory stands in for "unreadable".
    assert.throws(() => loadConfig(dir, true), (e: Error) => e.message === `${dir}: cannot read config file (EISDIR)`);
  });

  it('rejects a YAML alias bomb in one line (exit 2 path), without expanding it', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const p = file('bomb.yaml', `${lines.join('\n')}\n`);
    const t0 = Date.now();
    assert.throws(() => loadConfig(p, true), (e: Error) => e instanceof ConfigError && /invalid YAML: .*alias/i.test(e.message) && !e.message.includes('\n'));
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('rejects a config larger than 1 MiB before parsing it', () => {
    const p = file('huge.yaml', `# ${'x'.repeat(MAX_YAML_BYTES)}\n`);
    assert.throws(() => loadConfig(p, true), (e: Error) => e instanceof ConfigError && e.message === `${p}: config file is larger than ${MAX_YAML_BYTES} bytes`);
  });

  it('reads a character device only up to the cap (/dev/zero never ends)', () => {
    assert.throws(() => loadConfig('/dev/zero', true), (e: Error) => e instanceof ConfigError && /cannot read config file \(EFBIG\)/.test(e.message));
  });

  it('names an unknown key with control characters without printing them', () => {
    const p = file('ctl.yaml', '"evil\\e[2J\\nkey": 1\n');
    assert.throws(() => loadConfig(p, true), (e: Error) => /unknown key "evil\?\[2J\?key"/.test(e.message) && ![...e.message].some((c) => c.charCodeAt(0) < 0x20));
  });

  it('validates exceptions: reason is mandatory, a match is needed, dates are dates', () => {
    assert.throws(() => validateConfig({ exceptions: [{ rules: ['privileged'], match: { name: 'x' } }] }, 'f'), /exceptions\.0\.reason/);
    assert.throws(() => validateConfig({ exceptions: [{ rules: ['privileged'], match: {}, reason: 'r' }] }, 'f'), /at least one of name, image or label/);
    assert.throws(() => validateConfig({ exceptions: [{ rules: ['privileged'], match: { name: 'x' }, reason: 'r', expires: 'soon' }] }, 'f'), /YYYY-MM-DD/);
    const ok = validateConfig({ exceptions: [{ rules: ['privileged'], match: { label: { team: 'infra' } }, reason: 'r', expires: '2030-01-01' }] }, 'f');
    assert.equal(ok.exceptions[0]?.reason, 'r');
  });

  it('validates the response block: absent by default, defaults inside, unknown keys and bad values named in one line', () => {
    assert.equal(validateConfig({}, 'f').response, undefined);
    const r = validateConfig({ response: { rules: [{ reasons: ['host_namespace_process'], action: 'pause' }] } }, 'f').response;
    assert.deepEqual(r, {
      mode: 'dry_run', max_actions_per_minute: 5, evidence_dir: '/var/lib/rootwatch/evidence', evidence_max_bundles: 100, evidence_max_mb: 256,
      rules: [{ reasons: ['host_namespace_process'], action: 'pause' }],
    });
    const one = (config: unknown): string => {
      try {
        validateConfig(config, 'f');
      } catch (e) {
        assert.ok(!(e as Error).message.includes('\n'), 'one line');
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    const rule = { reasons: ['host_namespace_process'], action: 'pause' };
    assert.match(one({ response: { rules: [rule], dryrun: true } }), /unknown key "response\.dryrun"/);
    assert.match(one({ response: { rules: [{ ...rule, actoin: 'kill' }] } }), /unknown key "response\.rules\.0\.actoin"/);
    assert.match(one({ response: { rules: [{ ...rule, match: { name: 'x', labels: {} } }] } }), /unknown key "response\.rules\.0\.match\.labels"/);
    assert.match(one({ response: { rules: [{ ...rule, action: 'destroy' }] } }), /response\.rules\.0\.action/);
    assert.match(one({ response: { rules: [{ ...rule, reasons: ['host_namespace'] }] } }), /response\.rules\.0\.reasons\.0/);
    assert.match(one({ response: { rules: [{ ...rule, match: {} }] } }), /response\.rules\.0\.match.*at least one of name, image or label/);
    assert.match(one({ response: { mode: 'on', rules: [rule] } }), /response\.mode/);
    assert.match(one({ response: { max_actions_per_minute: 0, rules: [rule] } }), /response\.max_actions_per_minute/);
    assert.match(one({ response: { evidence_dir: 'evidence', rules: [rule] } }), /response\.evidence_dir.*absolute/);
    assert.match(one({ response: { rules: [] } }), /response\.rules/);
    assert.match(one({ response: { mode: 'enforce' } }), /response\.rules/);
  });

  it('parses durations like Prometheus', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.throws(() => parseDuration('5 minutes'), /not a duration/);
    assert.throws(() => validateConfig({ docker: { relist_interval: 'often' } }, 'f'), /docker\.relist_interval/);
  });
});
