// Loading the YAML config: read, parse, validate. Every failure becomes a ConfigError whose message is
// one line naming the file and the key, so the CLI can print it and exit 2 without a stack trace.
import { sanitize } from '../log/sanitize.js';
import { readYamlFile } from './yamlFile.js';
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
  // Keys and messages can quote the file's own text: one line, no control characters.
  const key = sanitize(issue.path.join('.'), 200);
  let what = sanitize(issue.message, 300);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => sanitize(key ? `${key}.${k}` : k, 200));
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
  const read = readYamlFile(path, 'config file');
  if (!read.ok) {
    if (read.missing && !explicit) return validateConfig({}, path);
    throw new ConfigError(read.message);
  }
  const raw = read.value;
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${path}: the top level must be a mapping of keys`);
  }
  return validateConfig(raw, path);
}
