// The shape of a rule: data (id, severity, texts, references) plus one pure check.
// Checks never do I/O; everything they need arrives in their arguments.
import type { Evidence, Severity } from '../model/finding.js';
import type { ContainerInspect, ExecInspect } from '../model/dockerTypes.js';
import type { DaemonPosture } from '../model/posture.js';
import type { AttackTechnique } from './attack.js';

export interface RuleReferences {
  /** CIS Docker Benchmark 1.6.0 recommendation id, e.g. "5.5". */
  cis?: string;
  /** Kubernetes Pod Security Standards control, e.g. "Baseline: Privileged Containers". */
  pss?: string;
  links?: string[];
}

/** What one check reports; the engine turns hits into findings (severity adjustment, exceptions). */
export interface RuleHit {
  message: string;
  evidence: Evidence;
  /** Overrides the rule's base severity for this hit (e.g. read-only vs read-write mount). */
  severity?: Severity;
}

export interface RuleDoc {
  id: string;
  /** Base severity before context adjustment. */
  severity: Severity;
  title: string;
  why: string;
  remediation: string;
  references: RuleReferences;
  /** The MITRE ATT&CK technique a finding of this rule enables or shows. */
  attack: AttackTechnique;
  /**
   * Rules about what container root can do to the host drop one severity step when container root is
   * remapped (userns-remap or rootless, and not --userns=host) or the runtime is a sandbox (gVisor, Kata).
   */
  rootSensitive?: boolean;
}

/** Facts about the container's surroundings that checks may need. */
export interface ContainerContext {
  posture: DaemonPosture;
  /** Look up another container (for container:<id> namespace modes); undefined when unknown. */
  lookup(idOrName: string): ContainerInspect | undefined;
}

export interface ContainerRule extends RuleDoc {
  scope: 'container';
  check(container: ContainerInspect, ctx: ContainerContext): RuleHit[];
}

export interface ExecRule extends RuleDoc {
  scope: 'exec';
  check(exec: ExecInspect, container: ContainerInspect, ctx: ContainerContext): RuleHit[];
}

export interface HostRule extends RuleDoc {
  scope: 'host';
  check(posture: DaemonPosture): RuleHit[];
}

export type Rule = ContainerRule | ExecRule | HostRule;
