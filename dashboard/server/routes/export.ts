/**
 * `GET /api/logs/export`: the lines of a log search as a file, NDJSON (one LogRow per line) or CSV
 * (flat columns, attributes as JSON text). Analysts only: an export reads far more than a page.
 *
 * Query: what `/api/logs` takes (`from`, `to`, `q`, `service`, `host`), plus `format`
 * (`ndjson` or `csv`, default ndjson) and `limit` (1-100000, default 10000). Rows are fetched
 * page by page and written as they come, so memory holds one page whatever the limit. A failure
 * after the first bytes cuts the connection: the client sees an incomplete download, not a short
 * file that looks whole.
 *
 * A scoped token (core/http/scope.ts) exports only its services and environments: the scope goes
 * into the warehouse query, and every row is checked again before it is written.
 */
import { stringify } from 'csv-stringify/sync';
import { Router, type Request, type Response } from 'express';
import { PharosError } from '../../../core/errors.js';
import { requireRole, type Principal } from '../../../core/http/auth.js';
import { logRowInScope } from '../../../core/http/scope.js';
import { assertServiceInScope } from '../../../core/http/scoped-log-search.js';
import { sendError } from '../../../core/http/service-server.js';
import type { LogRow } from '../../../core/model/log-search.js';
import type { LogPage, WarehouseLogSearchParams } from '../../../pipeline/warehouse/log-search.js';
import { single } from './delivery.js';
import { parseLogsQuery } from './logs.js';

export const MAX_EXPORT_ROWS = 100_000;
const DEFAULT_EXPORT_ROWS = 10_000;
const PAGE_ROWS = 1000;

export const CSV_COLUMNS = ['time', 'observed_time', 'severity', 'severity_number', 'service', 'host', 'body', 'trace_id', 'span_id', 'resource_attributes', 'log_attributes'] as const;

export interface ExportRouteDeps {
  search: { searchPage(params: WarehouseLogSearchParams): Promise<LogPage> };
  now?: () => number;
}

export function exportRoutes(deps: ExportRouteDeps): Router {
  const now = deps.now ?? Date.now;
  const router = Router();
  router.get('/api/logs/export', requireRole('analyst'), async (req: Request, res: Response) => {
    let params: WarehouseLogSearchParams;
    let format: 'ndjson' | 'csv';
    let limit: number;
    const scope = (res.locals.principal as Principal | undefined)?.scope;
    try {
      const q = req.query as Record<string, unknown>;
      const f = single(q, 'format') ?? 'ndjson';
      if (f !== 'ndjson' && f !== 'csv') throw new PharosError('bad_request', `invalid "format": ${JSON.stringify(f)}; use ndjson or csv`);
      format = f;
      const limitText = single(q, 'limit');
      limit = limitText === undefined ? DEFAULT_EXPORT_ROWS : /^\d{1,6}$/.test(limitText) ? Number(limitText) : NaN;
      if (!(limit >= 1 && limit <= MAX_EXPORT_ROWS)) throw new PharosError('bad_request', `invalid "limit": ${JSON.stringify(limitText)}; use a whole number from 1 to ${MAX_EXPORT_ROWS}`);
      params = parseLogsQuery({ ...q, limit: undefined }, now());
      if (params.service) assertServiceInScope(scope, params.service);
      if (scope) params = { ...params, scope };
    } catch (err) {
      if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
      if (err instanceof PharosError && err.code === 'forbidden') return sendError(res, 403, 'forbidden', err.message);
      throw err;
    }

    let written = 0;
    let cursor: string | undefined;
    let started = false;
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    try {
      while (written < limit && !ac.signal.aborted) {
        const page = await deps.search.searchPage({ ...params, limit: Math.min(PAGE_ROWS, limit - written), cursor });
        if (!started) {
          started = true;
          const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
          res.status(200);
          res.setHeader('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
          res.setHeader('content-disposition', `attachment; filename="pharos-logs-${stamp}.${format === 'csv' ? 'csv' : 'ndjson'}"`);
          if (format === 'csv') res.write(stringify([[...CSV_COLUMNS]]));
        }
        const rows = scope ? page.rows.filter((r) => logRowInScope(scope, r)) : page.rows;
        if (rows.length) res.write(format === 'csv' ? stringify(rows.map(csvRow)) : rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
        written += page.rows.length;
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      res.end();
    } catch (err) {
      if (!started) {
        if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
        if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) return sendError(res, 503, 'unavailable', `log export is unavailable: ${err.message}`);
        throw err;
      }
      // Headers are gone: cutting the connection is the only honest way to say the file is incomplete.
      res.destroy(err as Error);
    }
  });
  return router;
}

function csvRow(r: LogRow): string[] {
  return [
    r.timeUnixNano,
    r.observedTimeUnixNano,
    r.severityText,
    String(r.severityNumber),
    r.serviceName,
    r.hostName,
    r.body,
    r.traceId,
    r.spanId,
    JSON.stringify(r.resourceAttributes),
    JSON.stringify(r.logAttributes),
  ];
}
