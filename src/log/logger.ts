// Structured logs with winston: one JSON object per line on stdout (journald stores it as MESSAGE),
// syslog levels so a level maps one-to-one onto journald's PRIORITY.
import winston from 'winston';
import { hostname } from 'node:os';
import type { Finding } from '../model/finding.js';

export type LogLevel = 'emerg' | 'alert' | 'crit' | 'error' | 'warning' | 'notice' | 'info' | 'debug';
export type Logger = winston.Logger;

/** Strip control characters so container-controlled text can never forge extra log lines. */
export function sanitize(text: string, max = 512): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** `ts` first, as the alert event schema names it (winston's own timestamp format adds "timestamp"). */
const ts = winston.format((info) => {
  info.ts = new Date().toISOString();
  return info;
});

const textLine = winston.format.printf((info) => {
  const { level, message, ts: time, ...rest } = info as Record<string, unknown>;
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  return `${String(time)} ${String(level).toUpperCase()} ${String(message)}${extra}`;
});

export function createLogger(opts: { level: LogLevel; format?: 'json' | 'text'; stream?: NodeJS.WritableStream }): Logger {
  return winston.createLogger({
    levels: winston.config.syslog.levels,
    level: opts.level,
    exitOnError: false,
    format: winston.format.combine(
      ts(),
      winston.format.errors({ stack: false }),
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
export function logAlert(logger: Logger, finding: Finding, container: AlertContainer | null): void {
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
  });
}
