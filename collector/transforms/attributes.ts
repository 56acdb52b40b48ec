/**
 * Parsed fields as log attributes: nested objects flattened with dots (`req.method`), so every
 * field is a column a query can name; arrays and objects nested past the depth cap are kept as
 * JSON text, since OTLP consumers and the warehouse's Map(String, String) read flat scalars best.
 */
import type { Attributes } from '../../core/model/records.js';

/** Deep enough for real logs; a hostile line cannot make the flattening recurse without bound. */
const MAX_DEPTH = 8;

export function flattenInto(out: Attributes, key: string, value: unknown, depth = 0): void {
  if (value === null || typeof value !== 'object') {
    set(out, key, scalar(value));
    return;
  }
  if (Array.isArray(value) || depth >= MAX_DEPTH) {
    set(out, key, JSON.stringify(value));
    return;
  }
  let empty = true;
  for (const k in value) {
    empty = false;
    flattenInto(out, `${key}.${k}`, (value as Record<string, unknown>)[k], depth + 1);
  }
  if (empty) set(out, key, '{}');
}

function scalar(v: unknown): string | number | boolean | null {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'undefined':
      return null;
    default:
      return v === null ? null : String(v);
  }
}

function set(out: Attributes, key: string, v: string | number | boolean | null): void {
  // A JSON field named __proto__ is an own property after JSON.parse; assigning it would change
  // the attributes object's prototype instead of adding a field.
  if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  else out[key] = v;
}
