import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { startBenchEngine, sleep, runCleanups, TEST_IMAGE, mapLimit } from './lib.js';
const N = Number(process.env.N ?? 0);
const sleepers = Array.from({ length: Number(process.env.P ?? 0) }, () => spawn('sleep', ['600'], { stdio: 'ignore' }));
const eng = await startBenchEngine('thr');
await mapLimit(Array.from({ length: N }, (_, i) => i), 8, (i) => eng.cli('run', '-d', '--name', `p${i}`, TEST_IMAGE, 'sleep', '3600'));
writeFileSync('/tmp/exp/thr.yaml', `docker:\n  host: ${eng.dockerHost}\nmetrics:\n  listen: 127.0.0.1:19398\nbreakout:\n  interval: 1s\n  host_reference_pid: ${eng.pid()}\n  process_events: auto\n`);
const child = spawn(process.execPath, ['--max-semi-space-size=1', ...(process.env.FLAGS ?? '').split(' ').filter(Boolean), 'dist/src/main.js', '--config', '/tmp/exp/thr.yaml', 'run'], { stdio: 'ignore' });
await sleep(15_000);
const snap = (): Map<string, number> => {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${child.pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${child.pid}/task/${t}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(`${t} ${comm}`, Number(f[11]) + Number(f[12]));
    } catch { /* gone */ }
  }
  return m;
};
const S = Number(process.env.S ?? 60);
const a = snap();
await sleep(S * 1000);
const b = snap();
let total = 0;
for (const [k, v] of b) { const d = v - (a.get(k) ?? 0); total += d; if (d > 0) console.log(`${k}: ${d} ticks = ${(d / S).toFixed(2)} %`); }
console.log(`total ${total} ticks = ${(total / S).toFixed(2)} % over ${S} s`);
const st = readFileSync(`/proc/${child.pid}/status`, 'utf8');
console.log(/VmRSS.*/.exec(st)?.[0]);
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
for (const s of sleepers) s.kill();
await runCleanups();
process.exit(0);
