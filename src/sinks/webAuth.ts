// Basic auth for the metrics endpoint, as the Prometheus exporter-toolkit does it: bcrypt-hashed
// passwords in the config. bcrypt is slow on purpose, so successful checks are cached (bounded).
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

export class BasicAuth {
  private readonly ok = new Map<string, true>();

  constructor(private readonly users: Readonly<Record<string, string>>) {}

  get enabled(): boolean {
    return Object.keys(this.users).length > 0;
  }

  /** Check an Authorization header value. */
  async check(header: string | undefined): Promise<boolean> {
    if (!this.enabled) return true;
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    const hash = Object.prototype.hasOwnProperty.call(this.users, user) ? this.users[user] : undefined;
    if (!hash) return false;
    const key = createHash('sha256').update(`${user}\u0000${pass}\u0000${hash}`).digest('hex');
    if (this.ok.has(key)) return true;
    const good = await bcrypt.compare(pass, hash);
    if (good) {
      if (this.ok.size > 100) this.ok.clear();
      this.ok.set(key, true);
    }
    return good;
  }
}
