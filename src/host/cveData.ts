// The CVE data file (config/cves.yaml) and the operator's file of extra entries and acknowledgements:
// read, parse, validate, merge. Every failure is a CveDataError whose message is one line naming the
// file and the key, so the CLI can print it without a stack trace (same convention as config/load.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseYaml, readYamlFile, type YamlFileResult } from '../config/yamlFile.js';
import { z } from 'zod';
import {
  CVE_COMPONENTS,
  CVE_SEVERITIES,
  PREREQUISITES,
  type CveAck,
  type CveEntry,
  type CveRange,
} from './cveMatcher.js';
import { compareParsed, distroKernelVersion, KERNEL_DISTROS, parseVersion, type ParsedVersion } from './versions.js';

export class CveDataError extends Error {
  override name = 'CveDataError';
}

export interface CveData {
  entries: CveEntry[];
  acks: CveAck[];
}

// YAML reads an unquoted 5.10 as the number 5.1, so a number is refused rather than converted.
const versionString = z
  .string({
    error: (iss) =>
      typeof iss.input === 'number'
        ? `write versions as quoted strings ("${String(iss.input)}"): YAML reads an unquoted 5.10 as the number 5.1`
        : 'expected a version string',
  })
  .refine((s) => parseVersion(s) !== null, { message: 'not a version string rootwatch can compare' });

const rangeSchema = z
  .strictObject({
    introduced: versionString.optional(),
    fixed: versionString.optional(),
    last_affected: versionString.optional(),
  })
  .refine((r) => r.fixed === undefined || r.last_affected === undefined, {
    message: 'a range has either fixed or last_affected, not both',
  })
  .refine((r) => r.introduced !== undefined || r.fixed !== undefined || r.last_affected !== undefined, {
    message: 'a range needs introduced, fixed or last_affected',
  });

const dateString = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');

const entrySchema = z
  .strictObject({
    id: z.string().regex(/^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3})$/, 'expected CVE-YYYY-NNNN or a GHSA id'),
    component: z.enum(CVE_COMPONENTS),
    title: z.string().min(1),
    severity: z.enum(CVE_SEVERITIES),
    distro: z.enum(KERNEL_DISTROS).optional(),
    affected: z.array(rangeSchema).min(1, 'at least one affected range is needed'),
    prerequisites: z.array(z.enum(PREREQUISITES)).default([]),
    notes: z.string().optional(),
    references: z.array(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })).default([]),
  })
  .superRefine((e, ctx) => {
    if (e.distro !== undefined && e.component !== 'kernel') {
      ctx.addIssue({ code: 'custom', path: ['distro'], message: 'distro applies to kernel entries only' });
    }
    // Bounds must be in order; vendor-scoped kernel entries compare in the vendor's ABI versions.
    const norm = e.distro ? distroKernelVersion : (p: ParsedVersion) => p;
    e.affected.forEach((r: CveRange, i) => {
      const lo = r.introduced ? parseVersion(r.introduced) : null;
      const upper = r.fixed ?? r.last_affected;
      const hi = upper ? parseVersion(upper) : null;
      if (!lo || !hi) return;
      const c = compareParsed(norm(lo), norm(hi));
      if (r.fixed ? c >= 0 : c > 0) {
        const key = r.fixed ? 'fixed' : 'last_affected';
        ctx.addIssue({ code: 'custom', path: ['affected', i, key], message: `${key} must come after introduced` });
      }
    });
  });

const ackSchema = z.strictObject({
  cve: z.string().min(1),
  reason: z.string().min(1, 'reason is mandatory'),
  host: z.string().min(1).optional(),
  expires: dateString.optional(),
});

const fileSchema = z
  .strictObject({
    cves: z.array(entrySchema).default([]),
    acknowledgements: z.array(ackSchema).default([]),
  })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.cves.forEach((e, i) => {
      if (seen.has(e.id)) ctx.addIssue({ code: 'custom', path: ['cves', i, 'id'], message: `duplicate id ${e.id}` });
      seen.add(e.id);
    });
  });

/** The key of an issue, with the entry id added for readability ("cves.3.affected.0.fixed (CVE-…)"). */
function describeKey(path: readonly PropertyKey[], raw: unknown): string {
  const key = path.map(String).join('.');
  if (path[0] === 'cves' && typeof path[1] === 'number') {
    const list = (raw as { cves?: unknown } | null)?.cves;
    const id = Array.isArray(list) ? (list[path[1]] as { id?: unknown } | undefined)?.id : undefined;
    if (typeof id === 'string') return `"${key}" (${id})`;
  }
  return `"${key || '(top level)'}"`;
}

/** Validate an already-parsed document; `source` names the file in messages. */
export function validateCveData(raw: unknown, source: string): CveData {
  const result = fileSchema.safeParse(raw ?? {});
  if (result.success) return { entries: result.data.cves, acks: result.data.acknowledgements };
  const issue = result.error.issues[0];
  if (!issue) throw new CveDataError(`${source}: invalid CVE data`);
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.map(String).join('.');
    const keys = issue.keys.map((k) => `"${prefix ? `${prefix}.${k}` : k}"`).join(', ');
    throw new CveDataError(`${source}: unknown key ${keys}`);
  }
  throw new CveDataError(`${source}: key ${describeKey(issue.path, raw)}: ${issue.message}`);
}

/** Parse and validate YAML text. */
export function parseCveData(text: string, source: string): CveData {
  return validateParsed(parseYaml(text, source), source);
}

/** Read one CVE file. */
export function loadCveFile(path: string): CveData {
  return validateParsed(readYamlFile(path, 'CVE data file'), path);
}

function validateParsed(read: YamlFileResult, source: string): CveData {
  if (!read.ok) throw new CveDataError(read.message);
  const raw = read.value;
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new CveDataError(`${source}: the top level must be a mapping with cves and acknowledgements`);
  }
  return validateCveData(raw, source);
}

/**
 * Operator data on top of the shipped data: an operator entry with an existing id replaces that entry
 * (in place, so the order stays stable), new ids are appended, acknowledgements add up.
 */
export function mergeCveData(base: CveData, operator: CveData): CveData {
  const entries = [...base.entries];
  for (const e of operator.entries) {
    const i = entries.findIndex((x) => x.id === e.id);
    if (i >= 0) entries[i] = e;
    else entries.push(e);
  }
  return { entries, acks: [...base.acks, ...operator.acks] };
}

/** An acknowledgement of an id no entry has is almost always a typo: refuse it, naming the file and key. */
function checkAcks(data: CveData, source: string, acks: readonly CveAck[], offset: number): void {
  const ids = new Set(data.entries.map((e) => e.id));
  acks.forEach((a, i) => {
    if (!ids.has(a.cve)) {
      throw new CveDataError(`${source}: key "acknowledgements.${i - offset}.cve": unknown CVE id ${a.cve}`);
    }
  });
}

/**
 * Where the shipped config/cves.yaml is: two levels up from src/host when run from source (tsx),
 * three from dist/src/host when built; the package ships `config` next to `dist`.
 */
export function bundledCvePath(): string {
  const candidates = ['../../config/cves.yaml', '../../../config/cves.yaml'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  return candidates.find((p) => existsSync(p)) ?? (candidates[0] as string);
}

export interface LoadCveDataOptions {
  /** Shipped data; defaults to bundledCvePath(). */
  bundledPath?: string;
  /** The operator's file of extra entries and acknowledgements. */
  operatorPath?: string;
  /** When false, a missing operator file is fine (the default path need not exist). */
  operatorRequired?: boolean;
}

/** Shipped data merged with the operator's file, acknowledgements checked against the merged ids. */
export function loadCveData(options: LoadCveDataOptions = {}): CveData {
  const bundledPath = options.bundledPath ?? bundledCvePath();
  const base = loadCveFile(bundledPath);
  checkAcks(base, bundledPath, base.acks, 0);
  const op = options.operatorPath;
  if (op === undefined || (!options.operatorRequired && !existsSync(op))) return base;
  const extra = loadCveFile(op);
  const merged = mergeCveData(base, extra);
  checkAcks(merged, op, merged.acks.slice(base.acks.length), 0);
  return merged;
}
