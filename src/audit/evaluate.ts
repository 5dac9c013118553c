// Runs the rule catalogue over a container, an exec or the daemon, and turns hits into findings:
// the only place where context (remapped root, sandboxed runtime) adjusts severity.
import { compareFindings, lowerSeverity, type Finding } from '../model/finding.js';
import type { ContainerInspect, ExecInspect } from '../model/dockerTypes.js';
import type { DaemonPosture } from '../model/posture.js';
import type { ContainerContext, RuleDoc, RuleHit } from '../rules/rule.js';
import { containerRules, execRules, hostRules } from '../rules/catalogue.js';
import { rootIsRemapped, runsSandboxed } from './context.js';

function toFinding(rule: RuleDoc, hit: RuleHit, downgrade: boolean, why: string | null): Finding {
  const base = hit.severity ?? rule.severity;
  const severity = downgrade && rule.rootSensitive ? lowerSeverity(base) : base;
  const evidence = { ...hit.evidence };
  if (severity !== base && why) evidence.severity_lowered_because = why;
  return { rule: rule.id, severity, message: hit.message, evidence, attack: rule.attack.id };
}

/** Hits from a check that threw are reported, not lost: a rule bug must not hide the other rules. */
function safeCheck(rule: RuleDoc, run: () => RuleHit[], onError: (msg: string) => void): RuleHit[] {
  try {
    const hits = run();
    return Array.isArray(hits) ? hits : [];
  } catch (e) {
    onError(`rule ${rule.id} failed: ${(e as Error).message}`);
    return [];
  }
}

/** What the kernel says about a container that its inspect does not (read by the source layer). */
export interface ContainerKernelFacts {
  /** Host uid of the container's uid 0, from its init's uid_map; null or absent when not read. */
  rootHostUid?: number | null;
}

function downgradeReason(c: ContainerInspect, posture: DaemonPosture, facts: ContainerKernelFacts): string | null {
  if (rootIsRemapped(c, posture, facts.rootHostUid)) {
    return posture.rootless ? 'rootless daemon' : posture.usernsRemap ? 'userns-remap' : `own user namespace (root is host uid ${facts.rootHostUid ?? '?'})`;
  }
  if (runsSandboxed(c, posture)) return `sandboxed runtime ${c.HostConfig?.Runtime || posture.defaultRuntime}`;
  return null;
}

export function auditContainer(c: ContainerInspect, ctx: ContainerContext, onError: (msg: string) => void = () => {}, facts: ContainerKernelFacts = {}): Finding[] {
  const why = downgradeReason(c, ctx.posture, facts);
  const out: Finding[] = [];
  for (const rule of containerRules) {
    for (const hit of safeCheck(rule, () => rule.check(c, ctx), onError)) out.push(toFinding(rule, hit, why !== null, why));
  }
  return out.sort(compareFindings);
}

export function auditExec(
  x: ExecInspect,
  c: ContainerInspect,
  ctx: ContainerContext,
  onError: (msg: string) => void = () => {},
  facts: ContainerKernelFacts = {},
): Finding[] {
  const why = downgradeReason(c, ctx.posture, facts);
  const out: Finding[] = [];
  for (const rule of execRules) {
    for (const hit of safeCheck(rule, () => rule.check(x, c, ctx), onError)) out.push(toFinding(rule, hit, why !== null, why));
  }
  return out.sort(compareFindings);
}

export function auditDaemon(posture: DaemonPosture, onError: (msg: string) => void = () => {}): Finding[] {
  const out: Finding[] = [];
  for (const rule of hostRules) {
    for (const hit of safeCheck(rule, () => rule.check(posture), onError)) out.push(toFinding(rule, hit, false, null));
  }
  return out.sort(compareFindings);
}
