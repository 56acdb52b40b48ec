/**
 * ClickHouse's TabSeparated text for the writer's rows. Compared with JSONEachRow it drops the
 * key names of every row (most of a log row's JSON bytes) and ClickHouse parses it faster.
 *
 * Lone surrogates need no care here, unlike JSON: Buffer's UTF-8 encoder writes U+FFFD for them,
 * the same replacement `toWellFormed` makes.
 */

// One pass with a callback is slower than testing first: almost every string needs no escape.
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const NEEDS_QUOTED_ESCAPE = /[\\\t\n\r\0']/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', "'": "\\'" };

/** A String field. */
export function tsvString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[\\\t\n\r\0]/g, (c) => ESCAPES[c]!) : s;
}

/** A string inside a composite value (a Map's key or value), quoted as ClickHouse's text form wants. */
export function tsvQuoted(s: string): string {
  return NEEDS_QUOTED_ESCAPE.test(s) ? `'${s.replace(/[\\\t\n\r\0']/g, (c) => ESCAPES[c]!)}'` : `'${s}'`;
}

/** A Map(String, String) field from a string record. */
export function tsvMap(m: Readonly<Record<string, string>>): string {
  let out = '{';
  let first = true;
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    out += `${first ? '' : ','}${tsvQuoted(k)}:${tsvQuoted(m[k]!)}`;
    first = false;
  }
  return `${out}}`;
}

/** A Float64 field; ClickHouse spells the non-finite values its own way. */
export function tsvFloat(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}
