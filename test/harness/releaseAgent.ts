// The cgroup v1 release_agent escape's host state, for the tests that reproduce it: the memory
// hierarchy's release_agent is saved before and restored after, whatever happens, and the test's
// cgroup removed. Call inside a describe(); v2-only hosts skip (the escape does not exist there).
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MEMORY_ROOT = '/sys/fs/cgroup/memory';

/** Returns `restore()`, for a test that must put the host's value back before it ends. */
export function restoreReleaseAgentAround(cgroupName: string): { restore(): void } {
  let saved: string | null = null;
  const restore = (): void => {
    if (saved !== null) writeFileSync(join(MEMORY_ROOT, 'release_agent'), saved.trim() || '\n');
  };
  before(function () {
    if (!existsSync(join(MEMORY_ROOT, 'release_agent'))) {
      // cgroup v2-only hosts have no release_agent: the escape does not exist there.
      if (process.env.ROOTWATCH_REQUIRE_DOCKER === '1' && existsSync('/sys/fs/cgroup/cpu')) assert.fail('expected a v1 memory hierarchy');
      this.skip();
    }
    saved = readFileSync(join(MEMORY_ROOT, 'release_agent'), 'utf8');
  });
  after(() => {
    // Restore the host whatever happened.
    restore();
    try {
      rmdirSync(join(MEMORY_ROOT, cgroupName));
    } catch {
      // already gone
    }
  });
  return { restore };
}
