// The monitoring artefacts shipped in config/ (Prometheus alert rules and their promtool unit tests, the example
// scrape config, the Grafana dashboard and provisioning) are part of the public interface: they must load,
// and every query in them must only use metrics and labels rootwatch really exports.
import { strict as assert } from 'node:assert';
import { ALL_METRICS } from '../../src/sinks/metricCatalogue.js';
import { BREAKOUT_REASONS } from '../../src/breakout/types.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export interface MetricSpec {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  labels: readonly string[];
}

/**
 * Every metric rootwatch exports, as scraped (counters with their _total suffix; histograms by base name, their
 * _bucket/_sum/_count series are derived). Target labels instance and job are added by Prometheus.
 * To be replaced by the real metric catalogue.
 */
/** The daemon's real metric catalogue: dashboards and alerts may only use what it exports. */
export const ROOTWATCH_METRICS: readonly MetricSpec[] = ALL_METRICS.map((m) => ({ name: m.name, type: m.type, labels: [...m.labels] }));

/** prom-client's collectDefaultMetrics() families (labels vary by family and are not checked). */
const DEFAULT_METRIC_PREFIXES = ['process_', 'nodejs_'];
/** Labels Prometheus attaches to every scraped series. */
const TARGET_LABELS = ['instance', 'job'];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROM_DIR = path.join(ROOT, 'config/prometheus');
const RULES_FILE = 'rootwatch.rules.yml';
const RULES_TEST_FILE = 'rootwatch.rules.test.yml';
const SCRAPE_CONFIG_FILE = 'prometheus.yml';
const DASHBOARD_FILE = path.join(ROOT, 'config/grafana/rootwatch-dashboard.json');
const RUNBOOK_PREFIX = 'https://github.com/rootwatch/rootwatch/blob/main/docs/runbooks.md#';
const RUNBOOKS_FILE = 'docs/runbooks.md';
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

// ---------------------------------------------------------------------------------------------------------------
// File shapes (only what the tests read).

interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RecordingRule {
  record: string;
  expr: string;
}
type RuleEntry = AlertingRule | RecordingRule;
interface RulesFile {
  groups: { name: string; rules: RuleEntry[] }[];
}
interface RulesTestFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] | null }[];
  }[];
}
interface DashboardTarget {
  refId?: string;
  expr?: string;
  datasource?: unknown;
}
interface DashboardPanel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { x?: unknown; y?: unknown; w?: unknown; h?: unknown };
  datasource?: unknown;
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}
interface TemplateVariable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: unknown;
}
interface Dashboard {
  id?: unknown;
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  panels?: DashboardPanel[];
  templating?: { list?: TemplateVariable[] };
  annotations?: { list?: { expr?: string; datasource?: unknown; builtIn?: number }[] };
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

function loadRules(): RulesFile {
  return parseYaml(readText(path.join(PROM_DIR, RULES_FILE))) as RulesFile;
}

function alertingRules(rules: RulesFile): AlertingRule[] {
  return rules.groups.flatMap((g) => g.rules).filter((r): r is AlertingRule => 'alert' in r);
}

function recordingRuleNames(rules: RulesFile): string[] {
  return rules.groups.flatMap((g) => g.rules).flatMap((r) => ('record' in r ? [r.record] : []));
}

function loadDashboard(): Dashboard {
  return JSON.parse(readText(DASHBOARD_FILE)) as Dashboard;
}

/** All panels, with the panels nested in (collapsed) rows. */
function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

// ---------------------------------------------------------------------------------------------------------------
// A small PromQL scanner: enough to find metric names and label names, not a parser (promtool checks syntax).

const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/** Grafana's built-in interval variables, replaced by a literal duration. */
function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{__(rate_interval|interval|range)\}/g, '5m');
}

const STRING_LITERAL = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

export interface PromqlReferences {
  metrics: string[];
  /** Label names used in selectors, per metric name ('' for selectors without a name). */
  selectorLabels: { metric: string; labels: string[] }[];
  /** Label names in by/without/on/ignoring/group_left/group_right lists. */
  groupingLabels: string[];
  /** String literals that look like label names (label_replace / label_join targets). */
  introducedLabels: string[];
}

export function promqlReferences(rawExpr: string): PromqlReferences {
  const expr = substituteGrafanaVariables(rawExpr);
  const introducedLabels = /\blabel_(replace|join)\s*\(/.test(expr)
    ? (expr.match(STRING_LITERAL) ?? []).map((s) => s.slice(1, -1)).filter((s) => /^[a-zA-Z_]\w*$/.test(s))
    : [];
  let rest = expr.replace(STRING_LITERAL, '""');

  const selectorLabels: { metric: string; labels: string[] }[] = [];
  rest = rest.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_m, metric: string | undefined, body: string) => {
    const labels = [...body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1] as string);
    selectorLabels.push({ metric: metric ?? '', labels });
    return metric ?? '';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');

  const groupingLabels: string[] = [];
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_m, _kw, list: string) => {
    groupingLabels.push(...list.split(',').map((s) => s.trim()).filter((s) => s !== ''));
    return ' ';
  });

  const metrics = new Set<string>();
  for (const m of rest.matchAll(/(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const name = m[1] as string;
    if (m[2] !== undefined || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    metrics.add(name);
  }
  for (const s of selectorLabels) if (s.metric !== '') metrics.add(s.metric);
  return { metrics: [...metrics].sort(), selectorLabels, groupingLabels, introducedLabels };
}

/** Labels a series of this name carries, or undefined when the name is not a known metric. */
function labelsOfSeries(name: string, recordingRules: readonly string[]): readonly string[] | 'any' | undefined {
  if (name === 'up') return TARGET_LABELS;
  if (DEFAULT_METRIC_PREFIXES.some((p) => name.startsWith(p))) return 'any';
  if (recordingRules.includes(name)) return 'any';
  for (const m of ROOTWATCH_METRICS) {
    if (m.name === name) return [...TARGET_LABELS, ...m.labels];
    if (m.type === 'histogram') {
      if (name === `${m.name}_bucket`) return [...TARGET_LABELS, ...m.labels, 'le'];
      if (name === `${m.name}_sum` || name === `${m.name}_count`) return [...TARGET_LABELS, ...m.labels];
    }
  }
  return undefined;
}

/** Problems with one expression's metric and label references (empty when fine). */
function checkExpression(where: string, expr: string, recordingRules: readonly string[]): string[] {
  const problems: string[] = [];
  const refs = promqlReferences(expr);
  if (refs.metrics.length === 0 && !/\b(vector|time)\s*\(/.test(expr)) {
    problems.push(`${where}: no metric referenced in ${JSON.stringify(expr)}`);
  }
  const available = new Set<string>([...TARGET_LABELS, ...refs.introducedLabels]);
  let anyLabels = false;
  for (const name of refs.metrics) {
    const labels = labelsOfSeries(name, recordingRules);
    if (labels === undefined) problems.push(`${where}: unknown metric ${name} in ${JSON.stringify(expr)}`);
    else if (labels === 'any') anyLabels = true;
    else labels.forEach((l) => available.add(l));
  }
  for (const sel of refs.selectorLabels) {
    if (sel.metric === '') continue;
    const labels = labelsOfSeries(sel.metric, recordingRules);
    if (labels === undefined || labels === 'any') continue;
    for (const l of sel.labels) {
      if (!labels.includes(l)) problems.push(`${where}: ${sel.metric} has no label ${l} (${JSON.stringify(expr)})`);
    }
  }
  if (!anyLabels) {
    for (const l of refs.groupingLabels) {
      if (!available.has(l)) problems.push(`${where}: grouping label ${l} exists on no referenced metric (${JSON.stringify(expr)})`);
    }
  }
  return problems;
}

/** Every PromQL expression in the dashboard, with where it is. */
function dashboardExpressions(dashboard: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(dashboard)) {
    for (const t of p.targets ?? []) {
      if (typeof t.expr === 'string') out.push({ where: `panel ${String(p.id)} "${String(p.title)}" ${t.refId}`, expr: t.expr });
    }
  }
  for (const a of dashboard.annotations?.list ?? []) {
    if (typeof a.expr === 'string') out.push({ where: 'annotation', expr: a.expr });
  }
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (typeof q !== 'string') continue;
    const lv = /^\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*$/.exec(q);
    if (lv) {
      // label_values(selector, label): the selector is PromQL, the label must exist on it.
      out.push({ where: `variable ${v.name}`, expr: `count by (${lv[2]}) (${lv[1]})` });
    } else if (!/^\s*label_values\(\s*[a-zA-Z_]\w*\s*\)\s*$/.test(q)) {
      out.push({ where: `variable ${v.name}`, expr: q.replace(/^\s*query_result\((.*)\)\s*$/, '$1') });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// promtool

interface RunResult {
  code: number;
  output: string;
}

function run(cmd: string, args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(err);
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

async function promtoolVersion(): Promise<string | undefined> {
  try {
    const r = await run(PROMTOOL, ['--version'], ROOT);
    return r.code === 0 ? r.output.split('\n')[0] : undefined;
  } catch {
    return undefined;
  }
}

async function assertPromtool(args: string[], cwd: string): Promise<string> {
  const r = await run(PROMTOOL, args, cwd);
  assert.equal(r.code, 0, `promtool ${args.join(' ')} (in ${cwd}) failed:\n${r.output}`);
  return r.output;
}

// ---------------------------------------------------------------------------------------------------------------

describe('monitoring artefacts', () => {
  describe('PromQL scanner', () => {
    it('finds metric names, selector labels and grouping labels', () => {
      const refs = promqlReferences(
        'histogram_quantile(0.99, sum by (instance, le) (rate(foo_seconds_bucket{job="x", a=~"$instance"}[$__rate_interval]))) ' +
          'or on (instance) bar_total offset 5m unless baz > 0',
      );
      assert.deepEqual(refs.metrics, ['bar_total', 'baz', 'foo_seconds_bucket']);
      assert.deepEqual(refs.selectorLabels, [{ metric: 'foo_seconds_bucket', labels: ['job', 'a'] }]);
      assert.deepEqual(refs.groupingLabels, ['instance', 'le', 'instance']);
    });

    it('reports unknown metrics and labels', () => {
      assert.deepEqual(checkExpression('t', 'rootwatch_findings{rule="x"}', []), []);
      assert.equal(checkExpression('t', 'rootwatch_finding{rule="x"}', []).length, 1);
      assert.equal(checkExpression('t', 'rootwatch_findings{container="x"}', []).length, 1);
      assert.equal(checkExpression('t', 'sum by (container) (rootwatch_findings)', []).length, 1);
      assert.deepEqual(checkExpression('t', 'rate(process_cpu_seconds_total{job="rootwatch"}[5m])', []), []);
    });
  });

  describe('Prometheus alert rules', () => {
    const required: Record<string, string | undefined> = {
      RootwatchBreakoutSuspected: 'critical',
      RootwatchPrivilegedContainer: 'warning',
      RootwatchDockerSocketMounted: 'warning',
      RootwatchCriticalFinding: 'warning',
      RootwatchUsernsRemapDisabled: 'info',
      RootwatchHostVulnerable: 'warning',
      RootwatchDockerDown: undefined,
      RootwatchTargetDown: undefined,
    };

    it('has the required alerts with their severities', () => {
      const alerts = alertingRules(loadRules());
      const names = alerts.map((a) => a.alert);
      assert.equal(new Set(names).size, names.length, `duplicate alert names: ${names.join(', ')}`);
      for (const [name, severity] of Object.entries(required)) {
        const a = alerts.find((r) => r.alert === name);
        assert.ok(a, `alert ${name} is missing from ${RULES_FILE}`);
        if (severity !== undefined) assert.equal(a.labels?.severity, severity, `${name} severity`);
      }
    });

    it('gives every alert a severity, a summary naming the host, a description and a runbook', () => {
      for (const a of alertingRules(loadRules())) {
        assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''), `${a.alert}: severity label`);
        const ann = a.annotations ?? {};
        assert.ok(ann.summary, `${a.alert}: summary annotation`);
        assert.ok((ann.description ?? '').length > 80, `${a.alert}: description should say what to do`);
        assert.ok(ann.runbook_url?.startsWith(RUNBOOK_PREFIX), `${a.alert}: runbook_url should start with ${RUNBOOK_PREFIX}`);
        if (!/^\s*absent\(/.test(a.expr)) {
          assert.match(ann.summary, /\{\{\s*\$labels\.instance\s*\}\}/, `${a.alert}: summary should name the host`);
        }
        if (/rootwatch_container_finding|rootwatch_breakout_processes/.test(a.expr)) {
          for (const l of ['container_name', 'image', 'container_id']) {
            assert.match(ann.summary, new RegExp(`\\$labels\\.${l}\\b`), `${a.alert}: summary should name the ${l}`);
          }
        }
      }
    });

    it('gives every alert its own runbook section with the five parts, and its runbook_url points there', () => {
      const text = readFileSync(RUNBOOKS_FILE, 'utf8');
      const sections = new Map<string, string>();
      for (const part of text.split(/^## /m).slice(1)) {
        const [title = '', ...body] = part.split('\n');
        sections.set(title.trim(), body.join('\n'));
      }
      const alerts = alertingRules(loadRules());
      for (const a of alerts) {
        const body = sections.get(a.alert);
        assert.ok(body !== undefined, `${a.alert}: no "## ${a.alert}" section in ${RUNBOOKS_FILE}`);
        for (const part of ['**What fired.**', '**Confirm.**', '**Contain.**', '**Except or silence.**']) {
          assert.ok(body.includes(part), `${a.alert}: its runbook section lacks ${part}`);
        }
        // GitHub's anchor for "## RootwatchX" is "#rootwatchx".
        assert.equal(a.annotations?.runbook_url, `${RUNBOOK_PREFIX}${a.alert.toLowerCase()}`, `${a.alert}: runbook_url`);
      }
      const names = new Set(alerts.map((a) => a.alert));
      for (const title of sections.keys()) assert.ok(names.has(title), `${RUNBOOKS_FILE} has a section "${title}" for no alert`);
    });

    it('pages on breakouts immediately and de-duplicates findings', () => {
      const alerts = alertingRules(loadRules());
      const breakout = alerts.find((a) => a.alert === 'RootwatchBreakoutSuspected');
      assert.ok(breakout);
      assert.ok(breakout.for === undefined || /^0[smh]?$/.test(breakout.for), 'RootwatchBreakoutSuspected must not wait (no for)');
      assert.match(breakout.expr, /increase\(rootwatch_breakout_detections_total\[/);
      assert.match(breakout.expr, /unless\s+rootwatch_breakout_detections_total\s+offset/);
      assert.match(breakout.expr, /rootwatch_breakout_processes/);
      const critical = alerts.find((a) => a.alert === 'RootwatchCriticalFinding');
      assert.ok(critical);
      assert.match(critical.expr, /rule!~"[^"]*privileged[^"]*"/);
      assert.match(critical.expr, /rule!~"[^"]*docker_socket_mount[^"]*"/);
    });

    it('the breakout alert\'s description names every breakout reason (a `prefix_*` covers a family)', () => {
      const breakout = alertingRules(loadRules()).find((a) => a.alert === 'RootwatchBreakoutSuspected');
      const listed = /reason label: ([^)]*)\)/.exec(breakout?.annotations?.description ?? '')?.[1]?.split(/,\s*/) ?? [];
      const covered = (r: string): boolean => listed.some((l) => l === r || (l.endsWith('*') && r.startsWith(l.slice(0, -1))));
      assert.deepEqual(BREAKOUT_REASONS.filter((r) => !covered(r)), []);
    });

    it('only references exported metrics and labels', () => {
      const rules = loadRules();
      const recorded = recordingRuleNames(rules);
      const problems = rules.groups
        .flatMap((g) => g.rules)
        .flatMap((r) => checkExpression('alert' in r ? r.alert : r.record, r.expr, recorded));
      assert.deepEqual(problems, []);
    });

    it('has a positive and a negative promtool test for every alert', () => {
      const alerts = alertingRules(loadRules()).map((a) => a.alert);
      const tests = parseYaml(readText(path.join(PROM_DIR, RULES_TEST_FILE))) as RulesTestFile;
      assert.ok(tests.rule_files.includes(RULES_FILE), `${RULES_TEST_FILE} must load ${RULES_FILE}`);
      const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
      const unknown = cases.filter((c) => !alerts.includes(c.alertname)).map((c) => c.alertname);
      assert.deepEqual(unknown, [], 'tests for alerts that do not exist');
      const missing: string[] = [];
      for (const name of alerts) {
        const mine = cases.filter((c) => c.alertname === name);
        if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) missing.push(`${name}: no case where it fires`);
        if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) missing.push(`${name}: no case where it stays quiet`);
      }
      assert.deepEqual(missing, []);
    });
  });

  describe('Prometheus scrape config', () => {
    it('scrapes job rootwatch on port 9796 every 15s and loads the rules', () => {
      const cfg = parseYaml(readText(path.join(PROM_DIR, SCRAPE_CONFIG_FILE))) as {
        global?: { scrape_interval?: string };
        rule_files?: string[];
        scrape_configs?: { job_name: string; scrape_interval?: string; static_configs?: { targets: string[] }[] }[];
      };
      assert.ok(cfg.rule_files?.includes(RULES_FILE));
      const job = cfg.scrape_configs?.find((j) => j.job_name === 'rootwatch');
      assert.ok(job, 'scrape job rootwatch');
      assert.equal(job.scrape_interval ?? cfg.global?.scrape_interval, '15s');
      const targets = (job.static_configs ?? []).flatMap((s) => s.targets);
      assert.ok(targets.length > 0 && targets.every((t) => t.endsWith(':9796')), `targets on port 9796: ${targets.join(', ')}`);
    });
  });

  describe('Grafana dashboard', () => {
    it('is importable: id null, stable uid, title, schemaVersion', () => {
      const d = loadDashboard();
      assert.equal(d.id, null);
      assert.equal(d.uid, 'rootwatch-fleet');
      assert.ok(typeof d.title === 'string' && d.title.length > 0);
      assert.ok(typeof d.schemaVersion === 'number' && d.schemaVersion >= 36 && d.schemaVersion <= 41, 'schemaVersion ~38');
      assert.ok(Array.isArray(d.panels) && d.panels.length > 0);
    });

    it('has a prometheus datasource variable and an instance variable', () => {
      const vars = loadDashboard().templating?.list ?? [];
      const ds = vars.find((v) => v.name === 'datasource');
      assert.ok(ds, 'datasource variable');
      assert.equal(ds.type, 'datasource');
      assert.equal(ds.query, 'prometheus');
      const instance = vars.find((v) => v.name === 'instance');
      assert.ok(instance, 'instance variable');
      assert.equal(instance.type, 'query');
      assert.equal((instance.datasource as { uid?: string } | undefined)?.uid, '${datasource}');
    });

    it('has valid panels: unique ids, type, gridPos in 24 columns without overlap, ${datasource}, targets with expr', () => {
      const d = loadDashboard();
      const panels = allPanels(d);
      const ids = panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, 'panel ids must be unique');
      const boxes: { id: unknown; x: number; y: number; w: number; h: number }[] = [];
      for (const p of panels) {
        const name = `panel ${String(p.id)} "${String(p.title)}"`;
        assert.ok(Number.isInteger(p.id) && (p.id as number) > 0, `${name}: integer id`);
        assert.ok(typeof p.type === 'string' && p.type.length > 0, `${name}: type`);
        assert.ok(typeof p.title === 'string' && p.title.length > 0, `${name}: title`);
        const g = p.gridPos ?? {};
        const [x, y, w, h] = [g.x, g.y, g.w, g.h];
        assert.ok(
          [x, y, w, h].every((n) => Number.isInteger(n)) && (x as number) >= 0 && (y as number) >= 0 && (w as number) >= 1 && (h as number) >= 1,
          `${name}: gridPos`,
        );
        assert.ok((x as number) + (w as number) <= 24, `${name}: gridPos exceeds 24 columns`);
        boxes.push({ id: p.id, x: x as number, y: y as number, w: w as number, h: h as number });
        if (p.type === 'row') continue;
        assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${name}: datasource`);
        assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `${name}: targets`);
        const refIds = p.targets.map((t) => t.refId);
        assert.equal(new Set(refIds).size, refIds.length, `${name}: unique refIds`);
        for (const t of p.targets) {
          assert.ok(typeof t.refId === 'string' && t.refId.length > 0, `${name}: target refId`);
          assert.ok(typeof t.expr === 'string' && t.expr.trim().length > 0, `${name}: target expr`);
          if (t.datasource !== undefined) assert.deepEqual(t.datasource, p.datasource, `${name}: target datasource`);
        }
      }
      const top = boxes.filter((b) => (d.panels ?? []).some((p) => p.id === b.id));
      for (const [i, a] of top.entries()) {
        for (const b of top.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          assert.ok(!overlap, `panels ${String(a.id)} and ${String(b.id)} overlap`);
        }
      }
    });

    it('uses only the ${datasource} variable as a data source', () => {
      const bad: string[] = [];
      const walk = (v: unknown, at: string): void => {
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
        else if (v !== null && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            if (k === 'datasource' && x !== null && typeof x === 'object') {
              const uid = (x as { uid?: unknown }).uid;
              if (uid !== '${datasource}' && uid !== '-- Grafana --') bad.push(`${at}.datasource = ${JSON.stringify(x)}`);
            } else if (k === 'datasource' && typeof x === 'string' && x !== '${datasource}') {
              bad.push(`${at}.datasource = ${JSON.stringify(x)}`);
            }
            walk(x, `${at}.${k}`);
          }
        }
      };
      walk(loadDashboard(), '$');
      assert.deepEqual(bad, []);
    });

    it('only references exported metrics and labels', () => {
      const recorded = recordingRuleNames(loadRules());
      const exprs = dashboardExpressions(loadDashboard());
      assert.ok(exprs.length > 10);
      assert.deepEqual(
        exprs.flatMap((e) => checkExpression(e.where, e.expr, recorded)),
        [],
      );
    });

    it('covers the fleet overview: hosts, breakouts, findings, host exposure, exceptions, latency', () => {
      const exprs = dashboardExpressions(loadDashboard()).map((e) => e.expr);
      const used = new Set(exprs.flatMap((e) => promqlReferences(e).metrics));
      for (const m of [
        'up',
        'rootwatch_docker_up',
        'rootwatch_breakout_detections_total',
        'rootwatch_breakout_processes',
        'rootwatch_findings',
        'rootwatch_container_finding',
        'rootwatch_host_finding',
        'rootwatch_host_info',
        'rootwatch_findings_excepted',
        'rootwatch_audit_duration_seconds_bucket',
        'rootwatch_proc_scan_duration_seconds_bucket',
      ]) {
        assert.ok(used.has(m), `the dashboard should show ${m}`);
      }
      assert.ok(exprs.some((e) => /histogram_quantile\(/.test(e)), 'latency panels use histogram_quantile');
      assert.ok(exprs.every((e) => !/\brootwatch_\w+/.test(e) || /\$instance/.test(e)), 'every rootwatch query honours $instance');
    });
  });

  describe('Grafana provisioning', () => {
    it('has a file dashboard provider and a prometheus data source example', () => {
      const dash = parseYaml(readText(path.join(ROOT, 'config/grafana/provisioning/dashboards/rootwatch.yaml'))) as {
        apiVersion: number;
        providers: { name: string; type: string; options?: { path?: string } }[];
      };
      assert.equal(dash.apiVersion, 1);
      assert.ok(dash.providers.length > 0);
      for (const p of dash.providers) {
        assert.equal(p.type, 'file');
        assert.ok(p.options?.path, `provider ${p.name}: options.path`);
      }
      const ds = parseYaml(readText(path.join(ROOT, 'config/grafana/provisioning/datasources/prometheus.yaml'))) as {
        apiVersion: number;
        datasources: { type: string; url?: string }[];
      };
      assert.equal(ds.apiVersion, 1);
      assert.ok(ds.datasources.some((d) => d.type === 'prometheus' && typeof d.url === 'string'));
    });
  });

  describe('promtool', () => {
    before(async function () {
      const version = await promtoolVersion();
      if (version !== undefined) return;
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') {
        throw new Error(
          `promtool (${PROMTOOL}) is not installed but ROOTWATCH_REQUIRE_DOCKER=1: install it (Debian: apt-get install prometheus) or set PROMTOOL`,
        );
      }
      console.warn(`!!! SKIPPING promtool checks of config/prometheus: ${PROMTOOL} not found (set ROOTWATCH_REQUIRE_DOCKER=1 to fail instead) !!!`);
      this.skip();
    });

    it('promtool check rules accepts the alert rules', async () => {
      const out = await assertPromtool(['check', 'rules', RULES_FILE], PROM_DIR);
      assert.match(out, /SUCCESS/);
    });

    it('promtool test rules passes the alert unit tests', async () => {
      const out = await assertPromtool(['test', 'rules', RULES_TEST_FILE], PROM_DIR);
      assert.match(out, /SUCCESS/);
    });

    it('promtool checks and tests the fleet recording rules, and accepts the federation example', async () => {
      assert.match(await assertPromtool(['check', 'rules', 'rootwatch.recording.yml'], PROM_DIR), /SUCCESS: 10 rules found/);
      assert.match(await assertPromtool(['test', 'rules', 'rootwatch.recording.test.yml'], PROM_DIR), /SUCCESS/);
      assert.match(await assertPromtool(['check', 'config', 'federation.yml'], PROM_DIR), /SUCCESS/);
    });

    it('promtool check config accepts the example scrape config', async () => {
      const out = await assertPromtool(['check', 'config', SCRAPE_CONFIG_FILE], PROM_DIR);
      assert.match(out, /SUCCESS/);
    });

    it('every dashboard query is valid PromQL', async () => {
      // promtool has no query linter for offline use; recording rules get their expressions parsed.
      const exprs = dashboardExpressions(loadDashboard());
      const rules = {
        groups: [
          {
            name: 'dashboard',
            rules: exprs.map((e, i) => ({
              record: `rootwatch_dashboard_check:expr_${i}`,
              expr: substituteGrafanaVariables(e.expr).replace(/\$\{?instance\}?/g, '.*'),
            })),
          },
        ],
      };
      const dir = mkdtempSync(path.join(tmpdir(), 'rootwatch-dashboard-'));
      try {
        writeFileSync(path.join(dir, 'dashboard.rules.json.yml'), JSON.stringify(rules));
        await assertPromtool(['check', 'rules', 'dashboard.rules.json.yml'], dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
