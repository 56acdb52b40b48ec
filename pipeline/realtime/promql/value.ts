/**
 * Values the PromQL engine passes between nodes, label helpers, and the errors it raises.
 */
import { compileAnchoredRe2, type Re2 } from '../re2.js';
import type { Labels } from '../storage.js';

export type { Labels };

/** Prometheus's API error types; each maps to an HTTP status in the API layer. */
export type ErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export class PromQLError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    /** Character offset into the query, for parse errors. */
    readonly position?: number,
  ) {
    super(message);
    this.name = 'PromQLError';
  }
}

export const tooManySamplesMessage = 'query processing would load too many samples into memory in query execution';
export const timeoutMessage = 'query timed out in query execution';

export interface Sample {
  metric: Labels;
  v: number;
  /** Timestamp of the raw sample a selector picked (ms); `timestamp()` reports it. */
  ts?: number;
}

export interface RangeSeries {
  metric: Labels;
  t: Float64Array;
  v: Float64Array;
}

/**
 * A range series cut from a stored series without copying or allocating views up front: the hot
 * functions (the rate family) read `allT`/`allV` between `lo` and `hi`; others get lazy subarrays.
 */
export class WindowSeries implements RangeSeries {
  // Plain constructor assignments (no class field declarations): this object is made per series
  // per step, and defined fields make construction markedly slower.
  declare private tView: Float64Array | undefined;
  declare private vView: Float64Array | undefined;
  declare readonly metric: Labels;
  declare readonly allT: Float64Array;
  declare readonly allV: Float64Array;
  declare readonly lo: number;
  declare readonly hi: number;
  constructor(metric: Labels, allT: Float64Array, allV: Float64Array, lo: number, hi: number) {
    this.metric = metric;
    this.allT = allT;
    this.allV = allV;
    this.lo = lo;
    this.hi = hi;
    this.tView = undefined;
    this.vView = undefined;
  }
  get t(): Float64Array {
    return (this.tView ??= this.allT.subarray(this.lo, this.hi));
  }
  get v(): Float64Array {
    return (this.vView ??= this.allV.subarray(this.lo, this.hi));
  }
}

/** Arrays and bounds of a range series, without allocating for a WindowSeries. */
export function windowOf(s: RangeSeries): { t: Float64Array; v: Float64Array; lo: number; hi: number } {
  if (s instanceof WindowSeries) return { t: s.allT, v: s.allV, lo: s.lo, hi: s.hi };
  return { t: s.t, v: s.v, lo: 0, hi: s.v.length };
}

export interface ScalarValue { type: 'scalar'; v: number }
export interface StringValue { type: 'string'; s: string }
export interface VectorValue { type: 'vector'; samples: Sample[] }
export interface MatrixValue {
  type: 'matrix';
  series: RangeSeries[];
  /** The window the series were cut from (ms, inclusive), which the rate family extrapolates to. */
  rangeStart: number;
  rangeEnd: number;
}
export type Value = ScalarValue | StringValue | VectorValue | MatrixValue;

/** A series in a query result (range query output, or a matrix returned by an instant query). */
export interface ResultSeries {
  metric: Labels;
  points: { t: number; v: number }[];
}

export type QueryResult =
  | { resultType: 'scalar'; t: number; v: number }
  | { resultType: 'string'; t: number; s: string }
  | { resultType: 'vector'; t: number; samples: Sample[] }
  | { resultType: 'matrix'; series: ResultSeries[] };

const keyCache = new WeakMap<object, string>();

/** A string identifying a label set; equal label sets give equal keys whatever their property order. */
export function labelsKey(l: Labels): string {
  const cached = keyCache.get(l);
  if (cached !== undefined) return cached;
  const names = Object.keys(l).sort();
  let k = '';
  for (const n of names) k += n + '\xff' + l[n] + '\xfe';
  keyCache.set(l, k);
  return k;
}

const dropCache = new WeakMap<object, Labels>();

/**
 * Labels without `__name__`. Memoized per label object: series keep their label objects across
 * evaluation steps, so the result (and its cached key) is reused instead of rebuilt every step.
 */
export function dropName(l: Labels): Labels {
  if (!('__name__' in l)) return l;
  const cached = dropCache.get(l);
  if (cached) return cached;
  const { __name__: _drop, ...rest } = l;
  dropCache.set(l, rest);
  return rest;
}

/** Memoizes a label transformation per input label object (see dropName). */
export function memoLabels(fn: (l: Labels) => Labels): (l: Labels) => Labels {
  const cache = new WeakMap<object, Labels>();
  return (l) => {
    let out = cache.get(l);
    if (!out) cache.set(l, (out = fn(l)));
    return out;
  };
}

/** Labels restricted to (or, with `without`, stripped of) `names`; used for grouping and matching. */
export function keepLabels(l: Labels, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = l[n];
    if (v !== undefined && v !== '') out[n] = v;
  }
  return out;
}

export function removeLabels(l: Labels, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { ...l };
  for (const n of names) delete out[n];
  return out;
}

/** Go's labels.String(): `{a="b", c="d"}`, names sorted. */
export function formatLabels(l: Labels): string {
  const names = Object.keys(l).sort();
  return '{' + names.map((n) => `${n}=${JSON.stringify(l[n])}`).join(', ') + '}';
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64), which Prometheus uses for sample values and count_values. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  if (!s.includes('e')) return s;
  // Expand JS's exponent notation into plain decimals with the same shortest digits.
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const sign = m[1] ?? '';
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp >= 0) {
    const intLen = 1 + exp;
    return sign + (digits.length <= intLen ? digits + '0'.repeat(intLen - digits.length) : digits.slice(0, intLen) + '.' + digits.slice(intLen));
  }
  return sign + '0.' + '0'.repeat(-exp - 1) + digits;
}

const regexCache = new Map<string, Re2>();

/** Compiles a Prometheus (RE2) regex, fully anchored as Prometheus anchors matchers. */
export function compileRegex(re: string): Re2 {
  const cached = regexCache.get(re);
  if (cached) return cached;
  let out: Re2;
  try {
    out = compileAnchoredRe2(re);
  } catch (err) {
    throw new PromQLError('bad_data', `error parsing regexp: ${(err as Error).message}`);
  }
  if (regexCache.size > 1000) regexCache.clear();
  regexCache.set(re, out);
  return out;
}

export function sortSeries<T extends { metric: Labels }>(series: T[]): T[] {
  return series.sort((a, b) => compareLabels(a.metric, b.metric));
}

/** Go's labels.Compare on sorted label lists. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = Object.keys(a).sort();
  const bn = Object.keys(b).sort();
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    const x = an[i]!;
    const y = bn[i]!;
    if (x !== y) return x < y ? -1 : 1;
    const xv = a[x]!;
    const yv = b[y]!;
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return an.length - bn.length;
}
