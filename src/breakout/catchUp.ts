// A catch-up full scan after losses, at most one per period however long the losses go on: the
// process-event and audit sources both ask for one when something exited before it could be read.

export class CatchUp {
  private timer: NodeJS.Timeout | null = null;
  private last = -Infinity;

  /** `run` gets the count of the request that scheduled it (later ones join it). */
  constructor(
    private readonly minMs: number,
    private readonly run: (n: number) => void,
  ) {}

  /** Schedule the catch-up, at once or when the period since the last one is over. */
  request(n: number): void {
    if (this.timer) return;
    const wait = Math.max(0, this.last + this.minMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.last = Date.now();
      this.run(n);
    }, wait);
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
