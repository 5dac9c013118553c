// `rootwatch run`: the daemon. Wires sources → monitor → sinks, and shuts down cleanly on SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import chokidar from 'chokidar';
import type { Config } from '../config/schema.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { DockerApi, describeDockerError } from '../docker/dockerApi.js';
import type { Endpoint } from '../docker/endpoint.js';
import { DockerWatcher } from '../docker/dockerWatcher.js';
import { createLogger, type Logger, type LogLevel } from '../log/logger.js';
import { Monitor } from '../monitor.js';
import { MetricsHttpServer } from '../sinks/httpServer.js';
import { VERSION } from '../version.js';
import { BreakoutWatch } from '../breakout/breakoutWatch.js';
import { ProcFs } from '../proc/procfs.js';
import { HostExposure } from '../host/hostExposure.js';
import { CveDataError } from '../host/cveData.js';
import { sanitize } from '../log/logger.js';
import { CliError, EXIT } from './exitCodes.js';
import { Responder, type ResponseDocker } from '../response/responder.js';
import { loadProcConnector } from '../proc/procConnector.js';
import { startHeapTrimmer } from '../runtime/memory.js';

export interface Daemon {
  monitor: Monitor;
  /** Responses under way finish before this resolves (tests). */
  responsesIdle(): Promise<void>;
  address: { host: string; port: number };
  /** Re-read the config file; keeps the old config on error. Returns whether it applied. */
  reload(): boolean;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  config: Config;
  /** The engines to follow (one watcher each, one model); names are unique (parseEndpoints). */
  endpoints: readonly Endpoint[];
  configFile: string;
  /** Whether the config file was named explicitly (a reload of a vanished default file keeps defaults). */
  configExplicit: boolean;
  /** Overrides config metrics.listen (the --listen flag). */
  listen?: string;
  /** --log-level given on the command line: it wins over the file, also after a reload. */
  logLevel?: LogLevel;
  logger?: Logger;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { config, endpoints } = opts;
  const log = opts.logger ?? createLogger({ level: config.log.level, format: config.log.format });
  const procfs = new ProcFs(config.paths.procfs);
  const monitor = new Monitor(log, config, { engines: endpoints, rootHostUid: (pid) => procfs.rootHostUid(pid) });
  // One API client and one watcher per engine, each reporting to its own sink of the one monitor.
  const apis = new Map(endpoints.map((e) => [e.name, new DockerApi(e, config.docker.request_timeout)]));
  const watchers = endpoints.map((e) => new DockerWatcher(apis.get(e.name) as DockerApi, monitor.sinkFor(e.name), {
    relistIntervalMs: config.docker.relist_interval,
    maxBackoffMs: config.docker.reconnect_max_backoff,
    inspectConcurrency: config.docker.inspect_concurrency,
  }));
  const http = new MetricsHttpServer({ listen: opts.listen ?? config.metrics.listen, registry: monitor.metrics.registry, ready: () => monitor.ready(), web: config.metrics.web });
  let address;
  try {
    address = await http.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(`cannot serve metrics on ${opts.listen ?? config.metrics.listen}: ${err.code ?? err.message}`, EXIT.USAGE);
  }
  // The response to breakouts (only with a `response:` block): detections in, Docker actions out.
  const responder = new Responder(config, { procfs: config.paths.procfs }, engineRouter(apis, (id) => monitor.inventory.get(id)?.engine), {
    container: (id) => monitor.inventory.get(id),
    count: (action, reason, result) => monitor.metrics.responseActions.inc({ action, reason, result }),
    describeError: (e) => (e instanceof EngineCallError ? e.message : describeDockerError(e, endpoints[0]?.url ?? '')),
  }, log);
  const breakout = new BreakoutWatch(
    {
      procfs: config.paths.procfs,
      sysfs: config.paths.sysfs,
      intervalMs: config.breakout.interval,
      processEvents: config.breakout.process_events,
      audit: config.breakout.audit,
      hostReference: { pid: config.breakout.host_reference_pid, pidfile: config.breakout.docker_pidfile, processName: config.breakout.docker_process_name },
    },
    {
      containers: () => monitor.containers(), knows: (id) => monitor.inventory.get(id) !== undefined, version: () => monitor.inventory.version, postures: () => monitor.postures(),
      engineName: (id) => (monitor.multiEngine ? monitor.inventory.get(id)?.engine ?? null : null),
    },
    monitor.metrics,
    log,
    responder,
  );
  monitor.attachBreakout(() => breakout.active());

  // Host exposure: re-evaluated on every (re)connect, after each reconciliation (host-network
  // containers are a CVE prerequisite) and when the CVE data files change.
  let hostExposure: HostExposure;
  try {
    hostExposure = new HostExposure({
      procfs: config.paths.procfs,
      sysfs: config.paths.sysfs,
      cveFile: config.host.cve_file,
      onError: (m) => log.error(sanitize(m), { event: 'cve_data_error' }),
    });
  } catch (e) {
    if (e instanceof CveDataError) throw new CliError(e.message, EXIT.USAGE);
    throw e;
  }
  // Each engine is evaluated with its own posture (its version, runtime and remapping).
  const refreshHost = (engine: string): void => {
    const posture = monitor.currentPosture(engine);
    if (!posture) return;
    hostExposure
      .refresh(posture, monitor.hostNetworkContainers(engine), engine)
      .then((ev) => monitor.setHostEvaluation(engine, ev.findings, { ...ev.info }))
      .catch((e: Error) => log.error(`host exposure evaluation failed: ${sanitize(e.message)}`, { event: 'host_exposure_error' }));
  };
  monitor.onConnected = refreshHost;
  monitor.onReconciled = refreshHost;
  void hostExposure.watch((evs) => {
    for (const [engine, ev] of evs) monitor.setHostEvaluation(engine, ev.findings, { ...ev.info });
    log.notice('CVE data reloaded', { event: 'cve_data_reloaded' });
  });
  log.notice('rootwatch started', {
    event: 'started', version: VERSION, docker_host: endpoints.map((e) => e.url).join(' '), listen: `${address.host}:${address.port}`, config_file: opts.configFile,
  });
  for (const w of watchers) w.start();
  breakout.start();
  // Memory a burst took is given back once the heap has grown enough (src/runtime/memory.ts).
  const nativeHeap = loadProcConnector().addon;
  const trimmer = startHeapTrimmer({
    trimNative: () => void nativeHeap?.trimNativeHeap?.(),
    onTrim: (t) => {
      monitor.metrics.memoryTrims.inc();
      log.debug('memory trimmed after a burst', { event: 'memory_trimmed', heap_before_bytes: t.heapBeforeBytes, heap_after_bytes: t.heapAfterBytes, ms: Math.round(t.ms) });
    },
    onError: (e) => log.error(`memory trimming stopped: ${sanitize(e.message)}`, { event: 'memory_trim_error' }),
  });
  let stopping: Promise<void> | null = null;
  let current = config;
  const configWatch = watchConfigFile(opts.configFile, () => daemon.reload(), log);
  const daemon: Daemon = {
    monitor,
    responsesIdle: () => responder.idle(),
    address,
    reload(): boolean {
      try {
        const next = loadConfig(opts.configFile, opts.configExplicit);
        if (opts.logLevel) next.log.level = opts.logLevel;
        const restartOnly = restartOnlyChanges(current, next);
        if (restartOnly.length > 0) {
          log.warning(`changes to ${restartOnly.join(', ')} apply at the next restart`, { event: 'config_restart_required', keys: restartOnly });
        }
        current = next;
        log.level = next.log.level;
        monitor.applyConfig(next);
        responder.applyConfig(next);
        http.setUsers(next.metrics.web.basic_auth_users);
        monitor.metrics.configLastReloadSuccess.setToCurrentTime();
        log.notice('configuration reloaded', { event: 'config_reloaded', config_file: opts.configFile });
        return true;
      } catch (e) {
        const msg = e instanceof ConfigError ? e.message : (e as Error).message;
        monitor.metrics.configReloadFailures.inc();
        log.error(`configuration reload rejected, keeping the previous one: ${msg}`, { event: 'config_reload_failed' });
        return false;
      }
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        trimmer.stop();
        breakout.stop();
        await Promise.all([responder.idle(), ...watchers.map((w) => w.stop()), http.stop(), hostExposure.close(), configWatch.close()]);
        monitor.repeated.close();
        log.notice('rootwatch stopped', { event: 'stopped' });
      })();
      return stopping;
    },
  };
  return daemon;
}

/** A Docker failure already described with its engine's endpoint. */
class EngineCallError extends Error {}

/**
 * The response's Docker calls, each sent to the engine that runs the container (the inventory knows
 * which); the error names that engine's endpoint.
 */
function engineRouter(apis: ReadonlyMap<string, DockerApi>, engineOf: (id: string) => string | undefined): ResponseDocker {
  const first = apis.values().next().value as DockerApi;
  const call = async <T>(id: string, f: (api: DockerApi) => Promise<T>): Promise<T> => {
    const api = apis.get(engineOf(id) ?? '') ?? first;
    try {
      return await f(api);
    } catch (e) {
      throw new EngineCallError(describeDockerError(e, api.endpoint.url));
    }
  };
  return {
    inspect: (id) => call(id, (a) => a.inspect(id)),
    pause: (id) => call(id, (a) => a.pause(id)),
    stop: (id, grace) => call(id, (a) => a.stop(id, grace)),
    kill: (id) => call(id, (a) => a.kill(id)),
  };
}

/** Top-level keys (and a few nested ones) that the running daemon cannot change without a restart. */
export function restartOnlyChanges(a: Config, b: Config): string[] {
  const keys: [string, unknown, unknown][] = [
    ['docker', a.docker, b.docker],
    ['metrics.listen', a.metrics.listen, b.metrics.listen],
    ['metrics.web.tls_server_config', a.metrics.web.tls_server_config, b.metrics.web.tls_server_config],
    ['paths', a.paths, b.paths],
    ['breakout', a.breakout, b.breakout],
    ['host.cve_file', a.host.cve_file, b.host.cve_file],
  ];
  return keys.filter(([, x, y]) => JSON.stringify(x) !== JSON.stringify(y)).map(([k]) => k);
}

/**
 * Reload when the config file changes (editors replace files by rename: watch the directory).
 * SIGHUP does the same for those who prefer `systemctl reload`.
 */
function watchConfigFile(file: string, onChange: () => void, log: Logger): { close(): Promise<void> } {
  const dir = dirname(file);
  if (file.startsWith('/dev/') || !existsSync(dir)) return { close: async () => {} };
  const name = basename(file);
  const w = chokidar.watch(dir, {
    depth: 0,
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 },
    ignored: (p: string) => p !== dir && basename(p) !== name,
  });
  w.on('all', (event, p) => {
    if (basename(p) === name && (event === 'add' || event === 'change')) onChange();
  });
  w.on('error', (e) => log.warning(`config file watch failed: ${(e as Error).message}`, { event: 'config_watch_error' }));
  return { close: () => w.close() };
}
