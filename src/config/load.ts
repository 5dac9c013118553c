// Loading the YAML config: read, parse, validate. Every failure becomes a ConfigError whose message is
// one line naming the file and the key, so the CLI can print it and exit 2 without a stack trace.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { configSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/rootwatch/rootwatch.yaml';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validate an already-parsed object; `source` names where it came from in messages. */
export function validateConfig(raw: unknown, source: string): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ConfigError(`${source}: invalid configuration`);
  const key = issue.path.join('.');
  let what = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (key ? `${key}.${k}` : k));
    what = `unknown key ${keys.map((k) => `"${k}"`).join(', ')}`;
    throw new ConfigError(`${source}: ${what}`);
  }
  throw new ConfigError(`${source}: key "${key || '(top level)'}": ${what}`);
}

/**
 * Load a config file. When `explicit` is false and the file does not exist, defaults apply
 * (a missing default config is fine); a file named on the command line must exist.
 */
export function loadConfig(path: string, explicit: boolean): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return validateConfig({}, path);
    throw new ConfigError(`${path}: cannot read config file (${code ?? (e as Error).message})`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err?.linePos?.[0]?.line;
    const msg = (err?.message ?? "invalid YAML").split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(`${path}: invalid YAML${line ? ` at line ${line}` : ''}: ${msg}`);
  }
  const raw: unknown = doc.toJS();
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${path}: the top level must be a mapping of keys`);
  }
  return validateConfig(raw, path);
}
