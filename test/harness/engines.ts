// Shared engines for the integration suite: started once on first use, torn down by the root hook.
import { dockerUnavailableReason, ensureTestImage, hookSignals, startPrivateDockerd, type PrivateEngine } from './privateDockerd.js';

const engines = new Map<string, Promise<PrivateEngine>>();
let warned = false;

/**
 * Call from a suite's before(): skips the suite (one loud line) when Docker is missing, or fails
 * when ROOTWATCH_REQUIRE_DOCKER=1 (CI): a missing engine must never turn into a green run.
 */
export function requireDocker(ctx: Mocha.Context): void {
  const reason = dockerUnavailableReason();
  if (!reason) return;
  if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1') {
    throw new Error(`ROOTWATCH_REQUIRE_DOCKER=1 but ${reason}`);
  }
  if (!warned) {
    console.error(`\n!!! SKIPPING INTEGRATION TESTS: ${reason} !!!\n`);
    warned = true;
  }
  ctx.skip();
}

/** The default engine (no remapping), or the remapped variant. */
export function engine(kind: 'default' | 'userns' = 'default'): Promise<PrivateEngine> {
  let p = engines.get(kind);
  if (!p) {
    hookSignals();
    p = startPrivateDockerd(kind === 'userns' ? 'userns' : 'dflt', { usernsRemap: kind === 'userns' }).then(async (e) => {
      await ensureTestImage(e);
      return e;
    });
    engines.set(kind, p);
  }
  return p;
}

export async function destroyEngines(): Promise<void> {
  const all = [...engines.values()];
  engines.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => null))?.destroy()));
}
