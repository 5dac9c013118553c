// Capped exponential backoff with "equal jitter", as in AWS's "Exponential Backoff And Jitter": each
// delay is at least half its ceiling, so the number of attempts in any window is bounded whatever the
// random draws (full jitter can draw near-zero delays again and again), and a fleet still spreads out.

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the next attempt: within [ceiling/2, ceiling], the ceiling doubling up to maxMs. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }
}
