// Structured logs with winston: one JSON object per line on stdout (journald stores it as MESSAGE),
// syslog levels so a level maps one-to-one onto journald's PRIORITY.
import winston from 'winston';
import { hostname } from 'node:os';
import type { Finding } from '../model/finding.js';
import { sanitize } from './sanitize.js';

export { sanitize } from './sanitize.js';

export type LogLevel = 'emerg' | 'alert' | 'crit' | 'error' | 'warning' | 'notice' | 'info' | 'debug';
export type Logger = winston.Logger;

/** `ts` first, as the alert event schema names it (winston's own timestamp format adds "timestamp"). */
const ts = winston.format((info) => {
  info.ts = new Date().toISOString();
  return info;
});

/** Longest string in any log field: a megabyte-long value from outside must not become a megabyte line. */
export const MAX_LOG_FIELD = 2048;

/** Cut every string (message and fields, nested too) to MAX_LOG_FIELD characters. */
function capStrings(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > MAX_LOG_FIELD ? `${value.slice(0, MAX_LOG_FIELD)}…` : value;
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.slice(0, 256).map((v) => capStrings(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capStrings(v, depth + 1)]));
}

const capFields = winston.format((info) => {
  // winston keeps its level and message under symbols too; only the visible fields are rewritten.
  for (const key of Object.keys(info)) (info as Record<string, unknown>)[key] = capStrings(info[key], 0);
  return info;
});

const textLine = winston.format.printf((info) => {
  const { level, message, ts: time, ...rest } = info as Record<string, unknown>;
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  // JSON escapes control characters in fields; the message is printed as it is, so clean it here.
  return `${String(time)} ${String(level).toUpperCase()} ${sanitize(String(message), MAX_LOG_FIELD)}${extra}`;
});

export function createLogger(opts: { level: LogLevel; format?: 'json' | 'text'; stream?: NodeJS.WritableStream }): Logger {
  return winston.createLogger({
    levels: winston.config.syslog.levels,
    level: opts.level,
    exitOnError: false,
    format: winston.format.combine(
      ts(),
      winston.format.errors({ stack: false }),
      capFields(),
      opts.format === 'text' ? textLine : winston.format.json(),
    ),
    transports: [
      opts.stream
        ? new winston.transports.Stream({ stream: opts.stream })
        : new winston.transports.Console({ forceConsole: true }),
    ],
  });
}

/** The host name as it appears in every alert event. */
export const HOST = hostname();

export interface AlertContainer {
  id: string;
  name: string;
  image: string;
}

/**
 * The one structured alert event every detector uses:
 * {ts, level, event: "alert", host, rule, severity, container: {id, name, image}, message, evidence}.
 * Syslog level follows severity so journald priorities page-sort correctly.
 */
/** `extra`: fields a listener adds to the event (the response's evidence bundle path). */
export function logAlert(logger: Logger, finding: Finding, container: AlertContainer | null, extra: Record<string, unknown> = {}): void {
  const level: LogLevel =
    finding.severity === 'critical' ? 'crit' : finding.severity === 'high' ? 'error' : finding.severity === 'medium' ? 'warning' : 'notice';
  logger.log(level, sanitize(finding.message), {
    event: 'alert',
    host: HOST,
    rule: finding.rule,
    severity: finding.severity,
    container: container ? { id: container.id, name: sanitize(container.name, 256), image: sanitize(container.image, 256) } : null,
    evidence: finding.evidence,
    ...(finding.cve ? { cve: finding.cve } : {}),
    ...(finding.attack ? { attack_technique: finding.attack } : {}),
    ...extra,
  });
}
