// auditd for the audit source's tests: rootwatch's audit source only runs beside an audit daemon.
// Starts one when none runs and puts the kernel's audit state back afterwards (enabled flag, backlog
// limit, no daemon), so the host is left as it was found. A daemon that was already running is used
// and left alone.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sleep } from './privateDockerd.js';
import { waitFor } from './waitFor.js';

export interface AuditState {
  enabled: number;
  pid: number;
  backlogLimit: number;
}

export function auditState(): AuditState {
  const out = execFileSync('auditctl', ['-s'], { encoding: 'utf8' });
  const field = (k: string): number => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(out)?.[1] ?? NaN);
  return { enabled: field('enabled'), pid: field('pid'), backlogLimit: field('backlog_limit') };
}

/** The kernel's audit rules, one per line (auditctl -l). */
export function auditRules(): string[] {
  return execFileSync('auditctl', ['-l'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('-'));
}

export function auditdAvailable(): boolean {
  return existsSync('/usr/sbin/auditd') && existsSync('/usr/sbin/auditctl');
}

export interface AuditdHandle {
  /** The state before the test touched anything. */
  before: AuditState;
  /** Whether the test started the daemon (and so stops it). */
  started: boolean;
  restore(): Promise<void>;
}

/**
 * Make sure an audit daemon runs. Debian's own rules set a backlog of 8,192 (the kernel's default of
 * 64 loses records whenever a runtime mounts a container's filesystems); the test does the same and
 * restores it.
 */
export async function ensureAuditd(): Promise<AuditdHandle> {
  const before = auditState();
  let started = false;
  if (before.pid === 0) {
    execFileSync('/usr/sbin/auditd', []);
    started = true;
    await waitFor(() => auditState().pid !== 0, 'auditd registered', 10_000, 50);
  }
  if (auditState().backlogLimit < 8192) execFileSync('auditctl', ['-b', '8192']);
  return {
    before,
    started,
    restore: async () => {
      if (started) {
        const pid = auditState().pid;
        if (pid > 0) {
          process.kill(pid, 'SIGTERM');
          await waitFor(() => auditState().pid === 0, 'auditd stopped', 10_000, 50);
          await sleep(50);
        }
        execFileSync('auditctl', ['-e', String(before.enabled)]);
      }
      execFileSync('auditctl', ['-b', String(before.backlogLimit)]);
    },
  };
}
