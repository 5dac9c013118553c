// Process copies from containers rootwatch does not know yet. A container's first processes start
// before its `start` event has been turned into an inspected record (tens of milliseconds), and an
// image whose entrypoint breaks out at once would otherwise be judged without its container and
// missed. Such copies wait here, grouped by the container id their cgroup names, until that id is
// known or they expire. Bounded: containers of other engines (podman, a kubelet's containerd) name
// ids that never become known, and their processes must not grow memory or cost.
import type { RawProcessCapture } from '../proc/procConnector.js';

export const PENDING_MAX_AGE_MS = 5000;
export const PENDING_MAX_IDS = 256;
export const PENDING_MAX_PER_ID = 64;

interface Group {
  since: number;
  copies: RawProcessCapture[];
}

export class PendingCopies {
  private readonly groups = new Map<string, Group>();
  /** Copies refused (bounds) or expired without their container becoming known. */
  discarded = 0;

  get size(): number {
    return this.groups.size;
  }

  add(containerId: string, copy: RawProcessCapture, now: number): void {
    let g = this.groups.get(containerId);
    if (!g) {
      if (this.groups.size >= PENDING_MAX_IDS) {
        this.discarded++;
        return;
      }
      g = { since: now, copies: [] };
      this.groups.set(containerId, g);
    }
    if (g.copies.length >= PENDING_MAX_PER_ID) this.discarded++;
    else g.copies.push(copy);
  }

  /** Copies whose container is known now (removed from the waiting list); expired groups are dropped. */
  take(known: (containerId: string) => boolean, now: number): RawProcessCapture[] {
    const out: RawProcessCapture[] = [];
    for (const [id, g] of this.groups) {
      if (known(id)) {
        out.push(...g.copies);
        this.groups.delete(id);
      } else if (now - g.since > PENDING_MAX_AGE_MS) {
        this.discarded += g.copies.length;
        this.groups.delete(id);
      }
    }
    return out;
  }
}
