// Operator exceptions: accept a known risk for matching containers. They live only in the operator's
// config; nothing a container sets (labels, name, env) can create one. A label only matters when the
// operator's exception names it. Excepted findings stay visible (marked), expired ones apply no more.
import type { ExceptionConfig } from '../config/schema.js';
import type { Finding } from '../model/finding.js';

/**
 * Shell-style glob where * matches any run of characters, "/" included (image references contain
 * slashes: "*cadvisor*" must match "gcr.io/cadvisor/cadvisor:v0.47"), and ? one character.
 */
export function globMatcher(glob: string): (s: string) => boolean {
  const re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return (s) => re.test(s);
}

export interface ExceptionTarget {
  name: string;
  image: string;
  labels: Record<string, string>;
}

/** What an exception (or a response rule) matches on; every given field must match. */
export interface TargetMatch {
  name?: string | undefined;
  image?: string | undefined;
  label?: Record<string, string> | undefined;
}

/**
 * Compile a match: name and image are globs, labels must all be present with equal values; an empty
 * match matches every target. Exceptions and response rules share it, so they match alike.
 */
export function targetMatcher(m: TargetMatch): (t: ExceptionTarget) => boolean {
  const name = m.name ? globMatcher(m.name) : null;
  const image = m.image ? globMatcher(m.image) : null;
  const label = m.label ?? null;
  return (t) => {
    if (name && !name(t.name)) return false;
    if (image && !image(t.image)) return false;
    if (label) {
      for (const [k, v] of Object.entries(label)) {
        if (!Object.prototype.hasOwnProperty.call(t.labels, k) || t.labels[k] !== v) return false;
      }
    }
    return true;
  };
}

interface CompiledException {
  rules: Set<string>;
  matches: (t: ExceptionTarget) => boolean;
  reason: string;
  expires: string | undefined;
  /** End of the expiry day (UTC), ms since epoch. */
  expiresAt: number;
}

export class ExceptionSet {
  private readonly list: CompiledException[];

  constructor(config: readonly ExceptionConfig[]) {
    this.list = config.map((e) => ({
      rules: new Set(e.rules),
      matches: targetMatcher(e.match),
      reason: e.reason,
      expires: e.expires,
      expiresAt: e.expires ? Date.parse(`${e.expires}T23:59:59.999Z`) : Infinity,
    }));
  }

  get size(): number {
    return this.list.length;
  }

  /** Exceptions whose date has passed, for the loud warning and the metric. */
  expired(now: number): { rules: string[]; reason: string; expires: string }[] {
    return this.list
      .filter((e) => e.expiresAt < now)
      .map((e) => ({ rules: [...e.rules], reason: e.reason, expires: e.expires ?? '' }));
  }

  /** Mark findings accepted by a live exception; returns new objects, inputs untouched. */
  apply(findings: readonly Finding[], target: ExceptionTarget, now: number): Finding[] {
    return findings.map((f) => {
      const e = this.list.find((x) => x.rules.has(f.rule) && x.expiresAt >= now && x.matches(target));
      if (!e) return f;
      return { ...f, excepted: e.expires ? { reason: e.reason, expires: e.expires } : { reason: e.reason } };
    });
  }
}

/** Exception target of a container: its name (without "/"), image reference and labels. */
export function exceptionTarget(name: string, image: string, labels: Record<string, string> | null | undefined): ExceptionTarget {
  return { name, image, labels: labels && typeof labels === 'object' ? labels : {} };
}
