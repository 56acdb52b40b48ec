/**
 * Prometheus-compatible HTTP query API (the subset Grafana's Prometheus data source uses), with
 * Prometheus's JSON envelope, parameter parsing and error types. GET and form-encoded POST alike.
 * Authentication is the business of whoever mounts the router.
 */
import express, { Router, type Request, type Response } from 'express';
import type { LabelMatcher, Labels, Querier } from '../storage.js';
import { Engine, MAX_POINTS_PER_SERIES, tooManyPointsMessage } from '../promql/engine.js';
import { parseExpr } from '../promql/parse.js';
import { formatFloat, PromQLError, type ErrorType, type QueryResult } from '../promql/value.js';
import type { Principal } from '../../../core/http/auth.js';
import { describeScope, isUnrestricted, scopeMatchers, type LabelScope } from '../../../core/http/scope.js';
import type { Head } from '../tsdb/head.js';
import { tsdbStatus } from '../tsdb/stats.js';

export interface PromApiOptions {
  querier: () => Querier;
  /** Clock for the default `time` of instant queries (ms). */
  now?: () => number;
  timeoutMs?: number;
  maxSamples?: number;
}

/** Reported to clients that probe the server's flavour (Grafana does). */
export const BUILD_INFO = {
  version: '2.42.0',
  revision: 'pharos',
  branch: 'pharos',
  buildUser: 'pharos',
  buildDate: '',
  goVersion: 'n/a',
};

// Go's time.Time limits that Prometheus uses when start/end are not given.
const MIN_TIME = -9_223_372_036_854; // ms
const MAX_TIME = 9_223_372_036_854;

const STATUS: Record<ErrorType, number> = { bad_data: 400, execution: 422, timeout: 503, canceled: 499, internal: 500 };

class ApiError extends Error {
  constructor(readonly type: ErrorType, message: string) {
    super(message);
  }
}

type Params = Record<string, string[]>;

function params(req: Request): Params {
  const out: Params = {};
  const add = (src: unknown): void => {
    if (!src || typeof src !== 'object') return;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      const vals = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
      (out[k] ??= []).push(...vals);
    }
  };
  // Form body first, as Go's Request.FormValue prefers it.
  add(req.body);
  add(req.query);
  return out;
}

const first = (p: Params, name: string): string | undefined => p[name]?.[0];

/** Prometheus's parseTime: unix seconds with decimals, or RFC 3339. */
export function parseTime(s: string, name: string): number {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s.trim())) {
    const f = Number(s);
    const sec = Math.trunc(f);
    return sec * 1000 + Math.round((f - sec) * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(s)) {
    const ms = Date.parse(s);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new ApiError('bad_data', `invalid parameter ${JSON.stringify(name)}: cannot parse ${JSON.stringify(s)} to a valid timestamp`);
}

/** Prometheus's parseDuration: float seconds, or a duration like `1m30s`. */
export function parseDurationParam(s: string, name: string): number {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s.trim())) {
    const f = Number(s);
    if (Number.isFinite(f)) return Math.round(f * 1000);
  }
  const units: Record<string, number> = { y: 365 * 86400e3, w: 7 * 86400e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
  const re = /(\d+)(ms|y|w|d|h|m|s)/gy;
  let ms = 0;
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    ms += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  if (s === '' || end !== s.length) throw new ApiError('bad_data', `invalid parameter ${JSON.stringify(name)}: cannot parse ${JSON.stringify(s)} to a valid duration`);
  return ms;
}

function encodeResult(r: QueryResult): { resultType: string; result: unknown } {
  const ts = (t: number): number => t / 1000;
  switch (r.resultType) {
    case 'scalar': return { resultType: 'scalar', result: [ts(r.t), formatFloat(r.v)] };
    case 'string': return { resultType: 'string', result: [ts(r.t), r.s] };
    case 'vector':
      return { resultType: 'vector', result: r.samples.map((s) => ({ metric: s.metric, value: [ts(r.t), formatFloat(s.v)] })) };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: r.series.map((s) => ({ metric: s.metric, values: s.points.map((p) => [ts(p.t), formatFloat(p.v)]) })),
      };
  }
}

function matchersOf(p: Params, required: boolean): LabelMatcher[][] {
  const sels = p['match[]'] ?? [];
  if (required && sels.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
  return sels.map((s) => {
    let e;
    try {
      e = parseExpr(s);
    } catch (err) {
      throw new ApiError('bad_data', `invalid parameter "match[]": ${(err as Error).message}`);
    }
    if (e.type !== 'VectorSelector') throw new ApiError('bad_data', 'invalid parameter "match[]": match[] must be an instant vector selector');
    return e.matchers;
  });
}

function timeRange(p: Params): [number, number] {
  const s = first(p, 'start');
  const e = first(p, 'end');
  const start = s ? parseTime(s, 'start') : MIN_TIME;
  const end = e ? parseTime(e, 'end') : MAX_TIME;
  if (end < start) throw new ApiError('bad_data', 'invalid parameter "end": end timestamp must not be before start time');
  return [start, end];
}

export function promApiRouter(opts: PromApiOptions): Router {
  const router = Router();
  const now = opts.now ?? Date.now;
  const engine = new Engine({ ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.maxSamples !== undefined ? { maxSamples: opts.maxSamples } : {}) });
  router.use(express.urlencoded({ extended: false, limit: '1mb' }));

  const ok = (res: Response, data: unknown): void => {
    res.status(200).json({ status: 'success', data });
  };
  const fail = (res: Response, err: unknown): void => {
    const type: ErrorType = err instanceof PromQLError || err instanceof ApiError ? err.type : 'internal';
    const message = err instanceof Error ? err.message : String(err);
    res.status(STATUS[type]).json({ status: 'error', errorType: type, error: message });
  };
  const handle = (fn: (p: Params, req: Request) => unknown) => async (req: Request, res: Response): Promise<void> => {
    try {
      const data = await fn(params(req), req);
      if (!res.headersSent && !res.writableEnded) ok(res, data);
    } catch (err) {
      if (!res.headersSent && !res.writableEnded) fail(res, err);
    }
  };

  const queryTimeout = (p: Params): number | undefined => {
    const t = first(p, 'timeout');
    if (!t) return opts.timeoutMs;
    const ms = parseDurationParam(t, 'timeout');
    return opts.timeoutMs !== undefined ? Math.min(ms, opts.timeoutMs) : ms;
  };

  const parseQuery = (p: Params): ReturnType<typeof parseExpr> => {
    const q = first(p, 'query');
    if (q === undefined) throw new ApiError('bad_data', 'invalid parameter "query": query must not be empty');
    try {
      return engine.parse(q);
    } catch (err) {
      if (err instanceof PromQLError) throw new ApiError(err.type, `invalid parameter "query": ${err.message}`);
      throw err;
    }
  };

  /** The store as the caller may see it: a scoped principal's matchers join every selector. */
  const querierFor = (req: Request): Querier => scopedQuerier(opts.querier(), (req.res?.locals.principal as Principal | undefined)?.scope);

  /** Aborted when the client goes away, so a query stops at its next check. */
  const signalFor = (req: Request): AbortSignal => {
    const ac = new AbortController();
    req.res?.on('close', () => {
      if (!req.res?.writableFinished) ac.abort();
    });
    return ac.signal;
  };

  const query = handle((p, req) => {
    const t = first(p, 'time');
    const time = t ? parseTime(t, 'time') : now();
    const expr = parseQuery(p);
    const timeoutMs = queryTimeout(p);
    return encodeResult(engine.instantQuery(querierFor(req), expr, time, { signal: signalFor(req), ...(timeoutMs !== undefined ? { timeoutMs } : {}) }));
  });

  const queryRange = handle(async (p, req) => {
    const s = first(p, 'start');
    const e = first(p, 'end');
    const st = first(p, 'step');
    if (!s) throw new ApiError('bad_data', 'invalid parameter "start": cannot parse "" to a valid timestamp');
    if (!e) throw new ApiError('bad_data', 'invalid parameter "end": cannot parse "" to a valid timestamp');
    const start = parseTime(s, 'start');
    const end = parseTime(e, 'end');
    if (end < start) throw new ApiError('bad_data', 'invalid parameter "end": end timestamp must not be before start time');
    if (!st) throw new ApiError('bad_data', 'invalid parameter "step": cannot parse "" to a valid duration');
    const step = parseDurationParam(st, 'step');
    if (step <= 0) throw new ApiError('bad_data', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((end - start) / step > MAX_POINTS_PER_SERIES) throw new ApiError('bad_data', tooManyPointsMessage());
    const expr = parseQuery(p);
    const timeoutMs = queryTimeout(p);
    // Range queries are the heavy ones: evaluated in slices so they do not hold the event loop.
    return engine
      .rangeQueryAsync(querierFor(req), expr, start, end, step, { signal: signalFor(req), ...(timeoutMs !== undefined ? { timeoutMs } : {}) })
      .then(encodeResult);
  });

  const series = handle((p, req) => {
    const [start, end] = timeRange(p);
    const q = querierFor(req);
    const seen = new Map<string, Labels>();
    for (const ms of matchersOf(p, true)) {
      for (const l of q.series(ms, start, end)) seen.set(JSON.stringify(Object.entries(l).sort()), l);
    }
    return [...seen.values()];
  });

  const labels = handle((p, req) => {
    const [start, end] = timeRange(p);
    const q = querierFor(req);
    const sets = matchersOf(p, false);
    const names = new Set<string>();
    for (const ms of sets.length ? sets : [[]]) for (const n of q.labelNames(ms, start, end)) names.add(n);
    return [...names].sort();
  });

  const labelValues = handle((p, req) => {
    const name = String(req.params.name ?? '');
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new ApiError('bad_data', `invalid label name: ${JSON.stringify(name)}`);
    const [start, end] = timeRange(p);
    const q = querierFor(req);
    const sets = matchersOf(p, false);
    const values = new Set<string>();
    for (const ms of sets.length ? sets : [[]]) for (const v of q.labelValues(name, ms, start, end)) values.add(v);
    return [...values].sort();
  });

  router.get('/api/v1/query', query);
  router.post('/api/v1/query', query);
  router.get('/api/v1/query_range', queryRange);
  router.post('/api/v1/query_range', queryRange);
  router.get('/api/v1/series', series);
  router.post('/api/v1/series', series);
  router.get('/api/v1/labels', labels);
  router.post('/api/v1/labels', labels);
  router.get('/api/v1/label/:name/values', labelValues);
  router.get('/api/v1/status/buildinfo', handle(() => BUILD_INFO));
  return router;
}

/**
 * Label scope (core/http/scope.ts) enforced where every selector reaches the store: its matchers
 * are appended to each select, series and label lookup, so no query shape can see past them.
 */
export function scopedQuerier(q: Querier, scope: LabelScope | undefined): Querier {
  const extra = scopeMatchers(scope);
  if (extra.length === 0) return q;
  const narrow = (ms: readonly LabelMatcher[]): LabelMatcher[] => [...ms, ...extra];
  return {
    select: (ms, minT, maxT, signal) => q.select(narrow(ms), minT, maxT, signal),
    labelNames: (ms, minT, maxT) => q.labelNames(narrow(ms), minT, maxT),
    labelValues: (name, ms, minT, maxT) => q.labelValues(name, narrow(ms), minT, maxT),
    series: (ms, minT, maxT) => q.series(narrow(ms), minT, maxT),
  };
}

/**
 * `/api/v1/status/tsdb`: the head's cardinality, `limit` (1-1000, default 10) entries per list.
 * Its counts span every series and name label values of all of them, so a scoped principal is
 * refused rather than shown what lies outside its scope.
 */
export function tsdbStatusRouter(head: Head): Router {
  const router = Router();
  router.get('/api/v1/status/tsdb', (req, res) => {
    const scope = (res.locals.principal as Principal | undefined)?.scope;
    if (!isUnrestricted(scope)) {
      res.status(403).json({ status: 'error', errorType: 'forbidden', error: `the TSDB status counts every series; this token may see ${describeScope(scope)} only: use /api/v1/series or count by (__name__) ({__name__=~".+"}) instead` });
      return;
    }
    const limit = Math.min(Math.max(Number(req.query.limit ?? 10) || 10, 1), 1000);
    res.json({ status: 'success', data: tsdbStatus(head, limit) });
  });
  return router;
}
