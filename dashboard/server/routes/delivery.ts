/**
 * `GET /api/delivery`: per host and source, records received, missing and duplicated sequence
 * numbers, the newest record's age and the records the collector's filters dropped, by reason,
 * over a time range (pipeline/warehouse/delivery.ts). A source that only dropped records has a
 * row with `received` 0 and null seqs, newest record and age.
 *
 * Query: `from`, `to` (see time-expr.ts; default the last hour), `host`, `source`.
 * A scoped token (core/http/scope.ts) sees what its services and environments delivered only.
 */
import { Router, type Request, type Response } from 'express';
import { PharosError } from '../../../core/errors.js';
import { requireRole, type Principal } from '../../../core/http/auth.js';
import { sendError } from '../../../core/http/service-server.js';
import type { DeliveryParams, DeliveryReport, DeliveryRow } from '../../../pipeline/warehouse/delivery.js';
import { formatRfc3339, parseTimeExpr } from '../time-expr.js';

export interface DeliveryResponse {
  status: 'success';
  data: { rows: DeliveryRow[]; from: string; to: string };
}

export interface DeliveryRouteDeps {
  report: DeliveryReport;
  now?: () => number;
}

export function deliveryRoutes(deps: DeliveryRouteDeps): Router {
  const now = deps.now ?? Date.now;
  const router = Router();
  router.get('/api/delivery', requireRole('viewer'), async (req: Request, res: Response) => {
    let params: DeliveryParams;
    try {
      const q = req.query as Record<string, unknown>;
      const nowMs = now();
      const fromNs = parseTimeExpr('from', single(q, 'from') ?? 'now-1h', nowMs);
      const toNs = parseTimeExpr('to', single(q, 'to') ?? 'now', nowMs);
      if (fromNs >= toNs) throw new PharosError('bad_request', `invalid "from": it must be before "to" (from ${formatRfc3339(fromNs)}, to ${formatRfc3339(toNs)})`);
      const scope = (res.locals.principal as Principal | undefined)?.scope;
      params = { fromNs, toNs, host: single(q, 'host') || undefined, source: single(q, 'source') || undefined, ...(scope ? { scope } : {}) };
    } catch (err) {
      if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
      throw err;
    }
    let rows: DeliveryRow[];
    try {
      rows = await deps.report(params);
    } catch (err) {
      if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
      if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) return sendError(res, 503, 'unavailable', `delivery report is unavailable: ${err.message}`);
      throw err;
    }
    const body: DeliveryResponse = { status: 'success', data: { rows, from: formatRfc3339(params.fromNs), to: formatRfc3339(params.toNs) } };
    res.json(body);
  });
  return router;
}

/** A parameter given at most once, as a string. */
export function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new PharosError('bad_request', `invalid "${name}": give it at most once`);
  return v;
}
