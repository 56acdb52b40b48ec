/**
 * The rate family (rate, increase, delta, irate, idelta) over one series at every step of a range
 * query, in one forward pass: the window's two ends move forward with the steps, counter resets
 * are found through a running count (a window without a reset, the usual case, costs O(1)), and the
 * extrapolation's time terms, which depend only on where the window's samples sit, are computed
 * once per distinct shape and reused: with regular scrapes a few shapes repeat across all steps
 * and series. The windows and their terms form a plan per timestamps array, shared by the series
 * scraped together (the store hands them one array). The counter's zero clamp is ruled out by a
 * multiplication with a safety margin, and decided exactly, as extrapolate() does, near the edge.
 * Results are bit-for-bit those of functions.ts (extrapolatedRate/instantValue): every value goes
 * through the same floating-point operations in the same order.
 */
import { extrapolate } from './functions.js';

export type RateFunc = 'rate' | 'increase' | 'delta' | 'irate' | 'idelta';

export const RATE_FUNCS: ReadonlySet<string> = new Set<RateFunc>(['rate', 'increase', 'delta', 'irate', 'idelta']);

/** Memo slots for window shapes (direct-mapped by a hash of the shape). */
const SLOTS = 64;
/** Far above the subnormal range, where result * zeroBound could lose the bound's margin. */
const MIN_NORMAL_RESULT = 1e-280;

/** Plans kept per kernel (one query node); series beyond that share a scratch plan. */
const MAX_PLANS = 256;

interface Plan {
  /** Window [lo, hi) per step; lo -1 when the window has fewer than two samples. */
  lo: Int32Array;
  hi: Int32Array;
  factor: Float64Array;
  zeroBound: Float64Array;
}

function newPlan(n: number): Plan {
  return { lo: new Int32Array(n), hi: new Int32Array(n), factor: new Float64Array(n), zeroBound: new Float64Array(n) };
}

export class RateKernel {
  private readonly isCounter: boolean;
  private readonly isRate: boolean;
  private readonly instant: boolean;
  private readonly rangeSeconds: number;
  // Shape key per slot: ms from the window start to the first sample, from the last sample to the
  // window end, between first and last, and the sample count.
  private readonly keyStart = new Float64Array(SLOTS).fill(NaN);
  private readonly keyEnd = new Float64Array(SLOTS);
  private readonly keySpan = new Float64Array(SLOTS);
  private readonly keyCount = new Float64Array(SLOTS);
  /** extrapolateTo / sampledInterval, as extrapolate() computes it when the zero clamp does not apply. */
  private readonly factor = new Float64Array(SLOTS);
  /** A bound on first/result above which the counter's zero clamp cannot apply (see runExtrapolated()). */
  private readonly zeroBound = new Float64Array(SLOTS);
  private resets = new Float64Array(0);
  private readonly plans = new Map<Float64Array, Plan>();
  private scratch: Plan | undefined;

  constructor(
    func: RateFunc,
    private readonly start: number,
    private readonly step: number,
    private readonly n: number,
    private readonly offsetMs: number,
    private readonly rangeMs: number,
  ) {
    this.isCounter = func === 'rate' || func === 'increase' || func === 'irate';
    this.isRate = func === 'rate' || func === 'irate';
    this.instant = func === 'irate' || func === 'idelta';
    this.rangeSeconds = rangeMs / 1000;
  }

  /**
   * Writes the function's value at each step into `out`/`has` (every step is written) for the
   * samples ts/vs (ascending, staleness markers already removed). Returns whether any step has one.
   */
  run(ts: Float64Array, vs: Float64Array, out: Float64Array, has: Uint8Array): boolean {
    return this.instant ? this.runInstant(ts, vs, out, has) : this.runExtrapolated(ts, vs, out, has, false);
  }

  /** Whether runSum() is available (rate, increase, delta). */
  get summable(): boolean {
    return !this.instant;
  }

  /**
   * Adds each step's value into `sum` as the sum aggregation does (the first value of a step is
   * taken as is and marked in `has`; later ones are added), leaving steps without a value alone:
   * a series folds straight into its group. Returns whether any step had a value.
   */
  runSum(ts: Float64Array, vs: Float64Array, sum: Float64Array, has: Uint8Array): boolean {
    if (this.instant) throw new Error('runSum is for rate, increase and delta');
    return this.runExtrapolated(ts, vs, sum, has, true);
  }

  private runExtrapolated(ts: Float64Array, vs: Float64Array, out: Float64Array, has: Uint8Array, accumulate: boolean): boolean {
    const len = ts.length;
    const isCounter = this.isCounter;
    // Running count of counter resets: a window holds a reset when the count differs between its
    // ends. A count, not a sum of the values before the resets: a tiny value added to a large sum
    // can leave it unchanged, and the window's reset would be missed (found by the property test).
    // Most series have no reset at all in the range; then no window needs the check.
    let firstReset = 0;
    if (isCounter) {
      firstReset = len;
      for (let i = 1; i < len; i++) {
        if (vs[i]! < vs[i - 1]!) {
          firstReset = i;
          break;
        }
      }
    }
    const hasResets = isCounter && firstReset < len;
    let resets = this.resets;
    if (hasResets) {
      if (resets.length < len) resets = this.resets = new Float64Array(Math.max(len, 2 * resets.length));
      resets.fill(0, 0, firstReset);
      let sum = 0;
      for (let i = firstReset; i < len; i++) {
        if (vs[i]! < vs[i - 1]!) sum++;
        resets[i] = sum;
      }
    }
    const plan = this.planFor(ts);
    const { lo: pLo, hi: pHi, factor, zeroBound } = plan;
    const rangeMs = this.rangeMs;
    const isRate = this.isRate;
    const rangeSeconds = this.rangeSeconds;
    const n = this.n;
    let any = false;
    for (let k = 0; k < n; k++) {
      const lo = pLo[k]!;
      if (lo < 0) {
        if (!accumulate) {
          has[k] = 0;
          out[k] = 0;
        }
        continue;
      }
      const hi = pHi[k]!;
      const first = vs[lo]!;
      let result = vs[hi - 1]! - first;
      if (hasResets && resets[hi - 1] !== resets[lo]) {
        // Summed in order, as functions.ts does, so both agree to the last bit.
        let prev = 0;
        for (let i = lo; i < hi; i++) {
          const x = vs[i]!;
          if (x < prev) result += prev;
          prev = x;
        }
      }
      // The zero clamp (a counter is not extrapolated below zero) applies when
      // sampledInterval * (first / result) < durationToStart. When first >= result * zeroBound it
      // cannot (zeroBound leaves a margin for every rounding step), so no division is needed.
      // Below MIN_NORMAL_RESULT the products lose relative precision: the exact path decides.
      if (isCounter && result > 0 && first >= 0 && !(result >= MIN_NORMAL_RESULT && first >= result * zeroBound[k]!)) {
        const end = this.start + k * this.step - this.offsetMs;
        result = extrapolate(result, first, ts[lo]!, ts[hi - 1]!, hi - lo, end - rangeMs, end, true);
      } else {
        result = result * factor[k]!;
      }
      if (isRate) result /= rangeSeconds;
      if (accumulate && has[k]) out[k] = out[k]! + result;
      else {
        out[k] = result;
        has[k] = 1;
      }
      any = true;
    }
    return any;
  }

  /**
   * Each step's window over `ts` and its extrapolation terms. Kept per timestamps array (by
   * identity): series scraped together share one, so the windows are found once for all of them.
   */
  private planFor(ts: Float64Array): Plan {
    const known = this.plans.get(ts);
    if (known) return known;
    let plan: Plan;
    if (this.plans.size < MAX_PLANS) {
      plan = newPlan(this.n);
      this.plans.set(ts, plan);
    } else {
      plan = this.scratch ??= newPlan(this.n);
    }
    const { keyStart, keyEnd, keySpan, keyCount } = this;
    const len = ts.length;
    const rangeMs = this.rangeMs;
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < this.n; k++) {
      // Not accumulated: the same expression as the step-wise path, whatever the start and step.
      const end = this.start + k * this.step - this.offsetMs;
      const begin = end - rangeMs;
      while (lo < len && ts[lo]! < begin) lo++;
      if (hi < lo) hi = lo;
      while (hi < len && ts[hi]! <= end) hi++;
      const count = hi - lo;
      if (count < 2) {
        plan.lo[k] = -1;
        continue;
      }
      const tFirst = ts[lo]!;
      const tLast = ts[hi - 1]!;
      const dStart = tFirst - begin;
      const dEnd = end - tLast;
      const span = tLast - tFirst;
      const slot = ((dStart * 3 + dEnd * 5 + count * 7) | 0) & (SLOTS - 1);
      if (keyStart[slot] !== dStart || keyEnd[slot] !== dEnd || keySpan[slot] !== span || keyCount[slot] !== count) {
        this.fill(slot, dStart, dEnd, span, count);
      }
      plan.lo[k] = lo;
      plan.hi[k] = hi;
      plan.factor[k] = this.factor[slot]!;
      plan.zeroBound[k] = this.zeroBound[slot]!;
    }
    return plan;
  }

  /** The time terms of extrapolate() for one window shape, without the value-dependent zero clamp. */
  private fill(slot: number, dStart: number, dEnd: number, span: number, count: number): void {
    this.keyStart[slot] = dStart;
    this.keyEnd[slot] = dEnd;
    this.keySpan[slot] = span;
    this.keyCount[slot] = count;
    // Same expressions as extrapolate(), so the factor is the very same double.
    const durationToStart = dStart / 1000;
    const durationToEnd = dEnd / 1000;
    const sampledInterval = span / 1000;
    const avgInterval = sampledInterval / (count - 1);
    const threshold = avgInterval * 1.1;
    let extrapolateTo = sampledInterval;
    extrapolateTo += durationToStart < threshold ? durationToStart : avgInterval / 2;
    extrapolateTo += durationToEnd < threshold ? durationToEnd : avgInterval / 2;
    this.factor[slot] = extrapolateTo / sampledInterval;
    // first/result >= bound implies the rounded sampledInterval * (first / result) >= durationToStart.
    this.zeroBound[slot] = (durationToStart / sampledInterval) * (1 + 1e-9);
  }

  private runInstant(ts: Float64Array, vs: Float64Array, out: Float64Array, has: Uint8Array): boolean {
    const len = ts.length;
    let hi = 0;
    let any = false;
    for (let k = 0; k < this.n; k++) {
      const end = this.start + k * this.step - this.offsetMs;
      const begin = end - this.rangeMs;
      while (hi < len && ts[hi]! <= end) hi++;
      // The window holds ts[hi-2] and ts[hi-1] when both are at or after its start.
      if (hi < 2 || ts[hi - 2]! < begin) {
        has[k] = 0;
        out[k] = 0;
        continue;
      }
      const last = vs[hi - 1]!;
      const prev = vs[hi - 2]!;
      let result = this.isRate && last < prev ? last : last - prev;
      const interval = ts[hi - 1]! - ts[hi - 2]!;
      if (interval === 0) {
        has[k] = 0;
        out[k] = 0;
        continue;
      }
      if (this.isRate) result /= interval / 1000;
      out[k] = result;
      has[k] = 1;
      any = true;
    }
    return any;
  }
}
