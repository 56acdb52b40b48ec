/**
 * PromQL functions with Prometheus 2.x semantics (promql/functions.go and quantile.go of 2.42 were
 * the reference for edge cases: extrapolation, NaN handling, which functions drop `__name__`).
 */
import type { Call, Expr } from './parse.js';
import {
  compileRegex, dropName, labelsKey, PromQLError, windowOf, WindowSeries,
  type Labels, type MatrixValue, type RangeSeries, type Sample, type Value, type VectorValue,
} from './value.js';

const vector = (samples: Sample[]): VectorValue => ({ type: 'vector', samples });

function vec(v: Value | undefined): Sample[] {
  if (v?.type !== 'vector') throw new PromQLError('internal', 'expected an instant vector argument');
  return v.samples;
}
function mat(v: Value | undefined): MatrixValue {
  if (v?.type !== 'matrix') throw new PromQLError('internal', 'expected a range vector argument');
  return v;
}
function num(v: Value | undefined): number {
  if (v?.type !== 'scalar') throw new PromQLError('internal', 'expected a scalar argument');
  return v.v;
}
function str(v: Value | undefined): string {
  if (v?.type !== 'string') throw new PromQLError('internal', 'expected a string argument');
  return v.s;
}

/** Kahan-compensated increment, as Prometheus sums in the *_over_time functions. */
export function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/** Prometheus's quantile (the "R-7"/Excel method): linear interpolation between closest ranks. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort(compareNaNFirst);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Go's sort order for float heaps in Prometheus: NaN sorts before everything. */
function compareNaNFirst(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
}

const simple = (fn: (v: number) => number) => (args: Value[]): Value =>
  vector(vec(args[0]).map((s) => ({ metric: dropName(s.metric), v: fn(s.v) })));

function overTime(args: Value[], fn: (s: RangeSeries) => number, keepName = false): Value {
  const out: Sample[] = [];
  for (const s of mat(args[args.length - 1]).series) {
    const w = windowOf(s);
    if (w.hi === w.lo) continue;
    out.push({ metric: keepName ? s.metric : dropName(s.metric), v: fn(s) });
  }
  return vector(out);
}

/**
 * rate/increase/delta: the difference over the window (counter resets corrected), extrapolated towards
 * the window's edges unless the first/last sample is further from them than 1.1 average intervals, in
 * which case only half an interval is added; a counter is never extrapolated below zero.
 */
/**
 * Scales a window's raw increase to the whole window: towards each edge by the distance to it, unless
 * that exceeds 1.1 average sample intervals (then by half an interval); a counter never below zero.
 */
export function extrapolate(
  result: number, first: number, tFirst: number, tLast: number, n: number, rangeStart: number, rangeEnd: number, isCounter: boolean,
): number {
  let durationToStart = (tFirst - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - tLast) / 1000;
  const sampledInterval = (tLast - tFirst) / 1000;
  const avgInterval = sampledInterval / (n - 1);
  if (isCounter && result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = avgInterval * 1.1;
  let extrapolateTo = sampledInterval;
  extrapolateTo += durationToStart < threshold ? durationToStart : avgInterval / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : avgInterval / 2;
  return result * (extrapolateTo / sampledInterval);
}

function extrapolatedRate(m: MatrixValue, isCounter: boolean, isRate: boolean): Value {
  const out: Sample[] = [];
  const rangeSeconds = (m.rangeEnd - m.rangeStart) / 1000;
  for (const s of m.series) {
    // Read the stored arrays directly: no per-series view or bounds object on this hot path.
    let t: Float64Array, v: Float64Array, lo: number, hi: number;
    if (s instanceof WindowSeries) {
      t = s.allT; v = s.allV; lo = s.lo; hi = s.hi;
    } else {
      t = s.t; v = s.v; lo = 0; hi = v.length;
    }
    const n = hi - lo;
    if (n < 2) continue;
    const first = v[lo]!;
    const last = v[hi - 1]!;
    let result = last - first;
    if (isCounter) {
      let prev = 0;
      for (let i = lo; i < hi; i++) {
        const x = v[i]!;
        if (x < prev) result += prev;
        prev = x;
      }
    }
    result = extrapolate(result, first, t[lo]!, t[hi - 1]!, n, m.rangeStart, m.rangeEnd, isCounter);
    if (isRate) result /= rangeSeconds;
    out.push({ metric: dropName(s.metric), v: result });
  }
  return vector(out);
}

/** irate/idelta: from the last two samples only. */
function instantValue(m: MatrixValue, isRate: boolean): Value {
  const out: Sample[] = [];
  for (const s of m.series) {
    const { t, v, lo, hi } = windowOf(s);
    if (hi - lo < 2) continue;
    const last = v[hi - 1]!;
    const prev = v[hi - 2]!;
    let result = isRate && last < prev ? last : last - prev;
    const interval = t[hi - 1]! - t[hi - 2]!;
    if (interval === 0) continue;
    if (isRate) result /= interval / 1000;
    out.push({ metric: dropName(s.metric), v: result });
  }
  return vector(out);
}

/** Least squares fit; x in seconds relative to interceptTime. */
function linearRegression(s: RangeSeries, interceptTime: number): [number, number] {
  let n = 0, sumX = 0, sumY = 0, sumXY = 0, sumX2 = 0;
  const initY = s.v[0]!;
  let constY = true;
  for (let i = 0; i < s.v.length; i++) {
    const y = s.v[i]!;
    if (constY && i > 0 && y !== initY) constY = false;
    n++;
    const x = (s.t[i]! - interceptTime) / 1000;
    sumX += x;
    sumY += y;
    sumXY += x * y;
    sumX2 += x * x;
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

function holtWinters(args: Value[]): Value {
  const sf = num(args[1]);
  const tf = num(args[2]);
  if (!(sf > 0 && sf < 1)) throw new PromQLError('execution', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`);
  if (!(tf > 0 && tf < 1)) throw new PromQLError('execution', `invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
  const out: Sample[] = [];
  for (const s of mat(args[0]).series) {
    const l = s.v.length;
    if (l < 2) continue;
    let s0 = 0;
    let s1 = s.v[0]!;
    let b = s.v[1]! - s.v[0]!;
    for (let i = 1; i < l; i++) {
      const x = sf * s.v[i]!;
      if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
      const y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    out.push({ metric: dropName(s.metric), v: s1 });
  }
  return vector(out);
}

function stdvarOverTime(s: RangeSeries): number {
  let count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
  for (let i = 0; i < s.v.length; i++) {
    const v = s.v[i]!;
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanSumInc(delta / count, mean, cMean);
    [aux, cAux] = kahanSumInc(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

function dateFn(fn: (d: Date) => number) {
  return (args: Value[], t: number): Value => {
    const input: Sample[] = args.length === 0 ? [{ metric: {}, v: t / 1000 }] : vec(args[0]);
    return vector(input.map((s) => ({
      metric: dropName(s.metric),
      v: Number.isFinite(s.v) ? fn(new Date(Math.trunc(s.v) * 1000)) : NaN,
    })));
  };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Go's regexp Expand for `$1`, `${1}`, `$name`, `$$`. */
function expandTemplate(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_all, tok: string, braced?: string, bare?: string) => {
    if (tok === '$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

function labelReplace(args: Value[]): Value {
  const dst = str(args[1]);
  const repl = str(args[2]);
  const src = str(args[3]);
  const regexStr = str(args[4]);
  let re: ReturnType<typeof compileRegex>;
  try {
    re = compileRegex(regexStr);
  } catch (err) {
    throw new PromQLError('execution', `invalid regular expression in label_replace(): ${regexStr}: ${(err as Error).message}`);
  }
  if (!LABEL_NAME.test(dst)) throw new PromQLError('execution', `invalid destination label name in label_replace(): ${dst}`);
  return vector(vec(args[0]).map((s) => {
    const m = re.exec(s.metric[src] ?? '');
    if (!m) return s;
    const value = expandTemplate(repl, m);
    const metric: Record<string, string> = { ...s.metric };
    if (value === '') delete metric[dst];
    else metric[dst] = value;
    return { metric, v: s.v };
  }));
}

function labelJoin(args: Value[]): Value {
  const dst = str(args[1]);
  const sep = str(args[2]);
  const srcs = args.slice(3).map(str);
  for (const s of srcs) {
    if (!LABEL_NAME.test(s) && s !== '__name__') throw new PromQLError('execution', `invalid source label name in label_join(): ${s}`);
  }
  if (!LABEL_NAME.test(dst)) throw new PromQLError('execution', `invalid destination label name in label_join(): ${dst}`);
  return vector(vec(args[0]).map((s) => {
    const value = srcs.map((l) => s.metric[l] ?? '').join(sep);
    const metric: Record<string, string> = { ...s.metric };
    if (value === '') delete metric[dst];
    else metric[dst] = value;
    return { metric, v: s.v };
  }));
}

/** Labels absent() reports: the selector's equality matchers, minus names matched more than once. */
function absentLabels(e: Expr | undefined): Labels {
  while (e && e.type === 'ParenExpr') e = e.expr;
  const sel = e?.type === 'VectorSelector' ? e : e?.type === 'MatrixSelector' ? e.vector : undefined;
  if (!sel) return {};
  const out: Record<string, string> = {};
  const dup = new Set<string>();
  for (const m of sel.matchers) {
    if (m.name === '__name__') continue;
    if (m.type === '=' && !(m.name in out) && !dup.has(m.name)) out[m.name] = m.value;
    else {
      dup.add(m.name);
      delete out[m.name];
    }
  }
  return out;
}

interface Bucket { upper: number; count: number }

/** histogram_quantile on classic buckets, with Prometheus's coalescing and monotonicity fix. */
export function bucketQuantile(q: number, buckets: Bucket[]): number {
  buckets.sort(byUpper);
  const n = buckets.length;
  const upper = new Float64Array(n);
  const count = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    upper[i] = buckets[i]!.upper;
    count[i] = buckets[i]!.count;
  }
  return sortedBucketQuantile(q, upper, count, n);
}

/** The order buckets are sorted in (stable; equal bounds keep their order, and are merged). */
export const byUpper = (a: { upper: number }, b: { upper: number }): number => a.upper - b.upper;

/**
 * bucketQuantile over the first n buckets already sorted by upper bound. Merges and fixes counts
 * in place in `upper`/`count` (scratch the caller owns), so a column-wise caller allocates nothing.
 */
export function sortedBucketQuantile(q: number, upper: Float64Array, count: Float64Array, n: number): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (n === 0 || upper[n - 1] !== Infinity) return NaN;
  // Buckets with the same bound (e.g. "1" and "1.0") are one bucket.
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (m > 0 && upper[m - 1] === upper[i]) count[m - 1] = count[m - 1]! + count[i]!;
    else {
      upper[m] = upper[i]!;
      count[m] = count[i]!;
      m++;
    }
  }
  // Scrapes of buckets are not atomic, so counts may decrease slightly; make them monotonic.
  let max = -Infinity;
  for (let i = 0; i < m; i++) {
    const c = count[i]!;
    if (c > max) max = c;
    else if (c < max) count[i] = max;
  }
  if (m < 2) return NaN;
  const observations = count[m - 1]!;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = m - 1;
  for (let i = 0; i < m - 1; i++) {
    if (count[i]! >= rank) { b = i; break; }
  }
  if (b === m - 1) return upper[m - 2]!;
  if (b === 0 && upper[0]! <= 0) return upper[0]!;
  let bucketStart = 0;
  const bucketEnd = upper[b]!;
  let c = count[b]!;
  if (b > 0) {
    bucketStart = upper[b - 1]!;
    c -= count[b - 1]!;
    rank -= count[b - 1]!;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / c);
}

export function parseGoFloat(s: string): number {
  const t = s.trim();
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  return NaN;
}

function histogramQuantile(args: Value[]): Value {
  const q = num(args[0]);
  const groups = new Map<string, { metric: Labels; buckets: Bucket[] }>();
  for (const s of vec(args[1])) {
    const le = s.metric.le;
    if (le === undefined) continue;
    const upper = parseGoFloat(le);
    if (Number.isNaN(upper)) continue;
    const { le: _le, __name__: _n, ...rest } = s.metric;
    const key = labelsKey(rest);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { metric: rest, buckets: [] }));
    g.buckets.push({ upper, count: s.v });
  }
  return vector([...groups.values()].map((g) => ({ metric: g.metric, v: bucketQuantile(q, g.buckets) })));
}

/** sort()/sort_desc(): Prometheus puts NaN last in both. */
function sortVector(samples: Sample[], desc: boolean): Sample[] {
  return [...samples].sort((a, b) => {
    const an = Number.isNaN(a.v), bn = Number.isNaN(b.v);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return desc ? b.v - a.v : a.v - b.v;
  });
}

type Fn = (args: Value[], t: number, call: Call) => Value;

const FNS: Record<string, Fn> = {
  abs: simple(Math.abs),
  ceil: simple(Math.ceil),
  floor: simple(Math.floor),
  exp: simple(Math.exp),
  ln: simple(Math.log),
  log2: simple(Math.log2),
  log10: simple(Math.log10),
  sqrt: simple(Math.sqrt),
  sgn: simple((v) => (v < 0 ? -1 : v > 0 ? 1 : v)),
  acos: simple(Math.acos), acosh: simple(Math.acosh), asin: simple(Math.asin), asinh: simple(Math.asinh),
  atan: simple(Math.atan), atanh: simple(Math.atanh), cos: simple(Math.cos), cosh: simple(Math.cosh),
  sin: simple(Math.sin), sinh: simple(Math.sinh), tan: simple(Math.tan), tanh: simple(Math.tanh),
  deg: simple((v) => (v * 180) / Math.PI),
  rad: simple((v) => (v * Math.PI) / 180),
  pi: () => ({ type: 'scalar', v: Math.PI }),
  time: (_a, t) => ({ type: 'scalar', v: t / 1000 }),
  vector: (a) => vector([{ metric: {}, v: num(a[0]) }]),
  scalar: (a) => {
    const s = vec(a[0]);
    return { type: 'scalar', v: s.length === 1 ? s[0]!.v : NaN };
  },
  timestamp: (a, t) => vector(vec(a[0]).map((s) => ({ metric: dropName(s.metric), v: (s.ts ?? t) / 1000 }))),
  round: (a) => {
    const to = a.length > 1 ? num(a[1]) : 1;
    const inv = 1 / to;
    return vector(vec(a[0]).map((s) => ({ metric: dropName(s.metric), v: Math.floor(s.v * inv + 0.5) / inv })));
  },
  clamp: (a) => {
    const min = num(a[1]);
    const max = num(a[2]);
    if (max < min) return vector([]);
    return vector(vec(a[0]).map((s) => ({ metric: dropName(s.metric), v: goMax(min, goMin(max, s.v)) })));
  },
  clamp_max: (a) => {
    const max = num(a[1]);
    return vector(vec(a[0]).map((s) => ({ metric: dropName(s.metric), v: goMin(max, s.v) })));
  },
  clamp_min: (a) => {
    const min = num(a[1]);
    return vector(vec(a[0]).map((s) => ({ metric: dropName(s.metric), v: goMax(min, s.v) })));
  },
  day_of_month: dateFn((d) => d.getUTCDate()),
  day_of_week: dateFn((d) => d.getUTCDay()),
  day_of_year: dateFn((d) => Math.round((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400e3) + 1),
  days_in_month: dateFn((d) => 32 - new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 32)).getUTCDate()),
  hour: dateFn((d) => d.getUTCHours()),
  minute: dateFn((d) => d.getUTCMinutes()),
  month: dateFn((d) => d.getUTCMonth() + 1),
  year: dateFn((d) => d.getUTCFullYear()),
  sort: (a) => vector(sortVector(vec(a[0]), false)),
  sort_desc: (a) => vector(sortVector(vec(a[0]), true)),
  label_replace: labelReplace,
  label_join: labelJoin,
  histogram_quantile: histogramQuantile,
  absent: (a, _t, call) => (vec(a[0]).length > 0 ? vector([]) : vector([{ metric: absentLabels(call.args[0]), v: 1 }])),
  absent_over_time: (a, _t, call) => (mat(a[0]).series.some((s) => s.v.length > 0) ? vector([]) : vector([{ metric: absentLabels(call.args[0]), v: 1 }])),
  present_over_time: (a) => overTime(a, () => 1),
  count_over_time: (a) => overTime(a, (s) => windowOf(s).hi - windowOf(s).lo),
  last_over_time: (a) => overTime(a, (s) => s.v[s.v.length - 1]!, true),
  sum_over_time: (a) => overTime(a, (s) => {
    let sum = 0, c = 0;
    for (const v of s.v) [sum, c] = kahanSumInc(v, sum, c);
    return Number.isFinite(sum) ? sum + c : sum;
  }),
  avg_over_time: (a) => overTime(a, (s) => {
    let mean = 0, count = 0, c = 0;
    for (const v of s.v) {
      count++;
      if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
        // Once at ±Inf, only NaN or the opposite infinity can change the mean.
        if (!Number.isFinite(v) && !Number.isNaN(v) && mean > 0 === v > 0) continue;
        if (Number.isFinite(v)) continue;
      }
      [mean, c] = kahanSumInc(v / count - mean / count, mean, c);
    }
    return !Number.isFinite(mean) && !Number.isNaN(mean) ? mean : mean + c;
  }),
  min_over_time: (a) => overTime(a, (s) => {
    let m = s.v[0]!;
    for (const v of s.v) if (v < m || Number.isNaN(m)) m = v;
    return m;
  }),
  max_over_time: (a) => overTime(a, (s) => {
    let m = s.v[0]!;
    for (const v of s.v) if (v > m || Number.isNaN(m)) m = v;
    return m;
  }),
  quantile_over_time: (a) => {
    const q = num(a[0]);
    return overTime(a, (s) => quantile(q, Array.from(s.v)));
  },
  stdvar_over_time: (a) => overTime(a, stdvarOverTime),
  stddev_over_time: (a) => overTime(a, (s) => Math.sqrt(stdvarOverTime(s))),
  changes: (a) => overTime(a, (s) => {
    let changes = 0;
    for (let i = 1; i < s.v.length; i++) {
      const cur = s.v[i]!, prev = s.v[i - 1]!;
      if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) changes++;
    }
    return changes;
  }),
  resets: (a) => overTime(a, (s) => {
    let resets = 0;
    for (let i = 1; i < s.v.length; i++) if (s.v[i]! < s.v[i - 1]!) resets++;
    return resets;
  }),
  rate: (a) => extrapolatedRate(mat(a[0]), true, true),
  increase: (a) => extrapolatedRate(mat(a[0]), true, false),
  delta: (a) => extrapolatedRate(mat(a[0]), false, false),
  irate: (a) => instantValue(mat(a[0]), true),
  idelta: (a) => instantValue(mat(a[0]), false),
  deriv: (a) => {
    const out: Sample[] = [];
    for (const s of mat(a[0]).series) {
      if (s.v.length < 2) continue;
      out.push({ metric: dropName(s.metric), v: linearRegression(s, s.t[0]!)[0] });
    }
    return vector(out);
  },
  predict_linear: (a, t) => {
    const duration = num(a[1]);
    const out: Sample[] = [];
    for (const s of mat(a[0]).series) {
      if (s.v.length < 2) continue;
      const [slope, intercept] = linearRegression(s, t);
      out.push({ metric: dropName(s.metric), v: slope * duration + intercept });
    }
    return vector(out);
  },
  holt_winters: holtWinters,
};

/** Go's math.Max/Min: NaN wins. */
function goMax(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}
function goMin(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
}

export function callFunction(call: Call, args: Value[], t: number): Value {
  const fn = FNS[call.func];
  if (!fn) throw new PromQLError('bad_data', `function ${JSON.stringify(call.func)} is not supported`);
  return fn(args, t, call);
}

