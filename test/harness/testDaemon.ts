// Runs the real daemon in-process against a private engine, capturing its JSON log lines.
import { PassThrough } from 'node:stream';
import { startDaemon, type Daemon } from '../../src/cli/run.js';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { parseEndpoints } from '../../src/docker/endpoint.js';
import { createLogger } from '../../src/log/logger.js';
import { waitFor } from './waitFor.js';

export interface TestDaemon {
  daemon: Daemon;
  base: string;
  logs: Record<string, unknown>[];
  metrics(): Promise<string>;
  alerts(rule?: string): Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * `dockerHost`: one engine, or several (one daemon following them all). `configFile`: read the config
 * from this file instead (and reload when it changes), ignoring `config`.
 */
export async function startTestDaemon(dockerHost: string | readonly string[], config: Record<string, unknown> = {}, opts: { waitReady?: boolean; configFile?: string } = {}): Promise<TestDaemon> {
  const logs: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  let partial = '';
  stream.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>);
  });
  const daemon = await startDaemon({
    config: opts.configFile ? loadConfig(opts.configFile, true) : validateConfig(config, 'test'),
    endpoints: parseEndpoints(typeof dockerHost === 'string' ? [dockerHost] : dockerHost, {}),
    configFile: opts.configFile ?? '/dev/null',
    configExplicit: opts.configFile !== undefined,
    listen: '127.0.0.1:0',
    logger: createLogger({ level: 'debug', stream }),
  });
  const base = `http://127.0.0.1:${daemon.address.port}`;
  if (opts.waitReady !== false) {
    await waitFor(async () => (await fetch(`${base}/ready`)).status === 200, 'daemon /ready', 30_000);
  }
  return {
    daemon,
    base,
    logs,
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    alerts: (rule?: string) => logs.filter((l) => l.event === 'alert' && (rule === undefined || l.rule === rule)),
    stop: () => daemon.stop(),
  };
}

/** Value of one sample in an exposition, or null when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return null;
}
