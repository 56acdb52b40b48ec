/**
 * The server-side filter of a live log subscription, with the semantics of /api/logs (the
 * warehouse's search): service and host equal, severity at least, every word of `text` a token of
 * the body ("quoted phrases" as substrings), log attributes equal. Two filters that normalise to
 * the same key are one upstream matcher, however many viewers share it.
 */
import { z } from 'zod';
import type { LogRow } from '../../../core/model/log-search.js';
import { servicesToSearch } from '../../../core/http/scoped-log-search.js';
import { isUnrestricted, logRowInScope, type LabelScope } from '../../../core/http/scope.js';
import { searchTerms } from '../../../pipeline/warehouse/log-search.js';

const MAX_TERMS = 32;

export const logFilterSchema = z.strictObject({
  service: z.string().max(256).optional(),
  host: z.string().max(256).optional(),
  /** OpenTelemetry severity number 0-24: rows at or above it. */
  minSeverity: z.number().int().min(0).max(24).optional(),
  /** Words that must all be tokens of the body; "quoted phrases" as written. */
  text: z.string().max(1000).optional(),
  /** Log attributes that must equal these values. */
  attributes: z.record(z.string().max(256), z.string().max(1000)).optional(),
});
export type LogFilter = z.infer<typeof logFilterSchema>;

export interface CompiledLogFilter {
  /** Equal for filters that select the same rows in the same way. */
  key: string;
  normalised: LogFilter;
  matches(row: LogRow): boolean;
}

/** Bytes ClickHouse's hasToken splits on: every non-alphanumeric ASCII byte. */
const SEPARATORS = /[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+/;

/**
 * `scope`: what the viewer's token may see (core/http/scope.ts). It is part of the matcher and of
 * its key, so viewers of one filter and one scope still share one evaluation per record.
 * Throws `forbidden` for a service outside the scope.
 */
export function compileLogFilter(filter: LogFilter, scope?: LabelScope): CompiledLogFilter {
  const service = filter.service?.trim() || undefined;
  servicesToSearch(scope, service);
  const scoped = !isUnrestricted(scope);
  const host = filter.host?.trim() || undefined;
  const minSeverity = filter.minSeverity && filter.minSeverity > 0 ? filter.minSeverity : undefined;
  const terms = searchTerms(filter.text ?? '');
  if (terms.length > MAX_TERMS) throw new RangeError(`"text" has ${terms.length} terms; at most ${MAX_TERMS} are allowed`);
  const attributes = Object.entries(filter.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (attributes.length > MAX_TERMS) throw new RangeError(`${attributes.length} attribute filters; at most ${MAX_TERMS} are allowed`);

  const normalised: LogFilter = {
    ...(service ? { service } : {}),
    ...(host ? { host } : {}),
    ...(minSeverity ? { minSeverity } : {}),
    ...(terms.length ? { text: terms.map((t) => (/\s/.test(t) ? `"${t}"` : t)).join(' ') } : {}),
    ...(attributes.length ? { attributes: Object.fromEntries(attributes) } : {}),
  };
  const checks: Array<(row: LogRow) => boolean> = [];
  if (scoped) checks.push((r) => logRowInScope(scope, r));
  if (service) checks.push((r) => r.serviceName === service);
  if (host) checks.push((r) => r.hostName === host);
  if (minSeverity) checks.push((r) => r.severityNumber >= minSeverity);
  for (const term of terms) {
    const tokens = term.split(SEPARATORS).filter((t) => t !== '');
    for (const token of tokens) checks.push((r) => hasToken(r.body, token));
    if (tokens.length !== 1 || tokens[0] !== term) checks.push((r) => r.body.includes(term));
  }
  for (const [k, v] of attributes) checks.push((r) => r.logAttributes[k] === v);
  return {
    key: JSON.stringify([service ?? '', host ?? '', minSeverity ?? 0, [...terms].sort(), attributes, scoped ? [scope!.service ?? null, scope!.environment ?? null] : null]),
    normalised,
    matches: (row) => checks.every((c) => c(row)),
  };
}

/** As ClickHouse's hasToken: the token occurs bounded by separators or the ends of the body. */
export function hasToken(body: string, token: string): boolean {
  let from = 0;
  for (;;) {
    const i = body.indexOf(token, from);
    if (i < 0) return false;
    const before = i === 0 ? '' : body[i - 1]!;
    const after = i + token.length >= body.length ? '' : body[i + token.length]!;
    if ((before === '' || isSeparator(before)) && (after === '' || isSeparator(after))) return true;
    from = i + 1;
  }
}

function isSeparator(ch: string): boolean {
  const c = ch.charCodeAt(0);
  // Non-ASCII characters are part of tokens for ClickHouse (it splits bytes, not code points).
  return c < 0x80 && SEPARATORS.test(ch);
}
