// The per-minute action budget: a sliding 60 s window, so a false-positive storm cannot pause a fleet.

const WINDOW_MS = 60_000;

export class ActionBudget {
  private readonly taken: number[] = [];

  constructor(private limit: number) {}

  setLimit(n: number): void {
    this.limit = n;
  }

  /** Take one action from the budget at `now`; false when the last 60 s already used the limit. */
  take(now: number): boolean {
    while (this.taken.length > 0 && (this.taken[0] as number) <= now - WINDOW_MS) this.taken.shift();
    if (this.taken.length >= this.limit) return false;
    this.taken.push(now);
    return true;
  }
}
