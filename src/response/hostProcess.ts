// Kill the exact host process a kernel helper runs, named by pid and start time: a pid alone may have
// been reused by the time we act, and killing a stranger is worse than missing the helper.
import type { ProcFs } from '../proc/procfs.js';

/** killed; gone (exited already); reused (the pid now names another process); failed (kill refused). */
export type ExactKill = 'killed' | 'gone' | 'reused' | 'failed';

export function killExactProcess(proc: ProcFs, pid: number, startTime: string): ExactKill {
  let now: string | null;
  try {
    now = proc.startTime(pid);
  } catch {
    return 'failed';
  }
  if (now === null) return 'gone';
  if (now !== startTime) return 'reused';
  // The window between the read and the kill is a few microseconds, and a pid is reused only after
  // the whole pid space wrapped; the read is what guards against a pid reused since the detection.
  try {
    process.kill(pid, 'SIGKILL');
    return 'killed';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'failed';
  }
}
