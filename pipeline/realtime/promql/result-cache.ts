/**
 * A range-query result cache in the manner of VictoriaMetrics's rollup result cache: results are
 * kept per (query, step, step phase), and a later query over an overlapping range takes the steps
 * it has and evaluates only the rest (typically the few newest steps of a refreshing dashboard).
 *
 * Correct under ingestion, not merely "probably fresh": the store reports, through a change
 * tracker, the oldest sample appended and a bound on every sample dropped since the cache last
 * looked. A sample at t can only change steps at or after t + the query's smallest offset; a drop
 * below d only steps whose windows reach back to d. Before every use, each entry of that store is
 * cut to the steps neither can have touched. Steps are independent in the expressions cached
 * (the column-wise subset: selectors, the rate family, aggregations by step, histogram_quantile,
 * arithmetic with literals), so stitched results equal a fresh evaluation.
 *
 * Only stores that offer a tracker (the head) are cached; any other querier, including a scoped
 * wrapper, is always evaluated fresh.
 */
import type { Querier } from '../storage.js';
import type { Expr } from './parse.js';
import { labelsKey, type Labels, type ResultSeries } from './value.js';

export interface ChangeTracker {
  minAppendedT: number;
  droppedBelowT: number;
}

/** A querier whose store reports changes (HeadQuerier). */
export interface ChangeFeed {
  /** A tracker kept up to date from now on, and how to stop it (it costs the store a little per append). */
  trackChanges(): { tracker: ChangeTracker; stop: () => void };
}

export function isChangeFeed(q: Querier): q is Querier & ChangeFeed {
  return typeof (q as Partial<ChangeFeed>).trackChanges === 'function';
}

export const DEFAULT_RESULT_CACHE_BYTES = 32 * 2 ** 20;

interface CachedSeries {
  metric: Labels;
  t: Float64Array;
  v: Float64Array;
}

interface Entry {
  key: string;
  /** First and last step time held (inclusive); every step between is held (absent = no value). */
  from: number;
  to: number;
  step: number;
  /** The expression's smallest selector offset, and how far back from a step its windows reach. */
  minOffsetMs: number;
  reachMs: number;
  series: CachedSeries[];
  bytes: number;
}

interface PerStore {
  tracker: ChangeTracker;
  entries: Map<string, Entry>;
}

/** Per-series bookkeeping, roughly, beside the 16 bytes a point. */
const SERIES_OVERHEAD_BYTES = 200;

export type Evaluate = (startMs: number, endMs: number) => ResultSeries[];

export class ResultCache {
  private readonly stores = new WeakMap<ChangeFeed, PerStore>();
  /** Stops a store's tracker once neither it nor this cache is around to use it. */
  private readonly stopper = new FinalizationRegistry<() => void>((stop) => stop());
  /** Every entry, least recently used first, for the byte budget. */
  private readonly lru = new Map<Entry, PerStore>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes = DEFAULT_RESULT_CACHE_BYTES, readonly maxPointsPerSeries = 11_000) {}

  get bytes(): number {
    return this.used;
  }

  /**
   * The range query's series (unsorted), from cache where still valid and from `evaluate` for the
   * rest. `extent` is the expression's window reach (see windowExtent).
   */
  rangeQuery(store: ChangeFeed, query: string, extent: WindowExtent, start: number, end: number, step: number, evaluate: Evaluate): ResultSeries[] {
    const ps = this.storeOf(store);
    this.applyChanges(ps);
    end = start + Math.floor((end - start) / step) * step;
    const phase = ((start % step) + step) % step;
    const key = `${step}\u0000${phase}\u0000${extent.lookbackMs}\u0000${query}`;
    const e = ps.entries.get(key);
    const lo = e ? Math.max(start, e.from) : Number.POSITIVE_INFINITY;
    const hi = e ? Math.min(end, e.to) : Number.NEGATIVE_INFINITY;
    if (!e || lo > hi) {
      this.misses++;
      const fresh = evaluate(start, end);
      if (e) this.remove(ps, e);
      const grid = new Grid(start, step, Math.round((end - start) / step) + 1);
      grid.addResult(fresh);
      this.put(ps, { key, from: start, to: end, step, minOffsetMs: extent.minOffsetMs, reachMs: extent.reachMs, series: grid.rows(), bytes: 0 });
      return fresh;
    }
    this.hits++;
    const out = new Grid(start, step, Math.round((end - start) / step) + 1);
    if (start < lo) out.addResult(evaluate(start, lo - step));
    if (end > hi) out.addResult(evaluate(hi + step, end));
    out.addGrid(e.series, e.from, lo, hi);
    // Keep the union (one run of steps, as the ranges overlap) unless it grows too long.
    const from = Math.min(start, e.from);
    const to = Math.max(end, e.to);
    this.remove(ps, e);
    if ((to - from) / step < this.maxPointsPerSeries) {
      const union = new Grid(from, step, Math.round((to - from) / step) + 1);
      union.addGrid(e.series, e.from, e.from, e.to);
      union.addGrid(out.rows(), start, start, end);
      this.put(ps, { ...e, from, to, series: union.rows(), bytes: 0 });
    } else {
      this.put(ps, { ...e, from: start, to: end, series: out.rows(), bytes: 0 });
    }
    return out.result();
  }

  private storeOf(store: ChangeFeed): PerStore {
    let ps = this.stores.get(store);
    if (!ps) {
      const { tracker, stop } = store.trackChanges();
      this.stores.set(store, (ps = { tracker, entries: new Map() }));
      this.stopper.register(ps, stop);
    }
    return ps;
  }

  /** Cuts every entry of the store to the steps no append or drop since the last look can change. */
  private applyChanges(ps: PerStore): void {
    const tr = ps.tracker;
    const appended = tr.minAppendedT;
    const dropped = tr.droppedBelowT;
    if (appended === Number.POSITIVE_INFINITY && dropped === Number.NEGATIVE_INFINITY) return;
    tr.minAppendedT = Number.POSITIVE_INFINITY;
    tr.droppedBelowT = Number.NEGATIVE_INFINITY;
    for (const e of [...ps.entries.values()]) {
      let from = e.from;
      let to = e.to;
      // A sample at t reaches steps at t + offset and later (a window ends at step - offset).
      if (appended !== Number.POSITIVE_INFINITY) {
        const limit = appended + e.minOffsetMs;
        while (to >= from && to >= limit) to -= e.step;
      }
      // A step keeps its result while its windows (reaching reachMs back) lie above the drop bound.
      if (dropped !== Number.NEGATIVE_INFINITY) {
        while (from <= to && from - e.reachMs <= dropped) from += e.step;
      }
      if (from > to) {
        this.remove(ps, e);
        continue;
      }
      if (from === e.from && to === e.to) continue;
      const skip = Math.round((from - e.from) / e.step);
      const len = Math.round((to - from) / e.step) + 1;
      this.remove(ps, e);
      this.put(ps, { ...e, from, to, series: e.series.map((c) => ({ metric: c.metric, t: c.t.slice(skip, skip + len), v: c.v.slice(skip, skip + len) })), bytes: 0 });
    }
  }

  private put(ps: PerStore, e: Entry): void {
    let bytes = 0;
    for (const c of e.series) bytes += SERIES_OVERHEAD_BYTES + c.t.byteLength + c.v.byteLength;
    e.bytes = bytes;
    if (bytes > this.maxBytes) return;
    ps.entries.set(e.key, e);
    this.lru.set(e, ps);
    this.used += bytes;
    for (const [old, owner] of this.lru) {
      if (this.used <= this.maxBytes) break;
      this.remove(owner, old);
    }
  }

  private remove(ps: PerStore, e: Entry): void {
    if (ps.entries.get(e.key) === e) ps.entries.delete(e.key);
    if (this.lru.delete(e)) this.used -= e.bytes;
  }
}

/** Series over a grid of steps from `from`, one row of arrays each; a NaN time marks no value. */
class Grid {
  private readonly byKey = new Map<string, CachedSeries>();

  constructor(readonly from: number, readonly step: number, readonly n: number) {}

  private row(metric: Labels): CachedSeries {
    const k = labelsKey(metric);
    let r = this.byKey.get(k);
    if (!r) this.byKey.set(k, (r = { metric, t: new Float64Array(this.n).fill(NaN), v: new Float64Array(this.n) }));
    return r;
  }

  addResult(res: ResultSeries[]): void {
    for (const s of res) {
      const r = this.row(s.metric);
      for (const p of s.points) {
        const k = Math.round((p.t - this.from) / this.step);
        r.t[k] = p.t;
        r.v[k] = p.v;
      }
    }
  }

  /** Copies steps lo..hi (inclusive) of rows laid out on a grid of the same step from `rowsFrom`. */
  addGrid(rows: CachedSeries[], rowsFrom: number, lo: number, hi: number): void {
    const skip = Math.round((lo - rowsFrom) / this.step);
    const at = Math.round((lo - this.from) / this.step);
    const count = Math.round((hi - lo) / this.step) + 1;
    for (const c of rows) {
      let r: CachedSeries | undefined;
      for (let i = 0; i < count; i++) {
        const t = c.t[skip + i]!;
        if (Number.isNaN(t)) continue;
        r ??= this.row(c.metric);
        r.t[at + i] = t;
        r.v[at + i] = c.v[skip + i]!;
      }
    }
  }

  rows(): CachedSeries[] {
    return [...this.byKey.values()];
  }

  result(): ResultSeries[] {
    const out: ResultSeries[] = [];
    for (const r of this.byKey.values()) {
      const points: { t: number; v: number }[] = [];
      for (let k = 0; k < this.n; k++) if (!Number.isNaN(r.t[k]!)) points.push({ t: r.t[k]!, v: r.v[k]! });
      if (points.length) out.push({ metric: r.metric, points });
    }
    return out;
  }
}

export interface WindowExtent {
  /** Smallest offset of any selector (a sample at t reaches steps from t + this on). */
  minOffsetMs: number;
  /** How far back from a step any selector's window reaches (offset + range or lookback). */
  reachMs: number;
  lookbackMs: number;
}

/** The expression's window extent; null when a selector has an @ modifier (its steps are not independent of time). */
export function windowExtent(e: Expr, lookbackMs: number): WindowExtent | null {
  let minOffsetMs = Number.POSITIVE_INFINITY;
  let reachMs = 0;
  let pinned = false;
  const visit = (x: Expr): void => {
    switch (x.type) {
      case 'VectorSelector':
        if (x.at) pinned = true;
        minOffsetMs = Math.min(minOffsetMs, x.offsetMs);
        reachMs = Math.max(reachMs, x.offsetMs + lookbackMs);
        return;
      case 'MatrixSelector':
        if (x.vector.at) pinned = true;
        minOffsetMs = Math.min(minOffsetMs, x.vector.offsetMs);
        reachMs = Math.max(reachMs, x.vector.offsetMs + x.rangeMs);
        return;
      case 'SubqueryExpr':
        pinned = true;
        return;
      case 'Call': for (const a of x.args) visit(a); return;
      case 'AggregateExpr': if (x.param) visit(x.param); visit(x.expr); return;
      case 'BinaryExpr': visit(x.lhs); visit(x.rhs); return;
      case 'UnaryExpr': case 'ParenExpr': visit(x.expr); return;
      default: return;
    }
  };
  visit(e);
  if (pinned) return null;
  return { minOffsetMs, reachMs, lookbackMs };
}
