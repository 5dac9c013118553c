// Reading an operator's YAML file (the config, the CVE data) with limits: a size cap, an alias cap
// (a "billion laughs" document expands a few aliases into gigabytes), and every failure as one line
// naming the file, so the CLI exits 2 and a reload keeps the previous file, never a crash or a hang.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { sanitize } from '../log/sanitize.js';

/** Far above any real config or CVE file (the shipped CVE data is ~20 KB). */
export const MAX_YAML_BYTES = 1024 * 1024;
/** Aliases a document may resolve; real files use a handful for shared blocks. */
export const MAX_YAML_ALIASES = 100;

export type YamlFileResult = { ok: true; value: unknown } | { ok: false; missing: boolean; message: string };

/** Parse YAML text; `source` names it in messages. The message of a failure is one line. */
export function parseYaml(text: string, source: string): YamlFileResult {
  if (Buffer.byteLength(text) > MAX_YAML_BYTES) return { ok: false, missing: false, message: `${source}: larger than ${MAX_YAML_BYTES} bytes` };
  const lineCounter = new LineCounter();
  let value: unknown;
  try {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
    const err = doc.errors[0];
    if (err) {
      const line = lineCounter.linePos(err.pos[0]).line;
      return { ok: false, missing: false, message: `${source}: invalid YAML${line ? ` at line ${line}` : ''}: ${oneLine(err.message)}` };
    }
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    // toJS throws for an alias bomb ("Excessive alias count") and for unresolvable aliases.
    return { ok: false, missing: false, message: `${source}: invalid YAML: ${oneLine((e as Error).message)}` };
  }
  return { ok: true, value };
}

/** Read and parse a YAML file; `what` says what the file is for in messages ("config file"). */
export function readYamlFile(path: string, what: string): YamlFileResult {
  let text: string;
  try {
    // Checked before reading: a huge file (or /dev/zero) must not be read into memory first.
    const st = statSync(path);
    if (st.isFile() && st.size > MAX_YAML_BYTES) return { ok: false, missing: false, message: `${path}: ${what} is larger than ${MAX_YAML_BYTES} bytes` };
    text = readBounded(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, missing: code === 'ENOENT', message: `${path}: cannot read ${what} (${code ?? oneLine((e as Error).message)})` };
  }
  return parseYaml(text, path);
}

/** Read at most MAX_YAML_BYTES + 1 bytes (a device or pipe has no size to check first). */
function readBounded(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_YAML_BYTES + 1);
    let len = 0;
    for (let n; len < buf.length && (n = readSync(fd, buf, len, buf.length - len, null)) > 0; ) len += n;
    if (len > MAX_YAML_BYTES) throw Object.assign(new Error(`larger than ${MAX_YAML_BYTES} bytes`), { code: 'EFBIG' });
    return buf.subarray(0, len).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function oneLine(message: string): string {
  return sanitize((message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, ''), 300);
}
