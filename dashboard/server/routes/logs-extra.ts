/**
 * `GET /api/logs/histogram` and `GET /api/logs/context`: what the log page draws above and around
 * the lines of `/api/logs` (pipeline/warehouse/log-search.ts).
 *
 * histogram: `from`, `to` (see time-expr.ts; default the last hour), `q`, `service`, `host`,
 *   `attr.<key>=<value>` (repeatable over keys), `buckets` (1-1000, default 60).
 * context: `service` (required), `host`, `time` (the line's time in nanoseconds since the epoch,
 *   as /api/logs returns it), `before`, `after` (0-1000, default 20).
 */
import { Router, type Request, type Response } from 'express';
import { PharosError } from '../../../core/errors.js';
import { requireRole, type Principal } from '../../../core/http/auth.js';
import { logRowInScope, type LabelScope } from '../../../core/http/scope.js';
import { assertServiceInScope } from '../../../core/http/scoped-log-search.js';
import { sendError } from '../../../core/http/service-server.js';
import type { ContextParams, HistogramBucket, HistogramParams, LogContext } from '../../../pipeline/warehouse/log-search.js';
import { formatRfc3339, parseTimeExpr } from '../time-expr.js';
import { single } from './delivery.js';

export interface LogsHistogramResponse {
  status: 'success';
  data: { buckets: HistogramBucket[]; from: string; to: string };
}

export interface LogsContextResponse {
  status: 'success';
  data: LogContext;
}

export interface LogsExtraRouteDeps {
  search: {
    histogram(params: HistogramParams): Promise<HistogramBucket[]>;
    context(params: ContextParams): Promise<LogContext>;
  };
  now?: () => number;
}

const MAX_TEXT_CHARS = 1000;
const MAX_ATTRS = 16;

export function logsExtraRoutes(deps: LogsExtraRouteDeps): Router {
  const now = deps.now ?? Date.now;
  const router = Router();
  router.get('/api/logs/histogram', requireRole('viewer'), (req, res) =>
    answer(res, async () => {
      const params = parseHistogramQuery(req.query as Record<string, unknown>, now());
      const buckets = await scopedHistogram(deps.search, params, scopeOf(res));
      const body: LogsHistogramResponse = { status: 'success', data: { buckets, from: formatRfc3339(params.fromNs), to: formatRfc3339(params.toNs) } };
      return body;
    }),
  );
  router.get('/api/logs/context', requireRole('viewer'), (req: Request, res: Response) =>
    answer(res, async () => {
      const params = parseContextQuery(req.query as Record<string, unknown>);
      const body: LogsContextResponse = { status: 'success', data: await scopedContext(deps.search, params, scopeOf(res)) };
      return body;
    }),
  );
  return router;
}

/** bad_request from parsing or from the warehouse (a refused budget) is the caller's 400. */
async function answer(res: Response, work: () => Promise<unknown>): Promise<void> {
  try {
    res.json(await work());
  } catch (err) {
    if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
    if (err instanceof PharosError && err.code === 'forbidden') return sendError(res, 403, 'forbidden', err.message);
    if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) return sendError(res, 503, 'unavailable', `log search is unavailable: ${err.message}`);
    throw err;
  }
}

const scopeOf = (res: Response): LabelScope | undefined => (res.locals.principal as Principal | undefined)?.scope;

/**
 * Counts of a scoped principal: the warehouse applies the scope in its WHERE (logScopeSql), since
 * counts cannot be filtered after the fact. A service asked for outside the scope is refused.
 */
async function scopedHistogram(search: LogsExtraRouteDeps['search'], params: HistogramParams, scope: LabelScope | undefined): Promise<HistogramBucket[]> {
  if (!scope?.service && !scope?.environment) return search.histogram(params);
  if (params.service) assertServiceInScope(scope, params.service);
  return search.histogram({ ...params, scope });
}

/** Context of a line: its service must be in scope; neighbours outside the scope are skipped. */
async function scopedContext(search: LogsExtraRouteDeps['search'], params: ContextParams, scope: LabelScope | undefined): Promise<LogContext> {
  assertServiceInScope(scope, params.service);
  const context = await search.context({ ...params, scope });
  // The net under the query's own filter: nothing outside the scope leaves.
  if (!scope?.environment) return context;
  const rows = context.rows.filter((r) => logRowInScope(scope, r));
  const index = context.rows.slice(0, context.index).filter((r) => logRowInScope(scope, r)).length;
  return { rows, index };
}

export function parseHistogramQuery(query: Record<string, unknown>, nowMs: number): HistogramParams {
  const fromNs = parseTimeExpr('from', single(query, 'from') ?? 'now-1h', nowMs);
  const toNs = parseTimeExpr('to', single(query, 'to') ?? 'now', nowMs);
  if (fromNs >= toNs) throw new PharosError('bad_request', `invalid "from": it must be before "to" (from ${formatRfc3339(fromNs)}, to ${formatRfc3339(toNs)})`);
  const text = single(query, 'q')?.trim();
  if (text && text.length > MAX_TEXT_CHARS) throw new PharosError('bad_request', `invalid "q": longer than ${MAX_TEXT_CHARS} characters`);
  const attributes: Record<string, string> = {};
  for (const key of Object.keys(query)) {
    if (!key.startsWith('attr.')) continue;
    const name = key.slice('attr.'.length);
    if (name === '') throw new PharosError('bad_request', 'invalid "attr.": name the attribute, as in attr.http.method=GET');
    attributes[name] = single(query, key) ?? '';
  }
  if (Object.keys(attributes).length > MAX_ATTRS) throw new PharosError('bad_request', `too many attr.* filters; at most ${MAX_ATTRS}`);
  return {
    fromNs,
    toNs,
    text: text || undefined,
    service: single(query, 'service') || undefined,
    host: single(query, 'host') || undefined,
    attributes,
    buckets: wholeNumber(query, 'buckets', 60, 1, 1000),
  };
}

export function parseContextQuery(query: Record<string, unknown>): ContextParams {
  const service = single(query, 'service');
  if (!service) throw new PharosError('bad_request', 'missing "service": context is read from one service\'s lines');
  const time = single(query, 'time');
  if (time === undefined || !/^\d{1,19}$/.test(time) || BigInt(time) > 9_223_372_036_854_775_807n) {
    throw new PharosError('bad_request', `invalid "time": ${JSON.stringify(time ?? '')}; give the line's time in nanoseconds since the epoch, as /api/logs returns it`);
  }
  return {
    service,
    host: single(query, 'host') || undefined,
    timeNs: BigInt(time),
    before: wholeNumber(query, 'before', 20, 0, 1000),
    after: wholeNumber(query, 'after', 20, 0, 1000),
  };
}

function wholeNumber(query: Record<string, unknown>, name: string, fallback: number, lo: number, hi: number): number {
  const text = single(query, name);
  if (text === undefined) return fallback;
  const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= lo && n <= hi)) throw new PharosError('bad_request', `invalid "${name}": ${JSON.stringify(text)}; use a whole number from ${lo} to ${hi}`);
  return n;
}
