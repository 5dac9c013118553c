// What to do about one detection: pure, no I/O. The first rule whose reasons and match fit names the
// action; the guards (excepted, our own container, already acted on, the budget) may turn it into a skip.
import type { ExceptionSet, ExceptionTarget } from '../audit/exceptions.js';
import { targetMatcher } from '../audit/exceptions.js';
import type { ResponseAction, ResponseConfig } from '../config/schema.js';
import type { BreakoutHit } from '../breakout/types.js';
import type { Finding } from '../model/finding.js';

/** Label `result` of rootwatch_response_actions_total. */
export const RESPONSE_RESULTS = ['done', 'dry_run', 'skipped', 'failed'] as const;
export type ResponseResult = (typeof RESPONSE_RESULTS)[number];

export type SkipReason = 'no_container' | 'container_unknown' | 'excepted' | 'own_container' | 'already_acted' | 'rate_limited';

export interface CompiledRule {
  reasons: ReadonlySet<string>;
  action: ResponseAction;
  matches: (t: ExceptionTarget) => boolean;
}

export function compileRules(config: ResponseConfig): CompiledRule[] {
  return config.rules.map((r) => ({ reasons: new Set(r.reasons), action: r.action, matches: r.match ? targetMatcher(r.match) : () => true }));
}

export interface DecisionInput {
  hit: BreakoutHit;
  /** The finding the alert reports (its rule is the reason), for the exception check. */
  finding: Finding;
  /** The named container as the inventory knows it; null when the hit names none or it is unknown. */
  target: ExceptionTarget | null;
  rules: readonly CompiledRule[];
  exceptions: ExceptionSet;
  isOwn: boolean;
  alreadyActed: boolean;
  /** Takes one action from the per-minute budget; called last, only when everything else allows it. */
  takeBudget: () => boolean;
  now: number;
}

export type Decision =
  | { kind: 'act'; action: ResponseAction }
  | { kind: 'skip'; action: ResponseAction; why: SkipReason };

/** null: no rule is about this reason (nothing is logged or counted). */
export function decide(i: DecisionInput): Decision | null {
  const forReason = i.rules.filter((r) => r.reasons.has(i.hit.reason));
  if (forReason.length === 0) return null;
  if (!i.hit.container) return { kind: 'skip', action: (forReason[0] as CompiledRule).action, why: 'no_container' };
  if (!i.target) return { kind: 'skip', action: (forReason[0] as CompiledRule).action, why: 'container_unknown' };
  const target = i.target;
  const rule = forReason.find((r) => r.matches(target));
  if (!rule) return null;
  const skip = (why: SkipReason): Decision => ({ kind: 'skip', action: rule.action, why });
  if (i.exceptions.apply([i.finding], target, i.now)[0]?.excepted) return skip('excepted');
  if (i.isOwn) return skip('own_container');
  if (i.alreadyActed) return skip('already_acted');
  if (!i.takeBudget()) return skip('rate_limited');
  return { kind: 'act', action: rule.action };
}
