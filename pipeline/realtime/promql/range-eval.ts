/**
 * Column-wise evaluation of range queries for the shapes dashboards run most (selectors, the rate
 * family, sum/avg/min/max/count/group, histogram_quantile, arithmetic with a literal). Each node
 * produces, per series, one value per step, computed in one pass with windows sliding forward, instead
 * of evaluating the whole tree once per step. Anything else goes through the step-wise evaluator;
 * results are the same (the test data runs through both).
 */
import type { SeriesSamples } from '../storage.js';
import { scalarBinop } from './binary.js';
import { bucketQuantile, extrapolate, parseGoFloat } from './functions.js';
import type { AggregateExpr, BinaryExpr, Call, Expr, VectorSelector } from './parse.js';
import { dropName, keepLabels, labelsKey, removeLabels, type Labels, type ResultSeries } from './value.js';

export interface ColumnarHost {
  loaded(sel: VectorSelector): SeriesSamples[];
  check(): void;
  readonly lookbackMs: number;
}

/** A series over the query's steps: `has[k]` says whether step k has a value. */
interface Col { metric: Labels; v: Float64Array; has: Uint8Array }
type ColValue = { kind: 'vector'; series: Col[] } | { kind: 'scalar'; v: Float64Array };

const RATE_FNS = new Set(['rate', 'increase', 'delta', 'irate', 'idelta']);
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
      if (RATE_FNS.has(e.func)) {
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
    const ms = call.args[0]!;
    if (ms.type !== 'MatrixSelector') throw new Error('rate over a non-matrix');
    const sel = ms.vector;
    const isCounter = call.func === 'rate' || call.func === 'increase' || call.func === 'irate';
    const isRate = call.func === 'rate' || call.func === 'irate';
    const instant = call.func === 'irate' || call.func === 'idelta';
    const series: Col[] = [];
    for (const raw of this.host.loaded(sel)) {
      this.host.check();
      // Range functions skip staleness markers.
      let ts = raw.timestamps;
      let vs = raw.values;
      if (raw.staleAt && raw.staleAt.size > 0) {
        const keep: number[] = [];
        for (let i = 0; i < ts.length; i++) if (!raw.staleAt.has(ts[i]!)) keep.push(i);
        ts = Float64Array.from(keep, (i) => raw.timestamps[i]!);
        vs = Float64Array.from(keep, (i) => raw.values[i]!);
      }
      // Running sum of the values before each counter reset, so a window's correction is a difference.
      const resets = new Float64Array(vs.length);
      for (let i = 1; i < vs.length; i++) resets[i] = resets[i - 1]! + (vs[i]! < vs[i - 1]! ? vs[i - 1]! : 0);
      const v = new Float64Array(this.n);
      const has = new Uint8Array(this.n);
      let lo = 0;
      let hi = 0;
      let any = false;
      for (let k = 0; k < this.n; k++) {
        const end = this.start + k * this.step - sel.offsetMs;
        const begin = end - ms.rangeMs;
        while (lo < ts.length && ts[lo]! < begin) lo++;
        if (hi < lo) hi = lo;
        while (hi < ts.length && ts[hi]! <= end) hi++;
        const count = hi - lo;
        if (count < 2) continue;
        let result: number;
        if (instant) {
          const last = vs[hi - 1]!;
          const prev = vs[hi - 2]!;
          result = isRate && last < prev ? last : last - prev;
          const interval = ts[hi - 1]! - ts[hi - 2]!;
          if (interval === 0) continue;
          if (isRate) result /= interval / 1000;
        } else {
          const first = vs[lo]!;
          result = vs[hi - 1]! - first;
          if (isCounter && resets[hi - 1] !== resets[lo]) {
            // Summed in order, as the step-wise path does, so both agree to the last bit.
            let prev = 0;
            result = vs[hi - 1]! - first;
            for (let i = lo; i < hi; i++) {
              const x = vs[i]!;
              if (x < prev) result += prev;
              prev = x;
            }
          }
          result = extrapolate(result, first, ts[lo]!, ts[hi - 1]!, count, begin, end, isCounter);
          if (isRate) result /= ms.rangeMs / 1000;
        }
        v[k] = result;
        has[k] = 1;
        any = true;
      }
      if (any) series.push({ metric: dropName(raw.labels), v, has });
    }
    return { kind: 'vector', series };
  }

  private aggregate(e: AggregateExpr): ColValue {
    const inner = this.eval(e.expr);
    if (inner.kind !== 'vector') throw new Error('aggregation over a scalar');
    const groups = new Map<string, { metric: Labels; v: Float64Array; has: Uint8Array; count: Float64Array }>();
    const order: { metric: Labels; v: Float64Array; has: Uint8Array; count: Float64Array }[] = [];
    const without = [...e.grouping, '__name__'];
    for (const c of inner.series) {
      this.host.check();
      const gl = e.without ? removeLabels(c.metric, without) : keepLabels(c.metric, e.grouping);
      const key = labelsKey(gl);
      let g = groups.get(key);
      if (!g) {
        g = { metric: gl, v: new Float64Array(this.n), has: new Uint8Array(this.n), count: new Float64Array(this.n) };
        groups.set(key, g);
        order.push(g);
      }
      for (let k = 0; k < this.n; k++) {
        if (!c.has[k]) continue;
        const x = c.v[k]!;
        if (!g.has[k]) {
          g.has[k] = 1;
          g.count[k] = 1;
          g.v[k] = e.op === 'count' || e.op === 'group' ? 1 : x;
          continue;
        }
        const cnt = ++g.count[k]!;
        const cur = g.v[k]!;
        switch (e.op) {
          case 'sum': g.v[k] = cur + x; break;
          case 'count': g.v[k] = cnt; break;
          case 'group': break;
          case 'max': if (cur < x || Number.isNaN(cur)) g.v[k] = x; break;
          case 'min': if (cur > x || Number.isNaN(cur)) g.v[k] = x; break;
          case 'avg':
            // Same incremental mean (and ±Inf stickiness) as the step-wise aggregation.
            if (!Number.isFinite(cur) && !Number.isNaN(cur)) {
              if (!Number.isFinite(x) && !Number.isNaN(x) && cur > 0 === x > 0) break;
              if (Number.isFinite(x)) break;
            }
            g.v[k] = cur + (x / cnt - cur / cnt);
            break;
        }
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
      const v = new Float64Array(this.n);
      const has = new Uint8Array(this.n);
      let any = false;
      for (let k = 0; k < this.n; k++) {
        const buckets: { upper: number; count: number }[] = [];
        for (const b of g.buckets) if (b.col.has[k]) buckets.push({ upper: b.upper, count: b.col.v[k]! });
        if (buckets.length === 0) continue;
        v[k] = bucketQuantile(q, buckets);
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
