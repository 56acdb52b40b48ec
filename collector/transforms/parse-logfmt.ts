/**
 * logfmt (`level=info msg="request done" took=12ms`), as Go's go-logfmt and Heroku write it:
 * space-separated `key=value` pairs, values optionally double-quoted with backslash escapes; a
 * key without `=` is a flag and reads as true. Values stay strings: logfmt carries no types.
 */
import type { FieldsResult } from './parser.js';

const SPACE = 0x20;
const TAB = 0x09;
const EQ = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function parseLogfmt(line: string): FieldsResult {
  const fields: Record<string, string | boolean> = {};
  let pairs = 0;
  let i = 0;
  const n = line.length;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === SPACE || c === TAB) {
      i++;
      continue;
    }
    const keyStart = i;
    while (i < n && (c = line.charCodeAt(i)) !== EQ && c !== SPACE && c !== TAB && c !== QUOTE) i++;
    if (i < n && c === QUOTE) return { ok: false, reason: `quote inside a key at ${i}` };
    const key = line.slice(keyStart, i);
    if (key.length === 0) return { ok: false, reason: `empty key at ${keyStart}` };
    if (i >= n || line.charCodeAt(i) !== EQ) {
      fields[key] = true;
      continue;
    }
    i++; // past '='
    if (i < n && line.charCodeAt(i) === QUOTE) {
      const end = closingQuote(line, i + 1);
      if (end < 0) return { ok: false, reason: `unterminated quote at ${i}` };
      const raw = line.slice(i + 1, end);
      fields[key] = raw.includes('\\') ? unescape(raw) : raw;
      i = end + 1;
    } else {
      const valueStart = i;
      while (i < n && (c = line.charCodeAt(i)) !== SPACE && c !== TAB) i++;
      fields[key] = line.slice(valueStart, i);
    }
    pairs++;
  }
  // Without one pair this is prose that happens to have no '=': a plain line, not logfmt.
  if (pairs === 0) return { ok: false, reason: 'no key=value pairs' };
  return { ok: true, fields };
}

function closingQuote(line: string, from: number): number {
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return -1;
}

function unescape(raw: string): string {
  return raw.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch === 'r' ? '\r' : ch));
}
