// One finding type everywhere: the CLI prints it, the metrics label it, the alert log carries it.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Numeric rank of a severity: info 0 … critical 4. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** One step lower (critical → high …); info stays info. */
export function lowerSeverity(s: Severity, steps = 1): Severity {
  return SEVERITIES[Math.max(0, severityRank(s) - steps)] as Severity;
}

export function isSeverity(v: unknown): v is Severity {
  return typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v);
}

/** Evidence is a flat bag of facts that justify a finding (field paths and values). */
export type Evidence = Record<string, string | number | boolean | null | string[]>;

export interface Exception {
  reason: string;
  expires?: string;
}

export interface Finding {
  /** Stable rule id (public interface: metric label, alert rules, exceptions). */
  rule: string;
  severity: Severity;
  message: string;
  evidence: Evidence;
  /** Set when an operator's exception accepts this finding; it stays visible but does not page. */
  excepted?: Exception;
  /** CVE id for host findings of rule known_cve. */
  cve?: string;
  /** MITRE ATT&CK technique id of the rule or breakout reason ("T1611"); in alert events, never a label. */
  attack?: string;
}

/** Worst first, then by rule id, so output is stable. */
export function compareFindings(a: Finding, b: Finding): number {
  return severityRank(b.severity) - severityRank(a.severity) || a.rule.localeCompare(b.rule);
}
