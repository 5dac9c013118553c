// Every `event` value rootwatch logs, as data: the README's log-event table is generated from this
// list (npm run docs), and a unit test fails when the code logs an event that is not listed here, or
// lists one the code no longer logs. Log pipelines (journald, Loki, Elasticsearch) key on these names:
// they are a public interface, like metric names.
import type { LogLevel } from './logger.js';

export interface LogEventSpec {
  /** The syslog level (or levels) it is logged at. */
  levels: readonly LogLevel[];
  /** When it is logged. */
  when: string;
  /** Fields beyond ts, level, message and event (engine_name only on a host that follows several engines). */
  fields?: string;
  /** Logged first-then-summarised when it repeats (the summary line carries `repeated`). */
  rateLimited?: boolean;
}

export const LOG_EVENTS = {
  alert: { levels: ['crit', 'error', 'warning', 'notice'], when: 'A finding (container, exec, host) at or above audit.alert_severity, or a breakout detection. Never rate-limited.', fields: 'host, rule, severity, container {id, name, image}, evidence, cve, attack_technique, engine_name' },
  started: { levels: ['notice'], when: 'The daemon started.', fields: 'version, docker_host, listen, config_file' },
  stopped: { levels: ['notice'], when: 'The daemon stopped (SIGTERM/SIGINT).' },
  docker_connected: { levels: ['notice'], when: 'A session with the Docker engine began.', fields: 'engine (docker or podman), version, api_version, userns_remap, rootless, docker_host, engine_name (with several engines)', rateLimited: true },
  docker_disconnected: { levels: ['warning'], when: 'A connected session ended; rootwatch reconnects with backoff.', fields: 'reason, docker_host, engine_name', rateLimited: true },
  docker_unreachable: { levels: ['warning', 'debug'], when: 'The engine cannot be reached (once per distinct reason; retries at debug).', fields: 'reason, docker_host, engine_name' },
  docker_error: { levels: ['warning'], when: 'A Docker API call failed or answered something unusable.', fields: 'op, docker_host, engine_name', rateLimited: true },
  docker_event_malformed: { levels: ['warning'], when: 'A line of the event stream was dropped.', fields: 'reason, docker_host, engine_name', rateLimited: true },
  reconciled: { levels: ['info'], when: 'The running containers were listed and audited (connect, periodic re-list).', fields: 'containers, unresolved, docker_host, engine_name' },
  container_audited: { levels: ['info'], when: 'A container was audited for the first time.', fields: 'container, findings, excepted, engine_name' },
  container_gone: { levels: ['debug'], when: 'A container stopped or was removed.', fields: 'container' },
  audit_error: { levels: ['error'], when: 'A rule failed on a container (the other rules still ran).' },
  exception_expired: { levels: ['warning'], when: 'A configured exception is past its expiry date and no longer applies.', fields: 'rules, reason, expires' },
  config_reloaded: { levels: ['notice'], when: 'The config file was reloaded (file change or SIGHUP).', fields: 'config_file' },
  config_reload_failed: { levels: ['error'], when: 'A reload was rejected; the previous config stays in force.' },
  config_restart_required: { levels: ['warning'], when: 'A reload changed keys that apply only after a restart.', fields: 'keys' },
  config_watch_error: { levels: ['warning'], when: 'Watching the config file failed (SIGHUP still reloads).' },
  cve_data_reloaded: { levels: ['notice'], when: 'The CVE data files changed and the host was re-evaluated.' },
  cve_data_error: { levels: ['error'], when: 'A CVE data file is invalid; the last good data stays in use.' },
  host_exposure_error: { levels: ['error'], when: 'Evaluating the host\'s exposure failed.' },
  host_reference: { levels: ['info', 'warning'], when: 'The host\'s reference namespaces were resolved, or cannot be read (namespace checks off until they can).', fields: 'source, pid' },
  process_source: { levels: ['notice', 'warning'], when: 'At start: process events from the kernel connector, or /proc polling only and why.', fields: 'source, reason' },
  process_events_seeded: { levels: ['info'], when: 'Once after start: container processes already running were read and added to the namespace re-check (a setns without exec sends no event).', fields: 'processes' },
  audit_source: { levels: ['notice', 'info', 'warning', 'error'], when: 'breakout.audit auto or on: at start, the kernel audit source runs beside auditd (notice), or stays off and why (info; error when on); later, suspended when the audit daemon goes away (warning) and resumed when one registers (notice).', fields: 'state (active, off, suspended), reason' },
  audit_rules: { levels: ['info', 'warning'], when: 'The audit source loaded its keyed rules (each added or already present), or could not remove them.', fields: 'rules' },
  audit_unread: { levels: ['debug'], when: 'An audit record of a container process that had exited before it could be read (counted as audit_unread).' },
  audit_source_error: { levels: ['error'], when: 'The audit source could not read the audit status, add its rules or handle records.' },
  memory_trimmed: { levels: ['debug'], when: 'A burst grew the heap by 4 MiB or more and the daemon ran a memory-reducing collection (at most one per 30 s; counted by rootwatch_memory_trims_total).', fields: 'heap_before_bytes, heap_after_bytes, ms' },
  memory_trim_error: { levels: ['error'], when: 'A memory-reducing collection failed; the daemon stops trimming and runs on.' },
  process_reader: { levels: ['info', 'warning'], when: 'Once after start: the process-event reader thread runs at real-time priority (SCHED_RR 1), or at normal priority (a fork storm can then hide an escape).', fields: 'priority' },
  process_events_error: { levels: ['error'], when: 'The process-connector addon failed (filter update, event handling).' },
  scan_error: { levels: ['error'], when: 'A breakout scan or an examination of process events failed; the next runs as usual.', rateLimited: true },
  full_scan: { levels: ['debug'], when: 'A full scan runs early (process events were lost, container processes exited before they were read, an escape hook changed).' },
  hook_watch_error: { levels: ['debug'], when: 'inotify on an escape hook failed (the scan still reads it).' },
  response: { levels: ['warning', 'error'], when: 'A breakout detection matched a response rule: acted on, dry run, skipped (and why) or failed.', fields: 'outcome, action, reason, container, skip_reason, failure, latency_ms, evidence_bundle, host_process' },
  evidence_error: { levels: ['error'], when: 'An evidence bundle could not be written (the response goes on).', fields: 'evidence_bundle' },
  copies_pending: { levels: ['debug'], when: 'Process copies wait for a container not inspected yet.', fields: 'container_id' },
  copies_expired: { levels: ['debug'], when: 'Waiting process copies were dropped: their container was never inspected.' },
} as const satisfies Record<string, LogEventSpec>;

export type LogEvent = keyof typeof LOG_EVENTS;
