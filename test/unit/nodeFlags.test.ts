// Every way the daemon is started gives node the same flags, so that what the benchmarks measure is
// what hosts run (a flag missing from one launcher would silently cost ~25 MiB there).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { NODE_FLAGS } from '../../bench/lib.js';

describe('node flags of every launcher', () => {
  const launchers: { file: string; line: RegExp }[] = [
    { file: 'systemd/rootwatch.service', line: /^Environment=NODE_OPTIONS=(.*)$/m },
    { file: 'scripts/package-deb.sh', line: /^exec \/usr\/lib\/rootwatch\/node (.*) \/usr\/lib\/rootwatch\/app\/dist\/src\/main\.js "\$@"$/m },
    { file: 'scripts/run.sh', line: /^exec node (.*) dist\/src\/main\.js /m },
  ];
  for (const { file, line } of launchers) {
    it(`${file} passes ${NODE_FLAGS.join(' ')}`, () => {
      const m = line.exec(readFileSync(file, 'utf8'));
      assert.ok(m, `no launcher line in ${file}`);
      assert.deepEqual(m[1]?.split(' '), NODE_FLAGS);
    });
  }

  it('the flags are accepted by this node, also from NODE_OPTIONS', () => {
    assert.ok(process.allowedNodeEnvironmentFlags.has(NODE_FLAGS[0]?.split('=')[0] ?? ''));
  });
});
