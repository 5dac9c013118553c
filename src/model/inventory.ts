// The in-memory model of running containers and what rootwatch concluded about each.
// Sinks (metrics, logs) read it; the monitor is the only writer.
import type { ContainerInspect } from './dockerTypes.js';
import type { Finding } from './finding.js';
import type { DaemonPosture } from './posture.js';

export interface ContainerRecord {
  /** The engine that runs it (its endpoint's name; one per host unless several engines are followed). */
  engine: string;
  /** That engine's posture when the container was last audited (remapping, data root, runtime). */
  posture: DaemonPosture;
  id: string;
  /** 12-hex short id, as `docker ps` shows it and as metrics label it. */
  shortId: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  inspect: ContainerInspect;
  /** Host uid of container uid 0 from the init's uid_map (the kernel's answer to "is root remapped?"); null when not read. */
  rootHostUid?: number | null;
  /** Configuration findings plus exec findings, exceptions applied (excepted ones marked). */
  findings: Finding[];
}

export class ContainerInventory {
  private readonly byId = new Map<string, ContainerRecord>();
  private changes = 0;

  get size(): number {
    return this.byId.size;
  }

  /** Grows whenever a record is added, replaced or removed: what readers compare to skip a walk. */
  get version(): number {
    return this.changes;
  }

  get(id: string): ContainerRecord | undefined {
    return this.byId.get(id);
  }

  /**
   * Find by full id, id prefix (as `container:<id>` modes may hold) or name; among one engine's
   * containers when `engine` is given (names are unique per engine only).
   */
  lookup(idOrName: string, engine?: string): ContainerRecord | undefined {
    const direct = this.byId.get(idOrName);
    if (direct && (engine === undefined || direct.engine === engine)) return direct;
    const name = idOrName.startsWith('/') ? idOrName.slice(1) : idOrName;
    for (const r of this.byId.values()) {
      if (engine !== undefined && r.engine !== engine) continue;
      if (r.name === name || (idOrName.length >= 12 && r.id.startsWith(idOrName))) return r;
    }
    return undefined;
  }

  set(record: ContainerRecord): void {
    this.byId.set(record.id, record);
    this.changes++;
  }

  delete(id: string): ContainerRecord | undefined {
    const r = this.byId.get(id);
    if (this.byId.delete(id)) this.changes++;
    return r;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  all(): IterableIterator<ContainerRecord> {
    return this.byId.values();
  }
}
