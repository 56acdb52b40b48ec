/**
 * Log search as a scoped principal may see it, built on the search's own `service` filter so it
 * works over any LogSearch (the warehouse today, the live tail's poller too):
 *   - a service asked for outside the scope is refused (403, saying what the scope is);
 *   - no service asked for, and the scope names services: one search per allowed service, merged
 *     newest first (each is served by the ServiceName primary-key prefix, so this stays cheap);
 *   - the scope travels in the params (`scope`): the warehouse search puts it in its WHERE
 *     (logScopeSql), so a page is full whatever the scope restricts;
 *   - every row returned is checked against the scope (environment included), so nothing outside
 *     it leaves even if a filter above were wrong, or a search ignored `scope`.
 */
import { PharosError } from '../errors.js';
import type { LogRow, LogSearchParams } from '../model/log-search.js';
import { describeScope, isUnrestricted, logRowInScope, serviceInScope, type LabelScope } from './scope.js';

/** Services searched one by one at most; a scope naming more is searched in one go and filtered. */
const MAX_FANOUT = 16;

export function outsideScope(scope: LabelScope | undefined, what: string): PharosError {
  return new PharosError('forbidden', `${what} is outside what this token may see (${describeScope(scope)})`);
}

/** Wraps a search function (`search`, `searchPage`…) whose params carry `service` and `limit`. */
export function scopedSearch<P extends Pick<LogSearchParams, 'service' | 'limit'>>(
  search: (params: P) => Promise<LogRow[]>,
  scope: LabelScope | undefined,
): (params: P) => Promise<LogRow[]> {
  if (isUnrestricted(scope)) return search;
  return async (params) => {
    const services = servicesToSearch(scope, params.service);
    if (services === undefined) return keep(scope, await search({ ...params, scope }));
    const pages = await Promise.all(services.map((service) => search({ ...params, service, scope })));
    return keep(scope, pages.flat())
      .sort((a, b) => compareNs(b.timeUnixNano, a.timeUnixNano))
      .slice(0, params.limit);
  };
}

/**
 * The services to search one by one; undefined: search as asked (then filter). Throws
 * `forbidden` when the caller names a service outside the scope.
 */
export function servicesToSearch(scope: LabelScope | undefined, asked: string | undefined): string[] | undefined {
  if (asked !== undefined && asked !== '') {
    if (!serviceInScope(scope, asked)) throw outsideScope(scope, `service "${asked}"`);
    return undefined;
  }
  if (!scope?.service || scope.service.length > MAX_FANOUT) return undefined;
  return [...scope.service];
}

/** Refuses a request naming a service outside the scope (routes that need one service, like context). */
export function assertServiceInScope(scope: LabelScope | undefined, service: string): void {
  if (!serviceInScope(scope, service)) throw outsideScope(scope, `service "${service}"`);
}

function keep(scope: LabelScope | undefined, rows: LogRow[]): LogRow[] {
  return rows.filter((r) => logRowInScope(scope, r));
}

function compareNs(a: string, b: string): number {
  // Decimal strings of nanoseconds: longer is larger, same length compares as text.
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}
