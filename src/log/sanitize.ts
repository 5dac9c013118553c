// Text from outside (containers, the engine, config files) on its way to a log line, a label or a
// terminal: no control characters (they forge lines, clear screens, move the cursor) and a bounded length.

// C0 and C1 controls (ESC, CSI, newlines…), DEL, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Replace control characters with "?" and cut to `max` characters (marked with "…"). */
export function sanitize(text: string, max = 512): string {
  const clean = text.replace(CONTROL, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * JSON for a terminal or a pipe: JSON.stringify leaves C1 controls (U+009B is a CSI on many
 * terminals) and U+2028/9 raw; escape them too. The result parses to the same value.
 */
export function terminalSafeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
