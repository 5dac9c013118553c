// The Debian package, built once per test run with `npm run package` (scripts/package-deb.sh) from
// the dist/ and addon the suite already built, into a directory of its own. Shared by the package,
// image and systemd tests.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
let built: Promise<string> | null = null;

/** Path of the .deb (the script's last line of output). */
export function debPackage(): Promise<string> {
  built ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'rw-deb-'));
    // 26 MB a run: gone when the test process ends, whatever happened.
    process.once('exit', () => rmSync(out, { recursive: true, force: true }));
    const { stdout } = await execFileP('bash', ['scripts/package-deb.sh'], {
      env: { ...process.env, ROOTWATCH_PKG_OUT: out, ROOTWATCH_PKG_SKIP_BUILD: '1' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 300_000,
    });
    const lines = stdout.trim().split('\n');
    return lines[lines.length - 1] ?? '';
  })();
  return built;
}

/** Run a command; rejects with its stderr on a non-zero exit. */
export async function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string; code?: number };
    throw new Error(`${cmd} ${args.join(' ')} failed (${err.code ?? '?'}): ${(err.stderr || err.stdout || err.message).trim().slice(-2000)}`);
  }
}
