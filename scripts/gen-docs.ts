// Regenerates the README sections that come from code: the rule, breakout reason, metric, alert and
// log-event tables, each from its catalogue. `--check` fails when the README is out of date (CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { allRules } from '../src/rules/catalogue.js';
import { ALL_METRICS } from '../src/sinks/metricCatalogue.js';
import { BREAKOUT_REASON_CATALOGUE } from '../src/breakout/reasons.js';
import { parse } from 'yaml';
import { LOG_EVENTS, type LogEventSpec } from '../src/log/logEvents.js';

const README = new URL('../README.md', import.meta.url);

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function ruleTable(): string {
  const scopeTitle = { container: 'Container', exec: 'Exec (`docker exec`)', host: 'Host / daemon' } as const;
  const out: string[] = [];
  for (const scope of ['container', 'exec', 'host'] as const) {
    out.push(`#### ${scopeTitle[scope]} rules`, '', '| id | severity | ATT&CK | title | why it matters | remediation | references |', '|---|---|---|---|---|---|---|');
    for (const r of allRules.filter((x) => x.scope === scope)) {
      const refs = [r.references.cis ? `CIS ${r.references.cis}` : '', r.references.pss ? `PSS ${r.references.pss}` : '', ...(r.references.links ?? []).map((l, i) => `[${i + 1}](${l})`)]
        .filter(Boolean).join('; ');
      const sev = `${r.severity}${r.rootSensitive ? ' ↓' : ''}`;
      out.push(`| \`${r.id}\` | ${sev} | [${r.attack.id}](https://attack.mitre.org/techniques/${r.attack.id.replace('.', '/')}/) ${cell(r.attack.name)} | ${cell(r.title)} | ${cell(r.why)} | ${cell(r.remediation)} | ${cell(refs)} |`);
    }
    out.push('');
  }
  out.push('↓: one step lower when container root is remapped (userns-remap or rootless, without `--userns=host`) or the container runs under a sandboxed runtime (gVisor, Kata). Some rules also grade each finding (for example read-only vs read-write mounts).');
  return out.join('\n');
}

export function metricTable(): string {
  const out = ['| metric | type | labels | meaning |', '|---|---|---|---|'];
  for (const m of ALL_METRICS) {
    out.push(`| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${cell(m.help)} |`);
  }
  out.push('', 'Plus prom-client\'s default `process_*` and `nodejs_*` metrics.');
  return out.join('\n');
}

export function reasonTable(): string {
  const out = ['| reason | severity | kind | ATT&CK | what it means | what to do | detector |', '|---|---|---|---|---|---|---|'];
  for (const d of BREAKOUT_REASON_CATALOGUE) {
    out.push(`| \`${d.id}\` | ${d.severity} | ${d.kind} | ${d.attack.id} ${cell(d.attack.name)} | ${cell(d.what)} | ${cell(d.action)} | ${cell(d.detector)} |`);
  }
  out.push('', 'kind: `active` detections stay in `rootwatch_breakout_processes` while the process lives (or the hook or mount is still there); `event` detections are reported once. The reason ids are a public interface (metric label `reason`, alert rules): they are never renamed.');
  return out.join('\n');
}

interface AlertRule { alert?: string; expr?: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }

export function alertTable(): string {
  const doc = parse(readFileSync(new URL('../config/prometheus/rootwatch.rules.yml', import.meta.url), 'utf8')) as { groups: { rules: AlertRule[] }[] };
  const out = ['| alert | severity | for | fires when |', '|---|---|---|---|'];
  for (const r of doc.groups.flatMap((g) => g.rules)) {
    if (!r.alert) continue;
    const summary = (r.annotations?.description ?? '').split(/(?<=\.)\s/)[0] ?? '';
    out.push(`| [\`${r.alert}\`](docs/runbooks.md#${r.alert.toLowerCase()}) | ${r.labels?.severity ?? ''} | ${r.for ?? '0'} | ${cell(summary)} |`);
  }
  return out.join('\n');
}

export function logEventTable(): string {
  const out = ['| event | level | logged when | fields |', '|---|---|---|---|'];
  for (const [name, spec] of Object.entries(LOG_EVENTS) as [string, LogEventSpec][]) {
    const when = spec.rateLimited ? `${spec.when} First-then-summary (field \`repeated\`).` : spec.when;
    out.push(`| \`${name}\` | ${spec.levels.join(', ')} | ${cell(when)} | ${spec.fields ? cell(spec.fields) : ''} |`);
  }
  return out.join('\n');
}

function replaceBetween(text: string, name: string, body: string): string {
  const begin = `<!-- BEGIN GENERATED ${name} (npm run docs) -->`;
  const end = `<!-- END GENERATED ${name} -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md lacks the ${name} markers`);
  return `${text.slice(0, i + begin.length)}\n${body}\n${text.slice(j)}`;
}

const current = readFileSync(README, 'utf8');
let next = replaceBetween(current, 'RULES', ruleTable());
next = replaceBetween(next, 'METRICS', metricTable());
next = replaceBetween(next, 'REASONS', reasonTable());
next = replaceBetween(next, 'ALERTS', alertTable());
next = replaceBetween(next, 'LOG EVENTS', logEventTable());
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error('README.md is out of date with the rule/metric catalogues: run `npm run docs` and commit.');
    process.exit(1);
  }
} else if (next !== current) {
  writeFileSync(README, next);
  console.log('README.md updated');
}
