// Host exposure: the daemon's own posture (userns-remap, seccomp, exposed API) plus the known
// container-escape CVEs of the versions this host runs, as one list of findings and one set of labels
// for `rootwatch_host_info{...} 1`. evaluateHostExposure is pure; HostExposure keeps the CVE data and
// the last evaluation, and reloads the data when the operator edits their file.
import type { FSWatcher } from 'chokidar';
import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { auditDaemon } from '../audit/evaluate.js';
import { compareFindings, type Finding } from '../model/finding.js';
import type { DaemonPosture } from '../model/posture.js';
import { bundledCvePath, CveDataError, loadCveData, type CveData } from './cveData.js';
import { cveFindings, evaluateCves } from './cveMatcher.js';
import { collectHostFacts, type HostFacts } from './hostFacts.js';

/** Default of the config key host.cve_file; the file may be absent. */
export const DEFAULT_OPERATOR_CVE_FILE = '/etc/rootwatch/cves.yaml';

/** Labels of rootwatch_host_info: all strings, "true"/"false" for booleans, "" when unknown. */
export interface HostInfoLabels {
  kernel: string;
  distro: string;
  /** docker or podman: which engine answers the API rootwatch follows. */
  engine: string;
  docker_version: string;
  podman_version: string;
  /** The OCI runtime Podman runs containers with (crun, runc); Docker's runc is runc_version. */
  oci_runtime: string;
  runc_version: string;
  containerd_version: string;
  cgroup_version: string;
  userns_remap: string;
  rootless: string;
}

export interface HostEvaluation {
  /** Worst first. */
  findings: Finding[];
  info: HostInfoLabels;
}

export function hostInfoLabels(posture: DaemonPosture, facts: HostFacts): HostInfoLabels {
  const distro = [facts.distro, facts.distroVersion].filter((s) => s).join(' ');
  // Without SecurityOptions (API < 1.24) remapping and rootless are unknown, not "false".
  const flag = (b: boolean): string => (posture.securityOptionsKnown ? String(b) : '');
  return {
    kernel: facts.kernelRelease ?? posture.kernelVersion ?? '',
    distro: distro || (posture.operatingSystem ?? ''),
    engine: posture.engine,
    docker_version: posture.engine === 'docker' ? (facts.engineVersion ?? posture.version ?? '') : '',
    podman_version: posture.engine === 'podman' ? (posture.version ?? '') : '',
    oci_runtime: posture.ociRuntime ? [posture.ociRuntime.name, posture.ociRuntime.version].filter((x) => x).join(' ') : '',
    runc_version: facts.runcVersion ?? '',
    containerd_version: facts.containerdVersion ?? '',
    cgroup_version: facts.cgroupVersion !== null ? String(facts.cgroupVersion) : (posture.cgroupVersion ?? ''),
    userns_remap: flag(posture.usernsRemap),
    rootless: flag(posture.rootless),
  };
}

/** Severity order, then rule, then CVE id: several known_cve findings of one severity stay in a stable order. */
function compareHostFindings(a: Finding, b: Finding): number {
  return compareFindings(a, b) || (a.cve ?? '').localeCompare(b.cve ?? '');
}

/**
 * Daemon posture findings and known-CVE findings for this host. `now` (epoch ms) decides whether an
 * acknowledgement has expired; acknowledged CVEs stay in the list with `excepted` set.
 */
export function evaluateHostExposure(
  posture: DaemonPosture,
  facts: HostFacts,
  cves: CveData,
  now: number,
  onError: (message: string) => void = () => {},
): HostEvaluation {
  const verdicts = evaluateCves(cves.entries, facts, cves.acks, { now: new Date(now) });
  const findings = [...auditDaemon(posture, onError), ...cveFindings(verdicts)].sort(compareHostFindings);
  return { findings, info: hostInfoLabels(posture, facts) };
}

// ---------------------------------------------------------------------------------------------------

export interface HostExposureOptions {
  procfs: string;
  sysfs: string;
  /** The operator's file (config host.cve_file); null for none. A missing file just adds nothing. */
  cveFile?: string | null;
  /** The shipped data; defaults to config/cves.yaml of the package. */
  bundledCveFile?: string;
  /** One line per problem (invalid operator file, watcher failure); the previous data stays in use. */
  onError?: (message: string) => void;
  /** Clock for acknowledgement expiry. */
  now?: () => number;
  /** How long a file must stay unchanged before it is read (ms): editors write in several steps. */
  settleMs?: number;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? '').trim();
}

/** One line naming the file: CveDataError messages already start with the file and name the key. */
function loadError(e: unknown, source: string): string {
  return e instanceof CveDataError ? firstLine(e) : `${source}: ${firstLine(e)}`;
}

export class HostExposure {
  private readonly bundledFile: string;
  private readonly operatorFile: string | null;
  private readonly onError: (message: string) => void;
  private readonly now: () => number;
  private readonly settleMs: number;
  private data: CveData;
  /** Per engine (a host may run several): its posture and the host facts read with it. */
  private readonly engines = new Map<string, { posture: DaemonPosture; facts: HostFacts }>();
  private lastFacts: HostFacts | null = null;
  private lastEvaluation: HostEvaluation | null = null;
  private watcher: FSWatcher | null = null;

  /** Throws CveDataError only when the shipped file is broken; operator file problems go to onError. */
  constructor(private readonly opts: HostExposureOptions) {
    this.bundledFile = resolve(opts.bundledCveFile ?? bundledCvePath());
    const op = opts.cveFile === undefined ? DEFAULT_OPERATOR_CVE_FILE : opts.cveFile;
    this.operatorFile = op === null ? null : resolve(op);
    this.onError = opts.onError ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.settleMs = opts.settleMs ?? 300;
    try {
      this.data = this.load();
    } catch (e) {
      // There is no previous data yet: run on the shipped data rather than not at all.
      this.onError(loadError(e, this.operatorFile ?? this.bundledFile));
      this.data = loadCveData({ bundledPath: this.bundledFile });
    }
  }

  private load(): CveData {
    return loadCveData({
      bundledPath: this.bundledFile,
      ...(this.operatorFile ? { operatorPath: this.operatorFile, operatorRequired: false } : {}),
    });
  }

  /** The CVE data in use (shipped merged with the operator's file). */
  get cveData(): CveData {
    return this.data;
  }

  get facts(): HostFacts | null {
    return this.lastFacts;
  }

  /** The last evaluation; null before the first refresh. */
  get last(): HostEvaluation | null {
    return this.lastEvaluation;
  }

  /** Collect the host facts again and evaluate (call after /info, /version or the inventory changed). */
  async refresh(posture: DaemonPosture, hostNetworkContainers: number, engine = ''): Promise<HostEvaluation> {
    const facts = await collectHostFacts({ procfs: this.opts.procfs, sysfs: this.opts.sysfs, posture, hostNetworkContainers });
    this.engines.set(engine, { posture, facts });
    this.lastFacts = facts;
    return this.evaluate(posture, facts);
  }

  /** Evaluate each engine's last posture and facts against the current data (empty before the first refresh). */
  reevaluate(): Map<string, HostEvaluation> {
    return new Map([...this.engines].map(([engine, { posture, facts }]) => [engine, this.evaluate(posture, facts)]));
  }

  private evaluate(posture: DaemonPosture, facts: HostFacts): HostEvaluation {
    this.lastEvaluation = evaluateHostExposure(posture, facts, this.data, this.now(), this.onError);
    return this.lastEvaluation;
  }

  /** Re-read the data files. On an error the previous data stays in use and onError gets one line. */
  reloadCveData(): boolean {
    try {
      this.data = this.load();
      return true;
    } catch (e) {
      this.onError(loadError(e, this.operatorFile ?? this.bundledFile));
      return false;
    }
  }

  /**
   * Watch the data files; after a change that loads cleanly, `onChange` gets the re-evaluation of each
   * engine (none before the first refresh). Resolves once the watcher is ready.
   *
   * The directories are watched rather than the files: editors and config management replace a file
   * by renaming a new one over it, after which a watch on the old file sees nothing, and the operator
   * file may not exist yet. A directory that does not exist is skipped (chokidar would report "ready"
   * before the other paths are set up); creating it needs a restart.
   */
  async watch(onChange: (evaluations: ReadonlyMap<string, HostEvaluation>) => void): Promise<void> {
    if (this.watcher) throw new Error('HostExposure.watch: already watching');
    const files = new Set([this.bundledFile, ...(this.operatorFile ? [this.operatorFile] : [])]);
    const dirs = new Set([...files].map((f) => dirname(f)).filter((d) => existsSync(d)));
    if (dirs.size === 0) return;
    // Loaded here: only the daemon watches files, and `rootwatch audit` must start fast.
    const { default: chokidar } = await import('chokidar');
    const watcher = chokidar.watch([...dirs], {
      ignoreInitial: true,
      depth: 0,
      // Only the data files and their directories; everything else in /etc/rootwatch is not ours.
      ignored: (p: string) => !dirs.has(p) && !files.has(p),
      awaitWriteFinish: { stabilityThreshold: this.settleMs, pollInterval: Math.min(100, this.settleMs) },
    });
    this.watcher = watcher;
    watcher.on('all', (event, path) => {
      if (!files.has(path) || (event !== 'add' && event !== 'change' && event !== 'unlink')) return;
      if (this.reloadCveData()) onChange(this.reevaluate());
    });
    watcher.on('error', (e) => this.onError(`watching ${[...files].join(', ')}: ${firstLine(e)}`));
    await new Promise<void>((res) => watcher.once('ready', () => res()));
  }

  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = null;
    await w?.close();
  }
}
