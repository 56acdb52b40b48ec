/**
 * PromQL evaluation with Prometheus 2.x semantics.
 *
 * Every selector's samples are loaded once for the whole query (the union of the windows its
 * evaluation times need), then the expression is evaluated step by step; subquery steps are cached,
 * being aligned to absolute multiples of their step. Evaluation is synchronous, so a timeout is
 * enforced by checking a deadline (and an AbortSignal) inside the loops rather than by a timer.
 * Range queries of the shapes dashboards run are evaluated column-wise instead (range-eval.ts)
 * and, over a store that reports its changes (the head), answered through a result cache of past
 * steps (result-cache.ts).
 */
import type { LabelMatcher, Querier, SeriesSamples } from '../storage.js';
import { aggregate } from './aggregations.js';
import { binaryOp } from './binary.js';
import { callFunction } from './functions.js';
import { ColumnarEvaluator, columnarSupported } from './range-eval.js';
import { DEFAULT_RESULT_CACHE_BYTES, isChangeFeed, ResultCache, windowExtent, type Evaluate } from './result-cache.js';
import {
  exprType, parseExpr, typeName,
  type AtModifier, type Call, type Expr, type ParseOptions, type SubqueryExpr, type VectorSelector,
} from './parse.js';
import {
  dropName, labelsKey, PromQLError, WindowSeries, sortSeries, timeoutMessage, tooManySamplesMessage,
  type MatrixValue, type QueryResult, type RangeSeries, type ResultSeries, type Sample, type Value, type VectorValue,
} from './value.js';
import { lowerBound, upperBound } from '../tsdb/sorted-search.js';

export interface EngineOptions extends ParseOptions {
  /** How far back an instant selector looks for a sample (ms). */
  lookbackDeltaMs?: number;
  /** Cap on samples loaded from storage plus points produced, per query. */
  maxSamples?: number;
  /** Per-query timeout (ms). */
  timeoutMs?: number;
  /** Subquery step when none is given (Prometheus uses the global evaluation interval). */
  defaultSubqueryStepMs?: number;
  /** Cap on points per series in a range query. */
  maxPointsPerSeries?: number;
  /** Evaluate supported range queries column-wise (see range-eval.ts); off only to compare both paths. */
  columnar?: boolean;
  /**
   * Bytes for range results kept to answer overlapping range queries (result-cache.ts): only
   * column-wise queries over a store that reports its changes (the head). 0 disables it.
   */
  resultCacheBytes?: number;
}

export interface QueryOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export const DEFAULT_LOOKBACK_MS = 5 * 60_000;
export const DEFAULT_MAX_SAMPLES = 50_000_000;
export const DEFAULT_TIMEOUT_MS = 120_000;
export const MAX_POINTS_PER_SERIES = 11_000;
const PARSED_QUERIES = 256;

export function tooManyPointsMessage(): string {
  return 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)';
}

export class Engine {
  readonly opts: Required<Omit<EngineOptions, keyof ParseOptions>> & ParseOptions;
  /** Range results by query (null when disabled). */
  readonly resultCache: ResultCache | null;

  constructor(opts: EngineOptions = {}) {
    this.opts = {
      ...opts,
      lookbackDeltaMs: opts.lookbackDeltaMs ?? DEFAULT_LOOKBACK_MS,
      maxSamples: opts.maxSamples ?? DEFAULT_MAX_SAMPLES,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      defaultSubqueryStepMs: opts.defaultSubqueryStepMs ?? 60_000,
      maxPointsPerSeries: opts.maxPointsPerSeries ?? MAX_POINTS_PER_SERIES,
      columnar: opts.columnar ?? true,
      resultCacheBytes: opts.resultCacheBytes ?? DEFAULT_RESULT_CACHE_BYTES,
    };
    this.resultCache = this.opts.resultCacheBytes > 0 ? new ResultCache(this.opts.resultCacheBytes, this.opts.maxPointsPerSeries) : null;
  }

  /** Parsed queries, least recently used first: dashboards send the same few again and again. */
  private readonly parsed = new Map<string, Expr>();
  /** The text each tree this engine parsed came from: the result cache's key for it. */
  private readonly sources = new WeakMap<Expr, string>();

  /** The query's syntax tree (shared by equal queries: evaluation never changes a tree). */
  parse(query: string): Expr {
    const hit = this.parsed.get(query);
    if (hit) {
      this.parsed.delete(query);
      this.parsed.set(query, hit);
      return hit;
    }
    const expr = parseExpr(query, this.opts);
    if (this.parsed.size >= PARSED_QUERIES) this.parsed.delete(this.parsed.keys().next().value!);
    this.parsed.set(query, expr);
    this.sources.set(expr, query);
    return expr;
  }

  instantQuery(querier: Querier, query: string | Expr, timeMs: number, qo: QueryOptions = {}): QueryResult {
    const expr = typeof query === 'string' ? this.parse(query) : query;
    const ev = new Evaluator(querier, this.opts, timeMs, timeMs, 0, qo);
    ev.load(expr);
    const v = ev.evalAt(expr, timeMs);
    switch (v.type) {
      case 'scalar': return { resultType: 'scalar', t: timeMs, v: v.v };
      case 'string': return { resultType: 'string', t: timeMs, s: v.s };
      case 'vector': return { resultType: 'vector', t: timeMs, samples: v.samples };
      case 'matrix':
        return {
          resultType: 'matrix',
          series: sortSeries(v.series.map((s) => ({ metric: s.metric, points: Array.from(s.t, (t, i) => ({ t, v: s.v[i]! })) }))),
        };
    }
  }

  rangeQuery(querier: Querier, query: string | Expr, startMs: number, endMs: number, stepMs: number, qo: QueryOptions = {}): QueryResult {
    const steps = this.rangeSteps(querier, query, startMs, endMs, stepMs, qo);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * Like rangeQuery, but hands the event loop back every `sliceMs` of work, so other requests (and
   * ingestion) proceed while a heavy query runs, and an abort of its signal (a client that went away)
   * is noticed at the next slice.
   */
  async rangeQueryAsync(
    querier: Querier, query: string | Expr, startMs: number, endMs: number, stepMs: number, qo: QueryOptions & { sliceMs?: number } = {},
  ): Promise<QueryResult> {
    const sliceMs = qo.sliceMs ?? 10;
    const steps = this.rangeSteps(querier, query, startMs, endMs, stepMs, qo);
    let sliceStart = Date.now();
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (Date.now() - sliceStart >= sliceMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = Date.now();
      }
    }
  }

  /** A column-wise range through the result cache, or null when this query cannot use it. */
  private cachedRange(
    querier: Querier, query: string | Expr, expr: Expr, startMs: number, endMs: number, stepMs: number, evaluate: Evaluate,
  ): ResultSeries[] | null {
    // A tree is keyed by the text it was parsed from; one parsed elsewhere is not cached.
    const text = typeof query === 'string' ? query : this.sources.get(query);
    if (!this.resultCache || text === undefined || !isChangeFeed(querier)) return null;
    // Steps are matched by position on the grid: whole milliseconds only.
    if (![startMs, endMs, stepMs].every(Number.isSafeInteger)) return null;
    const extent = windowExtent(expr, this.opts.lookbackDeltaMs);
    if (!extent) return null;
    const out = this.resultCache.rangeQuery(querier, text, extent, startMs, endMs, stepMs, evaluate);
    let points = 0;
    for (const x of out) points += x.points.length;
    if (points > this.opts.maxSamples) throw new PromQLError('execution', tooManySamplesMessage);
    return out;
  }

  /** The range evaluation, yielding after each step. */
  private *rangeSteps(
    querier: Querier, query: string | Expr, startMs: number, endMs: number, stepMs: number, qo: QueryOptions,
  ): Generator<void, QueryResult, void> {
    const expr = typeof query === 'string' ? this.parse(query) : query;
    const t = exprType(expr);
    if (t !== 'scalar' && t !== 'vector') {
      throw new PromQLError('bad_data', `invalid expression type ${JSON.stringify(typeName(t))} for range query, must be Scalar or instant Vector`);
    }
    if (!(stepMs > 0)) throw new PromQLError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    if (endMs < startMs) throw new PromQLError('bad_data', 'end timestamp must not be before start time');
    if ((endMs - startMs) / stepMs > this.opts.maxPointsPerSeries) throw new PromQLError('bad_data', tooManyPointsMessage());
    if (this.opts.columnar && columnarSupported(expr)) {
      const evaluate = (s: number, e: number): ResultSeries[] => {
        const ev = new Evaluator(querier, this.opts, s, e, stepMs, qo);
        ev.load(expr);
        const out = new ColumnarEvaluator(ev, s, e, stepMs).run(expr);
        for (const x of out) ev.addSamples(x.points.length);
        return out;
      };
      const out = this.cachedRange(querier, query, expr, startMs, endMs, stepMs, evaluate) ?? evaluate(startMs, endMs);
      return { resultType: 'matrix', series: sortSeries(out) };
    }
    const ev = new Evaluator(querier, this.opts, startMs, endMs, stepMs, qo);
    ev.load(expr);
    const series = new Map<string, ResultSeries>();
    for (let ts = startMs; ts <= endMs; ts += stepMs) {
      ev.check();
      const v = ev.evalAt(expr, ts);
      const samples: Sample[] = v.type === 'scalar' ? [{ metric: {}, v: v.v }] : v.type === 'vector' ? v.samples : [];
      for (const s of samples) {
        const k = labelsKey(s.metric);
        let rs = series.get(k);
        if (!rs) series.set(k, (rs = { metric: s.metric, points: [] }));
        rs.points.push({ t: ts, v: s.v });
      }
      ev.addSamples(samples.length);
      yield;
    }
    return { resultType: 'matrix', series: sortSeries([...series.values()]) };
  }
}

interface Loaded {
  series: SeriesSamples[];
}

class Evaluator {
  private readonly windows = new Map<string, { matchers: LabelMatcher[]; mint: number; maxt: number }>();
  private readonly data = new Map<string, Loaded>();
  private readonly subqueryCache = new Map<SubqueryExpr, Map<number, VectorValue>>();
  private samples = 0;
  private ticks = 0;
  private readonly deadline: number;

  constructor(
    private readonly querier: Querier,
    private readonly opts: Engine['opts'],
    private readonly start: number,
    private readonly end: number,
    private readonly step: number,
    private readonly qo: QueryOptions,
  ) {
    this.deadline = Date.now() + (qo.timeoutMs ?? opts.timeoutMs);
  }

  /** Throws once the query has run out of time or was cancelled; cheap enough for inner loops. */
  check(): void {
    const sig = this.qo.signal;
    if (sig?.aborted) {
      const reason = sig.reason as { name?: string } | undefined;
      if (reason?.name === 'TimeoutError') throw new PromQLError('timeout', timeoutMessage);
      throw new PromQLError('canceled', 'query was canceled in query execution');
    }
    if (Date.now() > this.deadline) throw new PromQLError('timeout', timeoutMessage);
  }

  private tick(): void {
    if ((++this.ticks & 0x3ff) === 0) this.check();
  }

  addSamples(n: number): void {
    this.samples += n;
    if (this.samples > this.opts.maxSamples) throw new PromQLError('execution', tooManySamplesMessage);
  }

  private atTime(at: AtModifier | null, t: number): number {
    if (!at) return t;
    if (at.kind === 'start') return this.start;
    if (at.kind === 'end') return this.end;
    return at.ms;
  }

  private readonly keys = new WeakMap<VectorSelector, string>();
  /** Selectors with the same matchers share one load. */
  private key(sel: VectorSelector): string {
    let k = this.keys.get(sel);
    if (k === undefined) this.keys.set(sel, (k = JSON.stringify(sel.matchers)));
    return k;
  }

  /**
   * Per selector node and series, where the last window started and ended: evaluation times mostly
   * increase, so the next window is found by stepping forward instead of a binary search.
   */
  private readonly cursors = new WeakMap<VectorSelector, Int32Array>();

  private window(sel: VectorSelector, idx: number, count: number, ts: Float64Array, minT: number, maxT: number): [number, number] {
    let c = this.cursors.get(sel);
    if (!c || c.length !== 2 * count) {
      c = new Int32Array(2 * count).fill(-1);
      this.cursors.set(sel, c);
    }
    let lo = c[2 * idx]!;
    let hi = c[2 * idx + 1]!;
    if (lo < 0 || (lo > 0 && ts[lo - 1]! >= minT) || (hi > 0 && ts[hi - 1]! > maxT)) {
      lo = lowerBound(ts, minT);
      hi = upperBound(ts, maxT);
    } else {
      while (lo < ts.length && ts[lo]! < minT) lo++;
      if (hi < lo) hi = lo;
      while (hi < ts.length && ts[hi]! <= maxT) hi++;
    }
    c[2 * idx] = lo;
    c[2 * idx + 1] = hi;
    return [lo, hi];
  }

  /** Records the time window every selector needs for evaluation times in [s, e], then loads them. */
  load(expr: Expr): void {
    this.plan(expr, this.start, this.end);
    for (const [k, w] of this.windows) {
      this.check();
      let series: SeriesSamples[];
      try {
        series = this.querier.select(w.matchers, w.mint, w.maxt, this.qo.signal);
      } catch (err) {
        // A store that gave up because of our signal reports it as the query's cancellation/timeout.
        if (this.qo.signal?.aborted) this.check();
        throw err;
      }
      let n = 0;
      for (const s of series) n += s.timestamps.length;
      this.addSamples(n);
      this.data.set(k, { series });
    }
  }

  private need(sel: VectorSelector, mint: number, maxt: number): void {
    const k = this.key(sel);
    const w = this.windows.get(k);
    if (!w) this.windows.set(k, { matchers: sel.matchers, mint, maxt });
    else {
      w.mint = Math.min(w.mint, mint);
      w.maxt = Math.max(w.maxt, maxt);
    }
  }

  private plan(e: Expr, s: number, en: number): void {
    switch (e.type) {
      case 'VectorSelector': {
        const a = e.at ? this.atTime(e.at, 0) : s;
        const b = e.at ? this.atTime(e.at, 0) : en;
        this.need(e, a - e.offsetMs - this.opts.lookbackDeltaMs, b - e.offsetMs);
        return;
      }
      case 'MatrixSelector': {
        const v = e.vector;
        const a = v.at ? this.atTime(v.at, 0) : s;
        const b = v.at ? this.atTime(v.at, 0) : en;
        this.need(v, a - v.offsetMs - e.rangeMs, b - v.offsetMs);
        return;
      }
      case 'SubqueryExpr': {
        const a = e.at ? this.atTime(e.at, 0) : s;
        const b = e.at ? this.atTime(e.at, 0) : en;
        this.plan(e.expr, a - e.offsetMs - e.rangeMs, b - e.offsetMs);
        return;
      }
      case 'Call': for (const a of e.args) this.plan(a, s, en); return;
      case 'AggregateExpr': if (e.param) this.plan(e.param, s, en); this.plan(e.expr, s, en); return;
      case 'BinaryExpr': this.plan(e.lhs, s, en); this.plan(e.rhs, s, en); return;
      case 'UnaryExpr': case 'ParenExpr': this.plan(e.expr, s, en); return;
      default: return;
    }
  }

  evalAt(e: Expr, t: number): Value {
    switch (e.type) {
      case 'NumberLiteral': return { type: 'scalar', v: e.value };
      case 'StringLiteral': return { type: 'string', s: e.value };
      case 'ParenExpr': return this.evalAt(e.expr, t);
      case 'UnaryExpr': {
        const v = this.evalAt(e.expr, t);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', v: -v.v };
        if (v.type !== 'vector') throw new PromQLError('internal', 'unary minus on a non-vector');
        return checkDup({ type: 'vector', samples: v.samples.map((s) => ({ metric: dropName(s.metric), v: -s.v })) });
      }
      case 'VectorSelector': return this.vectorSelector(e, t);
      case 'MatrixSelector': return this.matrixSelector(e.vector, e.rangeMs, t);
      case 'SubqueryExpr': return this.subquery(e, t);
      case 'Call': {
        const args = e.args.map((a) => this.evalAt(a, t));
        const v = callFunction(e, args, t);
        return v.type === 'vector' && !cannotDuplicate(e) ? checkDup(v) : v;
      }
      case 'AggregateExpr': {
        let param: number | string | undefined;
        if (e.param) {
          const p = this.evalAt(e.param, t);
          param = p.type === 'scalar' ? p.v : p.type === 'string' ? p.s : undefined;
        }
        const inner = this.evalAt(e.expr, t);
        if (inner.type !== 'vector') throw new PromQLError('internal', 'aggregation over a non-vector');
        return { type: 'vector', samples: aggregate(e, inner.samples, param) };
      }
      case 'BinaryExpr': {
        const l = this.evalAt(e.lhs, t);
        const r = this.evalAt(e.rhs, t);
        const v = binaryOp(e, l, r);
        return v.type === 'vector' ? checkDup(v) : v;
      }
    }
  }

  get lookbackMs(): number {
    return this.opts.lookbackDeltaMs;
  }

  loaded(sel: VectorSelector): SeriesSamples[] {
    return this.data.get(this.key(sel))?.series ?? [];
  }

  private vectorSelector(sel: VectorSelector, t: number): VectorValue {
    const ref = this.atTime(sel.at, t) - sel.offsetMs;
    const minT = ref - this.opts.lookbackDeltaMs;
    const out: Sample[] = [];
    for (const s of this.loaded(sel)) {
      this.tick();
      const i = upperBound(s.timestamps, ref) - 1;
      if (i < 0) continue;
      const ts = s.timestamps[i]!;
      if (ts < minT) continue;
      // A staleness marker ends the series: nothing is returned until a new sample arrives.
      if (s.staleAt?.has(ts)) continue;
      out.push({ metric: s.labels, v: s.values[i]!, ts });
    }
    return { type: 'vector', samples: out };
  }

  private matrixSelector(sel: VectorSelector, rangeMs: number, t: number): MatrixValue {
    const ref = this.atTime(sel.at, t) - sel.offsetMs;
    const minT = ref - rangeMs;
    const out: RangeSeries[] = [];
    const all = this.loaded(sel);
    for (let idx = 0; idx < all.length; idx++) {
      const s = all[idx]!;
      this.tick();
      const [lo, hi] = this.window(sel, idx, all.length, s.timestamps, minT, ref);
      if (hi <= lo) continue;
      if (s.staleAt && s.staleAt.size > 0) {
        const keep: number[] = [];
        for (let i = lo; i < hi; i++) if (!s.staleAt.has(s.timestamps[i]!)) keep.push(i);
        if (keep.length !== hi - lo) {
          if (keep.length === 0) continue;
          out.push({ metric: s.labels, t: Float64Array.from(keep, (i) => s.timestamps[i]!), v: Float64Array.from(keep, (i) => s.values[i]!) });
          continue;
        }
      }
      out.push(new WindowSeries(s.labels, s.timestamps, s.values, lo, hi));
    }
    return { type: 'matrix', series: out, rangeStart: minT, rangeEnd: ref };
  }

  private subquery(e: SubqueryExpr, t: number): MatrixValue {
    const ref = this.atTime(e.at, t) - e.offsetMs;
    const step = e.stepMs || this.opts.defaultSubqueryStepMs;
    const from = ref - e.rangeMs;
    let first = Math.floor(from / step) * step;
    if (first < from) first += step;
    let cache = this.subqueryCache.get(e);
    if (!cache) this.subqueryCache.set(e, (cache = new Map()));
    const series = new Map<string, { metric: Sample['metric']; t: number[]; v: number[] }>();
    for (let ts = first; ts <= ref; ts += step) {
      this.check();
      let v = cache.get(ts);
      if (!v) {
        const r = this.evalAt(e.expr, ts);
        if (r.type !== 'vector') throw new PromQLError('internal', 'subquery over a non-vector');
        v = r;
        cache.set(ts, v);
        this.addSamples(v.samples.length);
      }
      for (const s of v.samples) {
        const k = labelsKey(s.metric);
        let rs = series.get(k);
        if (!rs) series.set(k, (rs = { metric: s.metric, t: [], v: [] }));
        rs.t.push(ts);
        rs.v.push(s.v);
      }
    }
    return {
      type: 'matrix',
      series: [...series.values()].map((s) => ({ metric: s.metric, t: Float64Array.from(s.t), v: Float64Array.from(s.v) })),
      rangeStart: from,
      rangeEnd: ref,
    };
  }
}

const LABEL_CHANGING = new Set(['label_replace', 'label_join']);

/**
 * Whether a call's output certainly has distinct label sets, sparing the check: functions that only
 * drop `__name__` cannot make two series equal when all their input series have the same name.
 */
function cannotDuplicate(e: Call): boolean {
  if (LABEL_CHANGING.has(e.func)) return false;
  for (const a of e.args) {
    const sel = a.type === 'VectorSelector' ? a : a.type === 'MatrixSelector' ? a.vector : undefined;
    if (sel) return sel.matchers.some((m) => m.name === '__name__' && m.type === '=');
  }
  return false;
}

function checkDup(v: VectorValue): VectorValue {
  if (v.samples.length < 2) return v;
  const seen = new Set<string>();
  for (const s of v.samples) {
    const k = labelsKey(s.metric);
    if (seen.has(k)) throw new PromQLError('execution', 'vector cannot contain metrics with the same labelset');
    seen.add(k);
  }
  return v;
}

