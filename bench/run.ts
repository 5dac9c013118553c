// `npm run bench -- <name>...` (or `all`): runs the named benchmarks one after the other. A bench is
// any bench/<name>.ts (other than lib.ts and run.ts) exporting `main()`; it also runs on its own with
// `npx tsx bench/<name>.ts`. The npm script starts node with --expose-gc so churn can force a collection.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCleanups } from './lib.js';

const DIR = dirname(fileURLToPath(import.meta.url));
const NOT_BENCHES = new Set(['lib', 'run']);

function available(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .filter((n) => !NOT_BENCHES.has(n))
    .sort();
}

async function runAll(names: string[]): Promise<number> {
  const known = available();
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) {
    console.error(`unknown bench ${unknown.map((n) => `"${n}"`).join(', ')}; expected one of: ${known.join(', ')}, all`);
    return 2;
  }
  for (const name of names) {
    console.error(`\n### bench ${name}`);
    const mod = (await import(pathToFileURL(join(DIR, `${name}.ts`)).href)) as { main?: () => Promise<unknown> };
    if (typeof mod.main !== 'function') throw new Error(`bench/${name}.ts does not export main()`);
    await mod.main();
  }
  return 0;
}

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error(`usage: npm run bench -- <${available().join('|')}|all>...`);
  process.exit(2);
}
const names = args.includes('all') ? available() : args;
runAll(names).then(
  (code) => process.exit(code),
  async (e) => {
    console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
    await runCleanups();
    process.exit(1);
  },
);
