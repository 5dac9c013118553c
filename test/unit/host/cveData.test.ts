import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  bundledCvePath,
  CveDataError,
  loadCveData,
  loadCveFile,
  mergeCveData,
  parseCveData,
} from '../../../src/host/cveData.js';
import { CVE_COMPONENTS, PREREQUISITES } from '../../../src/host/cveMatcher.js';
import { compareVersions } from '../../../src/host/versions.js';

const dir = mkdtempSync(join(tmpdir(), 'rw-cves-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Assert a CveDataError whose single-line message starts with `${source}: ` and matches `re`. */
function rejects(fn: () => unknown, source: string, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof CveDataError, `expected CveDataError, got ${e.name}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${source}: `), e.message);
    assert.match(e.message, re);
    return true;
  });
}

const ENTRY = `
  - id: CVE-2099-0001
    component: runc
    title: test
    severity: high
    affected:
      - { introduced: "1.0", fixed: "1.1" }
`;

describe('host/cveData', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('the shipped config/cves.yaml', () => {
    const data = loadCveFile('config/cves.yaml');

    it('loads and validates', () => {
      assert.ok(data.entries.length >= 24);
      assert.deepEqual(data.acks, []);
    });

    it('has every CVE the brief asks for, with the right component', () => {
      const want: Record<string, string> = {
        'CVE-2019-5736': 'runc',
        'CVE-2024-21626': 'runc',
        'CVE-2025-31133': 'runc',
        'CVE-2025-52565': 'runc',
        'CVE-2025-52881': 'runc',
        'CVE-2020-15257': 'containerd',
        'CVE-2024-25621': 'containerd',
        'CVE-2019-14271': 'engine',
        'CVE-2021-41091': 'engine',
        'CVE-2024-41110': 'engine',
        'CVE-2016-5195': 'kernel',
        'CVE-2022-0847': 'kernel',
        'CVE-2022-0492': 'kernel',
        'CVE-2022-0185': 'kernel',
        'CVE-2021-22555': 'kernel',
        'CVE-2024-1086': 'kernel',
        'CVE-2023-0386': 'kernel',
        'CVE-2022-0995': 'kernel',
        'CVE-2021-31440': 'kernel',
        'CVE-2021-3493': 'kernel',
      };
      const byId = new Map(data.entries.map((e) => [e.id, e]));
      for (const [id, component] of Object.entries(want)) assert.equal(byId.get(id)?.component, component, id);
    });

    it('every entry is well formed: references, known vocabulary, ordered non-overlapping ranges', () => {
      for (const e of data.entries) {
        assert.ok((CVE_COMPONENTS as readonly string[]).includes(e.component));
        assert.ok(e.references.some((r) => r.includes(e.id)), `${e.id} references its own record`);
        for (const p of e.prerequisites) assert.ok((PREREQUISITES as readonly string[]).includes(p));
        if (e.distro) continue; // vendor ranges use vendor versions; checked by the schema
        const uppers = e.affected.map((r) => r.fixed ?? r.last_affected);
        for (let i = 0; i + 1 < e.affected.length; i++) {
          const next = e.affected[i + 1]?.introduced;
          const upper = uppers[i];
          if (e.component === 'kernel' && next && upper) {
            assert.ok(compareVersions(upper, next) <= 0, `${e.id}: ranges ${i} and ${i + 1} overlap`);
          }
        }
      }
    });

    it('the default loader finds it next to the sources', () => {
      assert.ok(existsSync(bundledCvePath()));
      assert.equal(loadCveData().entries.length, data.entries.length);
    });
  });

  describe('validation errors name the file and the key', () => {
    it('unknown key', () => {
      const p = file('unknown.yaml', `cves:${ENTRY}    fixd: "1.2"\n`);
      rejects(() => loadCveFile(p), p, /unknown key "cves\.0\.fixd"$/);
    });

    it('unknown key inside a range', () => {
      const p = file('range-key.yaml', `cves:${ENTRY}      - { introduced: "2.0", fix: "2.1" }\n`);
      rejects(() => loadCveFile(p), p, /unknown key "cves\.0\.affected\.1\.fix"/);
    });

    it('unquoted version that YAML turns into a number', () => {
      const p = file('number.yaml', `cves:${ENTRY.replace('fixed: "1.1"', 'fixed: 5.10')}`);
      rejects(() => loadCveFile(p), p, /key "cves\.0\.affected\.0\.fixed" \(CVE-2099-0001\): write versions as quoted strings \("5\.1"\)/);
    });

    it('unparseable version', () => {
      rejects(() => parseCveData(`cves:${ENTRY.replace('"1.1"', '"soon"')}`, 'x.yaml'), 'x.yaml', /affected\.0\.fixed.*not a version/);
    });

    it('fixed not after introduced', () => {
      rejects(() => parseCveData(`cves:${ENTRY.replace('"1.1"', '"1.0.0"')}`, 'x.yaml'), 'x.yaml', /"cves\.0\.affected\.0\.fixed" \(CVE-2099-0001\): fixed must come after introduced/);
    });

    it('both fixed and last_affected, or neither bound', () => {
      rejects(() => parseCveData(`cves:${ENTRY.replace('fixed: "1.1"', 'fixed: "1.1", last_affected: "1.0.9"')}`, 'x.yaml'), 'x.yaml', /either fixed or last_affected/);
      rejects(() => parseCveData(`cves:${ENTRY.replace('{ introduced: "1.0", fixed: "1.1" }', '{}')}`, 'x.yaml'), 'x.yaml', /needs introduced, fixed or last_affected/);
    });

    it('bad enum values and ids', () => {
      rejects(() => parseCveData(`cves:${ENTRY.replace('runc', 'crun')}`, 'x.yaml'), 'x.yaml', /"cves\.0\.component"/);
      rejects(() => parseCveData(`cves:${ENTRY.replace('high', 'urgent')}`, 'x.yaml'), 'x.yaml', /"cves\.0\.severity"/);
      rejects(() => parseCveData(`cves:${ENTRY}    prerequisites: [root_in_container]\n`, 'x.yaml'), 'x.yaml', /"cves\.0\.prerequisites\.0"/);
      rejects(() => parseCveData(`cves:${ENTRY.replace('CVE-2099-0001', 'CVE-99')}`, 'x.yaml'), 'x.yaml', /"cves\.0\.id".*CVE-YYYY-NNNN/);
    });

    it('distro only on kernel entries; vendor ranges are ordered in vendor versions', () => {
      rejects(() => parseCveData(`cves:${ENTRY}    distro: ubuntu\n`, 'x.yaml'), 'x.yaml', /"cves\.0\.distro".*kernel entries only/);
      const vendor = `cves:
  - id: CVE-2021-3493
    component: kernel
    distro: ubuntu
    title: t
    severity: high
    affected: [{ introduced: "5.4", fixed: 5.4.0-72.80 }]
`;
      assert.equal(parseCveData(vendor, 'v.yaml').entries[0]?.distro, 'ubuntu');
    });

    it('references must be http(s) URLs', () => {
      rejects(() => parseCveData(`cves:${ENTRY}    references: [ftp://example.org/x]\n`, 'x.yaml'), 'x.yaml', /"cves\.0\.references\.0"/);
    });

    it('duplicate ids', () => {
      rejects(() => parseCveData(`cves:${ENTRY}${ENTRY}`, 'x.yaml'), 'x.yaml', /"cves\.1\.id" \(CVE-2099-0001\): duplicate id CVE-2099-0001/);
    });

    it('acknowledgements need a reason and a real date', () => {
      rejects(() => parseCveData('acknowledgements:\n  - cve: CVE-2024-21626\n    reason: ""\n', 'a.yaml'), 'a.yaml', /"acknowledgements\.0\.reason": reason is mandatory/);
      rejects(() => parseCveData('acknowledgements:\n  - { cve: CVE-2024-21626, reason: r, expires: soon }\n', 'a.yaml'), 'a.yaml', /"acknowledgements\.0\.expires": expected a date/);
    });

    it('invalid YAML and a non-mapping top level', () => {
      const p = file('bad.yaml', 'cves: [\n');
      rejects(() => loadCveFile(p), p, /invalid YAML at line \d+/);
      rejects(() => parseCveData('- a\n- b\n', 'list.yaml'), 'list.yaml', /top level must be a mapping/);
    });

    it('an unreadable file', () => {
      const p = join(dir, 'absent.yaml');
      rejects(() => loadCveFile(p), p, /cannot read CVE data file \(ENOENT\)/);
    });

    it('an empty file is valid and empty', () => {
      assert.deepEqual(parseCveData('', 'empty.yaml'), { entries: [], acks: [] });
    });
  });

  describe('operator file', () => {
    const bundled = file(
      'bundled.yaml',
      `cves:${ENTRY}  - id: CVE-2099-0002\n    component: engine\n    title: other\n    severity: low\n    affected: [{ fixed: "20.10.9" }]\n`,
    );

    it('an entry with an existing id replaces it in place; new ids are appended; acks add up', () => {
      const op = file(
        'op.yaml',
        `cves:
  - id: CVE-2099-0001
    component: runc
    title: replaced
    severity: critical
    affected: [{ fixed: "9.9" }]
  - id: CVE-2099-0003
    component: kernel
    title: site-specific
    severity: medium
    affected: [{ introduced: "6.1", fixed: "6.1.100" }]
acknowledgements:
  - { cve: CVE-2099-0002, reason: patched by our vendor, host: "db-*" }
`,
      );
      const data = loadCveData({ bundledPath: bundled, operatorPath: op });
      assert.deepEqual(
        data.entries.map((e) => [e.id, e.title]),
        [
          ['CVE-2099-0001', 'replaced'],
          ['CVE-2099-0002', 'other'],
          ['CVE-2099-0003', 'site-specific'],
        ],
      );
      assert.equal(data.entries[0]?.severity, 'critical');
      assert.deepEqual(data.acks, [{ cve: 'CVE-2099-0002', reason: 'patched by our vendor', host: 'db-*' }]);
    });

    it('an acknowledgement of an unknown id is refused, naming the operator file', () => {
      const op = file('typo.yaml', 'acknowledgements:\n  - { cve: CVE-2099-0001, reason: ok }\n  - { cve: CVE-2099-9999, reason: typo }\n');
      rejects(() => loadCveData({ bundledPath: bundled, operatorPath: op }), op, /key "acknowledgements\.1\.cve": unknown CVE id CVE-2099-9999/);
    });

    it('an operator file can acknowledge its own new entries', () => {
      const op = file('own.yaml', `cves:${ENTRY.replace('0001', '0042')}acknowledgements:\n  - { cve: CVE-2099-0042, reason: r }\n`);
      assert.equal(loadCveData({ bundledPath: bundled, operatorPath: op }).acks.length, 1);
    });

    it('a missing operator file is fine unless required', () => {
      const absent = join(dir, 'nope.yaml');
      assert.equal(loadCveData({ bundledPath: bundled, operatorPath: absent }).entries.length, 2);
      rejects(() => loadCveData({ bundledPath: bundled, operatorPath: absent, operatorRequired: true }), absent, /ENOENT/);
    });

    it('errors in the operator file name the operator file', () => {
      const op = file('broken.yaml', `cves:${ENTRY.replace('    title: test\n', '')}`);
      rejects(() => loadCveData({ bundledPath: bundled, operatorPath: op }), op, /"cves\.0\.title" \(CVE-2099-0001\)/);
    });

    it('mergeCveData leaves its inputs alone', () => {
      const base = parseCveData(`cves:${ENTRY}`, 'b');
      const merged = mergeCveData(base, parseCveData(`cves:${ENTRY.replace('title: test', 'title: new')}`, 'o'));
      assert.equal(base.entries[0]?.title, 'test');
      assert.equal(merged.entries[0]?.title, 'new');
    });
  });
});
