/**
 * `GET /api/metrics/query_range`: a metric range for dashboard panels from wherever it lives. A
 * range inside the real-time store's window is evaluated there (full PromQL); an older range is
 * read from the ClickHouse rollups (pipeline/warehouse/metric-range.ts), which answer plain
 * selectors (`metric{label="v"}`) with the last value of each step. The answer says which
 * (`data.source`), and `data.warnings` says when a range was only partly covered.
 *
 * Query: `query` (PromQL), `start`, `end` (unix seconds or RFC 3339), `step` (seconds or a
 * duration like `30s`), as Prometheus's `/api/v1/query_range`. The result is Prometheus's matrix.
 *
 * A scoped token (core/http/scope.ts) sees its services and environments only: the real-time
 * store through prom-api's scopedQuerier, the rollups with the scope's matchers in their WHERE.
 */
import { Router, type Request, type Response } from 'express';
import { PharosError } from '../../../core/errors.js';
import { requireRole, type Principal } from '../../../core/http/auth.js';
import { scopeMatchers, type LabelScope } from '../../../core/http/scope.js';
import { sendError } from '../../../core/http/service-server.js';
import { parseDurationParam, parseTime, scopedQuerier } from '../../../pipeline/realtime/api/prom-api.js';
import { Engine, MAX_POINTS_PER_SERIES } from '../../../pipeline/realtime/promql/engine.js';
import type { Expr } from '../../../pipeline/realtime/promql/parse.js';
import { formatFloat, PromQLError } from '../../../pipeline/realtime/promql/value.js';
import type { Querier } from '../../../pipeline/realtime/storage.js';
import type { LabelMatcher, RangeQuery, RangeResult, Resolution } from '../../../pipeline/warehouse/metric-range.js';
import { single } from './delivery.js';

export type RangeSource = 'realtime' | 'warehouse';

export interface MetricsRangeData {
  resultType: 'matrix';
  result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
  source: RangeSource;
  /** The warehouse table read: raw samples or a rollup. */
  resolution?: Resolution;
  warnings?: string[];
}

export interface MetricsRangeDeps {
  /** The real-time store, when this process runs one (`pharos all`); its window in ms. */
  realtime?: () => { querier: Querier; windowMs: number } | undefined;
  warehouse: { readRange(q: RangeQuery): Promise<RangeResult> };
  now?: () => number;
  timeoutMs?: number;
}

class BadRequest extends Error {}

export function metricsRangeRoutes(deps: MetricsRangeDeps): Router {
  const now = deps.now ?? Date.now;
  const engine = new Engine({ timeoutMs: deps.timeoutMs ?? 30_000 });
  const router = Router();
  router.get('/api/metrics/query_range', requireRole('viewer'), async (req: Request, res: Response) => {
    try {
      const q = req.query as Record<string, unknown>;
      const { query, start, end, step } = parseParams(q);
      let expr: Expr;
      try {
        expr = engine.parse(query);
      } catch (err) {
        throw new BadRequest(`invalid "query": ${(err as Error).message}`);
      }
      const scope = (res.locals.principal as Principal | undefined)?.scope;
      const live = deps.realtime?.();
      const rt = live && { querier: scopedQuerier(live.querier, scope), windowMs: live.windowMs };
      const windowStart = now() - (rt?.windowMs ?? 0);
      const selector = scopedSelector(asSelector(expr), scope);
      let data: MetricsRangeData;
      if (rt && start >= windowStart) {
        data = await fromRealtime(engine, rt.querier, expr, start, end, step);
      } else if (selector) {
        data = await fromWarehouse(deps.warehouse, selector, start, end, step);
      } else if (rt) {
        data = await fromRealtime(engine, rt.querier, expr, start, end, step);
        data.warnings = [
          `only the last ${Math.round(rt.windowMs / 60_000)} min are in the real-time store; older points of this query are missing: the warehouse answers plain selectors like metric{label="value"} only`,
        ];
      } else {
        throw new BadRequest('the real-time store is not available here (still starting, or not run by this process); meanwhile the warehouse answers plain selectors like metric{label="value"} only');
      }
      res.json({ status: 'success', data });
    } catch (err) {
      if (err instanceof BadRequest || (err instanceof PharosError && err.code === 'bad_request')) return sendError(res, 400, 'bad_request', err.message);
      if (err instanceof PromQLError) return sendError(res, err.type === 'timeout' ? 503 : 400, err.type === 'timeout' ? 'unavailable' : 'bad_request', err.message);
      if (isPromParamError(err)) return sendError(res, 400, 'bad_request', err.message);
      if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) return sendError(res, 503, 'unavailable', `metric ranges from the warehouse are unavailable: ${err.message}`);
      throw err;
    }
  });
  return router;
}

function parseParams(q: Record<string, unknown>): { query: string; start: number; end: number; step: number } {
  const query = single(q, 'query');
  if (!query) throw new BadRequest('missing "query": give a PromQL expression');
  const s = single(q, 'start');
  const e = single(q, 'end');
  const st = single(q, 'step');
  if (!s || !e || !st) throw new BadRequest('missing "start", "end" or "step": give unix seconds (or RFC 3339) and a step like 30s');
  const start = parseTime(s, 'start');
  const end = parseTime(e, 'end');
  const step = parseDurationParam(st, 'step');
  if (end < start) throw new BadRequest('invalid "end": it must not be before "start"');
  if (!(step > 0)) throw new BadRequest('invalid "step": it must be positive');
  if ((end - start) / step > MAX_POINTS_PER_SERIES) throw new BadRequest(`too many points: (end - start) / step is above ${MAX_POINTS_PER_SERIES}; use a larger step`);
  return { query, start, end, step };
}

/** prom-api's parameter parsers throw their own error type, with `type: 'bad_data'`. */
function isPromParamError(err: unknown): err is Error {
  return err instanceof Error && (err as { type?: unknown }).type === 'bad_data';
}

/** A plain instant-vector selector, without offset or @: what the rollups can answer. */
function asSelector(expr: Expr): { name: string; matchers: LabelMatcher[] } | undefined {
  if (expr.type !== 'VectorSelector' || expr.offsetMs !== 0 || expr.at !== null) return undefined;
  const nameMatcher = expr.matchers.find((m) => m.name === '__name__' && m.type === '=');
  const name = expr.name ?? nameMatcher?.value;
  if (!name) return undefined;
  return { name, matchers: expr.matchers.filter((m) => m.name !== '__name__').map((m) => ({ name: m.name, op: m.type, value: m.value })) };
}

/** The selector narrowed to the scope: its matchers become part of the rollups' WHERE. */
function scopedSelector(sel: { name: string; matchers: LabelMatcher[] } | undefined, scope: LabelScope | undefined): { name: string; matchers: LabelMatcher[] } | undefined {
  if (!sel) return undefined;
  return { name: sel.name, matchers: [...sel.matchers, ...scopeMatchers(scope).map((m) => ({ name: m.name, op: m.type, value: m.value }))] };
}

async function fromRealtime(engine: Engine, querier: Querier, expr: Expr, start: number, end: number, step: number): Promise<MetricsRangeData> {
  const r = await engine.rangeQueryAsync(querier, expr, start, end, step);
  if (r.resultType !== 'matrix') throw new BadRequest(`the query gives a ${r.resultType}, a range needs a vector`);
  return {
    resultType: 'matrix',
    result: r.series.map((s) => ({ metric: { ...s.metric }, values: s.points.map((p) => [p.t / 1000, formatFloat(p.v)] as [number, string]) })),
    source: 'realtime',
  };
}

async function fromWarehouse(wh: MetricsRangeDeps['warehouse'], sel: { name: string; matchers: LabelMatcher[] }, start: number, end: number, step: number): Promise<MetricsRangeData> {
  // The reader's end is exclusive; Prometheus's is inclusive.
  const r = await wh.readRange({ name: sel.name, matchers: sel.matchers, fromMs: start, toMs: end + 1, stepMs: step });
  return {
    resultType: 'matrix',
    result: r.series.map((s) => ({ metric: { __name__: s.name, ...s.labels }, values: s.points.map((p) => [p.t / 1000, formatFloat(p.last)] as [number, string]) })),
    source: 'warehouse',
    resolution: r.resolution,
    ...(r.truncated ? { warnings: ['more points matched than the warehouse returns at once; the result is cut: use a larger step'] } : {}),
  };
}
