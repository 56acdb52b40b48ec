/**
 * One series' values over a range query's steps folded into its group's running aggregate, for
 * the column-wise evaluator (range-eval.ts). One loop per operator keeps the hot loop free of a
 * per-step switch; the arithmetic is the step-wise aggregation's (aggregations.ts), in the same
 * order, so both paths agree to the last bit.
 */
import type { Labels } from './value.js';

export interface Group {
  metric: Labels;
  v: Float64Array;
  has: Uint8Array;
  /** Series seen per step; only avg and count need it. */
  count: Float64Array | null;
}

export function foldInto(op: string, g: Group, v: Float64Array, has: Uint8Array, n: number): void {
  const gv = g.v;
  const gh = g.has;
  switch (op) {
    case 'sum':
      for (let k = 0; k < n; k++) {
        if (!has[k]) continue;
        if (gh[k]) gv[k] = gv[k]! + v[k]!;
        else {
          gh[k] = 1;
          gv[k] = v[k]!;
        }
      }
      return;
    case 'max':
      for (let k = 0; k < n; k++) {
        if (!has[k]) continue;
        const x = v[k]!;
        if (!gh[k]) {
          gh[k] = 1;
          gv[k] = x;
        } else if (gv[k]! < x || Number.isNaN(gv[k])) gv[k] = x;
      }
      return;
    case 'min':
      for (let k = 0; k < n; k++) {
        if (!has[k]) continue;
        const x = v[k]!;
        if (!gh[k]) {
          gh[k] = 1;
          gv[k] = x;
        } else if (gv[k]! > x || Number.isNaN(gv[k])) gv[k] = x;
      }
      return;
    case 'group':
      for (let k = 0; k < n; k++) {
        if (!has[k]) continue;
        gh[k] = 1;
        gv[k] = 1;
      }
      return;
    case 'count': {
      const c = g.count!;
      for (let k = 0; k < n; k++) {
        if (!has[k]) continue;
        gh[k] = 1;
        gv[k] = ++c[k]!;
      }
      return;
    }
    case 'avg': {
      const c = g.count!;
      for (let k = 0; k < n; k++) {
        if (!has[k]) continue;
        const x = v[k]!;
        if (!gh[k]) {
          gh[k] = 1;
          c[k] = 1;
          gv[k] = x;
          continue;
        }
        const cnt = ++c[k]!;
        const cur = gv[k]!;
        // Prometheus's incremental mean, which avoids overflow and keeps ±Inf sticky.
        if (!Number.isFinite(cur) && !Number.isNaN(cur)) {
          if (!Number.isFinite(x) && !Number.isNaN(x) && cur > 0 === x > 0) continue;
          if (Number.isFinite(x)) continue;
        }
        gv[k] = cur + (x / cnt - cur / cnt);
      }
      return;
    }
    default:
      throw new Error(`column-wise aggregation does not handle ${op}`);
  }
}
