/**
 * JSON lines: one object per line. Only objects parse: a bare string, number or array has no
 * field names to map, so it is kept as a plain line and flagged.
 */
import type { FieldsResult } from './parser.js';

export function parseJson(line: string): FieldsResult {
  // Cheap refusal before JSON.parse builds an exception for lines that cannot be objects.
  const first = firstNonBlank(line);
  if (first === -1) return { ok: false, reason: 'empty line' };
  if (line.charCodeAt(first) !== 0x7b /* { */) return { ok: false, reason: 'not a JSON object' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: jsonReason(err) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  return { ok: true, fields: value as Record<string, unknown> };
}

/**
 * The source text of a top-level number field: JSON.parse rounds to a double, which holds no
 * nanoseconds past 2^53 ns (April 1970), so an epoch-ns time is read again from its digits.
 */
export function rawNumberField(line: string, key: string): string | undefined {
  const quoted = JSON.stringify(key);
  let at = line.indexOf(quoted);
  while (at >= 0) {
    const m = /^\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(line.slice(at + quoted.length, at + quoted.length + 64));
    if (m) return m[1];
    at = line.indexOf(quoted, at + 1);
  }
  return undefined;
}

function firstNonBlank(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0xfeff) return i;
  }
  return -1;
}

/** V8's message, without the quoted input some versions add (the line itself is the record's body). */
function jsonReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /position (\d+)/.exec(message);
  return at ? `invalid JSON at position ${at[1]}` : message.startsWith('Unexpected end') ? 'invalid JSON: unexpected end' : 'invalid JSON';
}
