/**
 * Column-wise evaluation of range queries for the shapes dashboards run most (selectors, the rate
 * family, sum/avg/min/max/count/group, histogram_quantile, arithmetic with a literal). Each node
 * produces, per series, one value per step, computed in one pass with windows sliding forward, instead
 * of evaluating the whole tree once per step. Anything else goes through the step-wise evaluator;
 * results are the same (the test data runs through both).
 */
import type { SeriesSamples } from '../storage.js';
import { scalarBinop } from './binary.js';
import { foldInto, type Group } from './fold.js';
import { byUpper, parseGoFloat, sortedBucketQuantile } from './functions.js';
import type { AggregateExpr, BinaryExpr, Call, Expr, VectorSelector } from './parse.js';
import { RATE_FUNCS, RateKernel, type RateFunc } from './rate-kernel.js';
import { dropName, keepLabels, labelsKey, removeLabels, type Labels, type ResultSeries } from './value.js';

export interface ColumnarHost {
  loaded(sel: VectorSelector): SeriesSamples[];
  check(): void;
  readonly lookbackMs: number;
}

/** A series over the query's steps: `has[k]` says whether step k has a value. */
interface Col { metric: Labels; v: Float64Array; has: Uint8Array }
type ColValue = { kind: 'vector'; series: Col[] } | { kind: 'scalar'; v: Float64Array };

const AGG_OPS = new Set(['sum', 'avg', 'min', 'max', 'count', 'group']);
const ARITH = new Set(['+', '-', '*', '/', '%', '^']);

const hasName = (sel: VectorSelector): boolean => sel.matchers.some((m) => m.name === '__name__' && m.type === '=');

/**
 * Whether the columnar path handles the whole expression. Name-dropping nodes must not be able to
 * produce two equal label sets (Prometheus's "same labelset" error is left to the step-wise path).
 */
export function columnarSupported(e: Expr): boolean {
  switch (e.type) {
    case 'NumberLiteral': return true;
    case 'ParenExpr': return columnarSupported(e.expr);
    case 'VectorSelector': return e.at === null;
    case 'UnaryExpr': return distinctWithoutName(e.expr) && columnarSupported(e.expr);
    case 'Call':
      if (RATE_FUNCS.has(e.func)) {
        const a = e.args[0];
        return a?.type === 'MatrixSelector' && a.vector.at === null && hasName(a.vector);
      }
      if (e.func === 'histogram_quantile') return e.args[0]?.type === 'NumberLiteral' && columnarSupported(e.args[1]!);
      return false;
    case 'AggregateExpr': return AGG_OPS.has(e.op) && columnarSupported(e.expr);
    case 'BinaryExpr': {
      if (!ARITH.has(e.op)) return false;
      const l = e.lhs.type === 'NumberLiteral';
      const r = e.rhs.type === 'NumberLiteral';
      if (l && r) return true;
      const vec = l ? e.rhs : r ? e.lhs : null;
      return vec !== null && distinctWithoutName(vec) && columnarSupported(vec);
    }
    default: return false;
  }
}

/** True when dropping `__name__` from the node's output cannot make two series equal. */
function distinctWithoutName(e: Expr): boolean {
  switch (e.type) {
    case 'ParenExpr': return distinctWithoutName(e.expr);
    case 'VectorSelector': return hasName(e);
    case 'AggregateExpr': return true;
    case 'Call': return true;
    case 'UnaryExpr': return distinctWithoutName(e.expr);
    case 'BinaryExpr': return distinctWithoutName(e.lhs.type === 'NumberLiteral' ? e.rhs : e.lhs);
    default: return false;
  }
}

/**
 * Group labels and key per (grouping, series labels), kept across queries: a dashboard's query
 * is parsed anew each time, but the series' label objects are the store's and stay the same.
 */
const groupMemo = new WeakMap<Labels, Map<string, { labels: Labels; key: string }>>();

function groupingOf(e: AggregateExpr): (metric: Labels) => { labels: Labels; key: string } {
  const sig = (e.without ? 'without\u0000' : 'by\u0000') + e.grouping.join('\u0000');
  const without = [...e.grouping, '__name__'];
  return (metric) => {
    let m = groupMemo.get(metric);
    if (!m) groupMemo.set(metric, (m = new Map()));
    let g = m.get(sig);
    if (!g) {
      const labels = e.without ? removeLabels(metric, without) : keepLabels(metric, e.grouping);
      m.set(sig, (g = { labels, key: labelsKey(labels) }));
    }
    return g;
  };
}

export class ColumnarEvaluator {
  private readonly n: number;

  constructor(private readonly host: ColumnarHost, private readonly start: number, end: number, private readonly step: number) {
    this.n = Math.floor((end - start) / step) + 1;
  }

  run(e: Expr): ResultSeries[] {
    const v = this.eval(e);
    const cols = v.kind === 'scalar' ? [{ metric: {}, v: v.v, has: new Uint8Array(this.n).fill(1) }] : v.series;
    const out: ResultSeries[] = [];
    for (const c of cols) {
      const points: { t: number; v: number }[] = [];
      for (let k = 0; k < this.n; k++) if (c.has[k]) points.push({ t: this.start + k * this.step, v: c.v[k]! });
      if (points.length) out.push({ metric: c.metric, points });
    }
    return out;
  }

  private eval(e: Expr): ColValue {
    this.host.check();
    switch (e.type) {
      case 'NumberLiteral': return { kind: 'scalar', v: new Float64Array(this.n).fill(e.value) };
      case 'ParenExpr': return this.eval(e.expr);
      case 'VectorSelector': return this.selector(e);
      case 'UnaryExpr': {
        const v = this.eval(e.expr);
        if (e.op === '+') return v;
        if (v.kind === 'scalar') return { kind: 'scalar', v: v.v.map((x) => -x) };
        return { kind: 'vector', series: v.series.map((c) => ({ metric: dropName(c.metric), v: c.v.map((x) => -x), has: c.has })) };
      }
      case 'Call': return e.func === 'histogram_quantile' ? this.histogramQuantile(e) : this.rate(e);
      case 'AggregateExpr': return this.aggregate(e);
      case 'BinaryExpr': return this.binary(e);
      default: throw new Error(`columnar evaluation does not handle ${e.type}`);
    }
  }

  private selector(sel: VectorSelector): ColValue {
    const series: Col[] = [];
    const lookback = this.host.lookbackMs;
    for (const s of this.host.loaded(sel)) {
      this.host.check();
      const ts = s.timestamps;
      const v = new Float64Array(this.n);
      const has = new Uint8Array(this.n);
      let i = -1;
      let any = false;
      for (let k = 0; k < this.n; k++) {
        const ref = this.start + k * this.step - sel.offsetMs;
        while (i + 1 < ts.length && ts[i + 1]! <= ref) i++;
        if (i < 0 || ts[i]! < ref - lookback) continue;
        if (s.staleAt?.has(ts[i]!)) continue;
        v[k] = s.values[i]!;
        has[k] = 1;
        any = true;
      }
      if (any) series.push({ metric: s.labels, v, has });
    }
    return { kind: 'vector', series };
  }

  private rate(call: Call): ColValue {
    const series: Col[] = [];
    this.eachRate(call, (metric, v, has) => series.push({ metric, v: v.slice(), has: has.slice() }));
    return { kind: 'vector', series };
  }

  /**
   * Runs the rate-family call over each loaded series, handing each one with a value to `sink`
   * in reused arrays (valid only during the call): an aggregation folds them in without a copy.
   * With `sumInto`, a summable function instead adds each series straight into the group that
   * function gives for its labels (the sum aggregation), then reports the group to `summed` when
   * the series had a value; `sink` is not called.
   */
  private eachRate(
    call: Call,
    sink: (metric: Labels, v: Float64Array, has: Uint8Array) => void,
    sumInto?: (metric: Labels) => Group,
    summed?: (g: Group) => void,
  ): void {
    const ms = call.args[0]!;
    if (ms.type !== 'MatrixSelector') throw new Error('rate over a non-matrix');
    const sel = ms.vector;
    const kernel = new RateKernel(call.func as RateFunc, this.start, this.step, this.n, sel.offsetMs, ms.rangeMs);
    const v = new Float64Array(this.n);
    const has = new Uint8Array(this.n);
    const direct = sumInto !== undefined && kernel.summable;
    let seen = 0;
    for (const raw of this.host.loaded(sel)) {
      // The deadline is a clock read: every 64 series is often enough (a series takes microseconds).
      if ((seen++ & 63) === 0) this.host.check();
      // Range functions skip staleness markers.
      let ts = raw.timestamps;
      let vs = raw.values;
      if (raw.staleAt && raw.staleAt.size > 0) {
        const keep: number[] = [];
        for (let i = 0; i < ts.length; i++) if (!raw.staleAt.has(ts[i]!)) keep.push(i);
        ts = Float64Array.from(keep, (i) => raw.timestamps[i]!);
        vs = Float64Array.from(keep, (i) => raw.values[i]!);
      }
      if (direct) {
        const g = sumInto(dropName(raw.labels));
        if (kernel.runSum(ts, vs, g.v, g.has)) summed?.(g);
      } else if (kernel.run(ts, vs, v, has)) {
        sink(dropName(raw.labels), v, has);
      }
    }
  }

  private aggregate(e: AggregateExpr): ColValue {
    const groups = new Map<string, Group>();
    const order: Group[] = [];
    const groupCache = new WeakMap<Labels, Group>();
    const withCount = e.op === 'avg' || e.op === 'count';
    const grouping = groupingOf(e);
    const groupOf = (metric: Labels): Group => {
      let g = groupCache.get(metric);
      if (!g) {
        const { labels: gl, key } = grouping(metric);
        g = groups.get(key);
        if (!g) {
          // A copy: the memoised labels are shared across queries, results are the caller's.
          g = { metric: { ...gl }, v: new Float64Array(this.n), has: new Uint8Array(this.n), count: withCount ? new Float64Array(this.n) : null };
          groups.set(key, g);
        }
        groupCache.set(metric, g);
      }
      return g;
    };
    // Groups are listed in the order their first value arrives, as when folded from columns.
    const listed = new Set<Group>();
    const list = (g: Group): void => {
      if (!listed.has(g)) {
        listed.add(g);
        order.push(g);
      }
    };
    const fold = (metric: Labels, v: Float64Array, has: Uint8Array): void => {
      const g = groupOf(metric);
      list(g);
      foldInto(e.op, g, v, has, this.n);
    };
    let inner = e.expr;
    while (inner.type === 'ParenExpr') inner = inner.expr;
    if (inner.type === 'Call' && RATE_FUNCS.has(inner.func)) {
      this.eachRate(inner, fold, e.op === 'sum' ? groupOf : undefined, list);
    } else {
      const v = this.eval(inner);
      if (v.kind !== 'vector') throw new Error('aggregation over a scalar');
      for (const c of v.series) {
        this.host.check();
        fold(c.metric, c.v, c.has);
      }
    }
    return { kind: 'vector', series: order };
  }

  private histogramQuantile(e: Call): ColValue {
    const q = (e.args[0] as { value: number }).value;
    const inner = this.eval(e.args[1]!);
    if (inner.kind !== 'vector') throw new Error('histogram_quantile over a scalar');
    const groups = new Map<string, { metric: Labels; buckets: { upper: number; col: Col }[] }>();
    for (const c of inner.series) {
      const le = c.metric.le;
      if (le === undefined) continue;
      const upper = parseGoFloat(le);
      if (Number.isNaN(upper)) continue;
      const { le: _le, __name__: _n, ...rest } = c.metric;
      const key = labelsKey(rest);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { metric: rest, buckets: [] }));
      g.buckets.push({ upper, col: c });
    }
    const series: Col[] = [];
    for (const g of groups.values()) {
      this.host.check();
      // Sorted once: each step takes the buckets present in this order, which is the order the
      // step-wise path's (stable) sort of that step's buckets gives.
      const buckets = g.buckets.sort(byUpper);
      const upper = new Float64Array(buckets.length);
      const count = new Float64Array(buckets.length);
      const v = new Float64Array(this.n);
      const has = new Uint8Array(this.n);
      let any = false;
      for (let k = 0; k < this.n; k++) {
        let n = 0;
        for (const b of buckets) {
          if (!b.col.has[k]) continue;
          upper[n] = b.upper;
          count[n] = b.col.v[k]!;
          n++;
        }
        if (n === 0) continue;
        v[k] = sortedBucketQuantile(q, upper, count, n);
        has[k] = 1;
        any = true;
      }
      if (any) series.push({ metric: g.metric, v, has });
    }
    return { kind: 'vector', series };
  }

  private binary(e: BinaryExpr): ColValue {
    const l = this.eval(e.lhs);
    const r = this.eval(e.rhs);
    if (l.kind === 'scalar' && r.kind === 'scalar') {
      return { kind: 'scalar', v: l.v.map((x, k) => scalarBinop(e.op, x, r.v[k]!)[0]) };
    }
    const swap = l.kind === 'scalar';
    const vec = (swap ? r : l) as Extract<ColValue, { kind: 'vector' }>;
    const sc = (swap ? l : r) as Extract<ColValue, { kind: 'scalar' }>;
    return {
      kind: 'vector',
      series: vec.series.map((c) => ({
        metric: dropName(c.metric),
        has: c.has,
        v: c.v.map((x, k) => (swap ? scalarBinop(e.op, sc.v[k]!, x) : scalarBinop(e.op, x, sc.v[k]!))[0]),
      })),
    };
  }
}
