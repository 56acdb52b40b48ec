/**
 * `GET /api/logs`: recent log lines from the warehouse, newest first.
 *
 * Query: `from`, `to` (see time-expr.ts; default the last hour), `q` (every word must be in the
 * body, "quoted phrases" whole), `service`, `host`, `limit` (1-1000, default 100).
 * The response types are shared with the web app's `features/logs/api.ts`.
 */
import { Router, type Request, type Response } from 'express';
import { PharosError } from '../../../core/errors.js';
import { requireRole, type Principal } from '../../../core/http/auth.js';
import { scopedSearch } from '../../../core/http/scoped-log-search.js';
import { sendError } from '../../../core/http/service-server.js';
import type { LogRow, LogSearch, LogSearchParams } from '../../../core/model/log-search.js';
import { formatRfc3339, parseTimeExpr } from '../time-expr.js';

export interface LogsResponse {
  status: 'success';
  data: {
    rows: LogRow[];
    /** The window searched, RFC 3339 UTC: relative inputs resolved. */
    from: string;
    to: string;
  };
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const DEFAULT_WINDOW = 'now-1h';
const MAX_TEXT_CHARS = 1000;

export interface LogsRouteDeps {
  logs: LogSearch;
  now?: () => number;
}

export function logsRoutes(deps: LogsRouteDeps): Router {
  const now = deps.now ?? Date.now;
  const router = Router();
  router.get('/api/logs', requireRole('viewer'), async (req: Request, res: Response) => {
    let params: LogSearchParams;
    try {
      params = parseLogsQuery(req.query as Record<string, unknown>, now());
    } catch (err) {
      if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
      throw err;
    }
    let rows: LogRow[];
    try {
      // A scoped token sees its services and environments only (core/http/scope.ts).
      rows = await scopedSearch((p: LogSearchParams) => deps.logs.search(p), (res.locals.principal as Principal | undefined)?.scope)(params);
    } catch (err) {
      if (err instanceof PharosError && err.code === 'forbidden') return sendError(res, 403, 'forbidden', err.message);
      // Classified once here so the UI can tell "your query" from "our warehouse".
      if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
      if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) {
        return sendError(res, 503, 'unavailable', `log search is unavailable: ${err.message}`);
      }
      throw err;
    }
    const body: LogsResponse = { status: 'success', data: { rows, from: formatRfc3339(params.fromNs), to: formatRfc3339(params.toNs) } };
    res.json(body);
  });
  return router;
}

/** Validates the query string of /api/logs; throws a `bad_request` PharosError naming the parameter. */
export function parseLogsQuery(query: Record<string, unknown>, nowMs: number): LogSearchParams {
  const from = single(query, 'from');
  const to = single(query, 'to');
  const fromNs = parseTimeExpr('from', from ?? DEFAULT_WINDOW, nowMs);
  const toNs = parseTimeExpr('to', to ?? 'now', nowMs);
  if (fromNs >= toNs) {
    throw new PharosError('bad_request', `invalid "from": it must be before "to" (from ${formatRfc3339(fromNs)}, to ${formatRfc3339(toNs)})`);
  }

  const limitText = single(query, 'limit');
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined) {
    limit = /^\d{1,7}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) {
      throw new PharosError('bad_request', `invalid "limit": ${JSON.stringify(limitText)}; use a whole number from 1 to ${MAX_LIMIT}`);
    }
  }

  const text = single(query, 'q')?.trim();
  if (text && text.length > MAX_TEXT_CHARS) throw new PharosError('bad_request', `invalid "q": longer than ${MAX_TEXT_CHARS} characters`);
  return {
    fromNs,
    toNs,
    text: text || undefined,
    service: single(query, 'service') || undefined,
    host: single(query, 'host') || undefined,
    limit,
  };
}

/** A parameter given at most once, as a string. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new PharosError('bad_request', `invalid "${name}": give it at most once`);
  return v;
}
