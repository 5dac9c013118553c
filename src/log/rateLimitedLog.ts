// Logging for what a party outside rootwatch can repeat at will (malformed events, failing API calls,
// unreadable processes): the first occurrence of each kind is logged as it happens, further ones in
// the same interval are only counted, and one summary line per kind says how many were held back.
// journald rate-limits a unit that floods, and then drops its alerts too: alerts never come here.
import type { Logger, LogLevel } from './logger.js';

export const DEFAULT_SUMMARY_INTERVAL_MS = 60_000;

interface KindState {
  /** Occurrences held back since the last line of this kind. */
  held: number;
  level: LogLevel;
  event: string;
  lastMessage: string;
  /** Whether a line of this kind was logged in the current interval. */
  loggedThisInterval: boolean;
}

export class RateLimitedLog {
  private readonly kinds = new Map<string, KindState>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_SUMMARY_INTERVAL_MS,
  ) {}

  /**
   * Log `message` now if it is the first of `kind` in this interval, else count it. `kind` must come
   * from a bounded set of rootwatch's own words (an event name, an operation), never from outside.
   */
  log(level: LogLevel, kind: string, message: string, fields: Record<string, unknown> & { event: string }): void {
    let k = this.kinds.get(kind);
    if (!k) {
      k = { held: 0, level, event: fields.event, lastMessage: '', loggedThisInterval: false };
      this.kinds.set(kind, k);
    }
    k.lastMessage = message;
    if (k.loggedThisInterval) {
      k.held++;
    } else {
      k.loggedThisInterval = true;
      this.logger.log(level, message, fields);
    }
    this.arm();
  }

  /** Write the summaries now (also called by the interval timer, and on shutdown). */
  flush(): void {
    for (const [kind, k] of this.kinds) {
      if (k.held > 0) {
        this.logger.log(k.level, `${k.held} more like this in the last ${Math.round(this.intervalMs / 1000)} s: ${k.lastMessage}`, {
          event: k.event, repeated: k.held, interval_seconds: this.intervalMs / 1000,
        });
        k.held = 0;
        // The summary was this interval's line: the next occurrence waits for the next summary.
        k.loggedThisInterval = true;
      } else {
        this.kinds.delete(kind);
      }
    }
    if (this.kinds.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  close(): void {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }
}
