// What every command needs first: the config (file + flags) and the Docker endpoint, with errors
// turned into one-line CliErrors carrying exit code 2.
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { EndpointError, parseEndpoints, resolveDockerHosts, type Endpoint } from '../docker/endpoint.js';
import type { LogLevel } from '../log/logger.js';
import { CliError, EXIT } from './exitCodes.js';

export interface GlobalOptions {
  config?: string;
  logLevel?: string;
  /** --docker-host, as often as given. */
  dockerHost?: string[];
}

const LEVELS: LogLevel[] = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];

export function configPath(opts: GlobalOptions): { path: string; explicit: boolean } {
  return opts.config ? { path: opts.config, explicit: true } : { path: process.env.ROOTWATCH_CONFIG || DEFAULT_CONFIG_PATH, explicit: !!process.env.ROOTWATCH_CONFIG };
}

export function loadSettings(opts: GlobalOptions): { config: Config; endpoints: Endpoint[]; configFile: string } {
  const { path, explicit } = configPath(opts);
  let config: Config;
  try {
    config = loadConfig(path, explicit);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, EXIT.USAGE);
    throw e;
  }
  if (opts.logLevel !== undefined) {
    if (!LEVELS.includes(opts.logLevel as LogLevel)) {
      throw new CliError(`--log-level "${opts.logLevel}": expected one of ${LEVELS.join(', ')}`, EXIT.USAGE);
    }
    config.log.level = opts.logLevel as LogLevel;
  }
  let endpoints: Endpoint[];
  try {
    endpoints = parseEndpoints(resolveDockerHosts(opts.dockerHost ?? [], config.docker.host, process.env), process.env);
  } catch (e) {
    if (e instanceof EndpointError) throw new CliError(e.message, EXIT.USAGE);
    throw e;
  }
  return { config, endpoints, configFile: path };
}
