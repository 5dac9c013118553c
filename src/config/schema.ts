// The configuration schema: one place that says which keys exist, their types and their defaults.
// config/rootwatch.yaml documents the same defaults for operators; a unit test keeps the two equal.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { SEVERITIES } from '../model/finding.js';
import { BREAKOUT_REASONS } from '../breakout/types.js';
import { AUDIT_MODES } from '../breakout/auditEvents.js';

const duration = z.string().transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 0.0.0.0:9796 or [::]:9796');

/** Which containers an exception or a response rule applies to (see audit/exceptions.ts). */
const matchSchema = z.strictObject({
  name: z.string().min(1).optional(),
  image: z.string().min(1).optional(),
  label: z.record(z.string(), z.string()).optional(),
});

const exceptionSchema = z
  .strictObject({
    rules: z.array(z.string().min(1)).min(1),
    match: matchSchema
      .refine((m) => m.name !== undefined || m.image !== undefined || m.label !== undefined, {
        message: 'an exception needs at least one of name, image or label to match',
      }),
    reason: z.string().min(1, 'reason is mandatory'),
    expires: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
      .optional(),
  });

export const RESPONSE_ACTIONS = ['pause', 'stop', 'kill'] as const;
export type ResponseAction = (typeof RESPONSE_ACTIONS)[number];

const responseRuleSchema = z.strictObject({
  reasons: z.array(z.enum(BREAKOUT_REASONS)).min(1),
  action: z.enum(RESPONSE_ACTIONS),
  /** Absent: every container. Present: same matching as exceptions; an empty match is refused. */
  match: matchSchema
    .refine((m) => m.name !== undefined || m.image !== undefined || m.label !== undefined, {
      message: 'a match needs at least one of name, image or label (leave match out to match every container)',
    })
    .optional(),
});

/** Absent: rootwatch never acts on anything. */
const responseSchema = z.strictObject({
  mode: z.enum(['dry_run', 'enforce']).default('dry_run'),
  /** Actions (dry-run ones included) in any 60 s window; past it, detections are logged and skipped. */
  max_actions_per_minute: z.number().int().min(1).max(1000).default(5),
  evidence_dir: z.string().regex(/^\/./, 'expected an absolute path').default('/var/lib/rootwatch/evidence'),
  /** Bundles kept; the oldest go first. */
  evidence_max_bundles: z.number().int().min(1).max(100_000).default(100),
  /** Total size of the kept bundles, MiB; the oldest go first. */
  evidence_max_mb: z.number().int().min(1).max(1_000_000).default(256),
  rules: z.array(responseRuleSchema).min(1),
});

export const configSchema = z.strictObject({
  docker: z
    .strictObject({
      /**
       * Overrides DOCKER_HOST; unix:///path or tcp://host:port. A list follows several engines on one
       * host (dockerd and Podman, one rootless Podman socket per user): one model, one /metrics.
       */
      host: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(64)]).optional(),
      relist_interval: duration.prefault('5m'),
      inspect_concurrency: z.number().int().min(1).max(64).default(8),
      reconnect_max_backoff: duration.prefault('30s'),
      request_timeout: duration.prefault('10s'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug']).default('info'),
      format: z.enum(['json', 'text']).default('json'),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      listen: listenAddress.default('0.0.0.0:9796'),
      /** Same shape as the Prometheus exporter-toolkit web config. */
      web: z
        .strictObject({
          tls_server_config: z
            .strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) })
            .optional(),
          /** user → bcrypt hash ($2a$/$2b$/$2y$). */
          basic_auth_users: z
            .record(z.string().min(1), z.string().regex(/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/, 'expected a bcrypt hash'))
            .default({}),
        })
        .prefault({}),
    })
    .prefault({}),
  paths: z
    .strictObject({
      procfs: z.string().min(1).default('/proc'),
      sysfs: z.string().min(1).default('/sys'),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** Default for `rootwatch audit --fail-on`. */
      fail_on: z.enum(SEVERITIES).optional(),
      /** New findings at or above this severity are logged as `alert` events by the daemon. */
      alert_severity: z.enum(SEVERITIES).default('high'),
    })
    .prefault({}),
  host: z
    .strictObject({
      /** Operator CVE entries and acknowledgements, merged over the shipped data; may be absent. */
      cve_file: z.string().min(1).default('/etc/rootwatch/cves.yaml'),
    })
    .prefault({}),
  breakout: z
    .strictObject({
      /** Scan interval for /proc, the container cgroups and the kernel escape hooks. */
      interval: duration.prefault('1s'),
      /** Process whose namespaces are the host's reference (default: the Docker daemon's). */
      host_reference_pid: z.number().int().positive().optional(),
      docker_pidfile: z.string().min(1).default('/var/run/docker.pid'),
      docker_process_name: z.string().min(1).default('dockerd'),
      /** auto: use the kernel process connector when possible (native addon, CAP_NET_ADMIN); off: poll only. */
      process_events: z.enum(['auto', 'off']).default('auto'),
      /**
       * The kernel audit subsystem as a second source, beside a running auditd (never instead of it):
       * off (default); auto: used when auditing is enabled and an audit daemon runs, else one log line
       * why not; on: the same, but its absence is logged as an error.
       */
      audit: z.enum(AUDIT_MODES).default('off'),
    })
    .prefault({}),
  exceptions: z.array(exceptionSchema).default([]),
  response: responseSchema.optional(),
});

export type Config = z.output<typeof configSchema>;
export type ExceptionConfig = z.output<typeof exceptionSchema>;
export type ResponseConfig = z.output<typeof responseSchema>;
export type ResponseRuleConfig = z.output<typeof responseRuleSchema>;
