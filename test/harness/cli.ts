// The built CLI as users run it (dist/src/main.js, built by `npm run build`): exit code and output.
import { execFile } from 'node:child_process';

export const MAIN = 'dist/src/main.js';

export interface Run { code: number; stdout: string; stderr: string }

export function rootwatch(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile('node', [MAIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
