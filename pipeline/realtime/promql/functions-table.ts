/**
 * Signatures of Prometheus 2.x's functions, shared by the parser (type checks) and the engine.
 */
export type ValueType = 'scalar' | 'string' | 'vector' | 'matrix';

export interface FunctionDef {
  args: ValueType[];
  /** How many trailing arguments may be left out. */
  optional: number;
  /** The last argument type repeats (label_join). */
  variadic: boolean;
  returns: ValueType;
}

const def = (args: ValueType[], returns: ValueType, optional = 0, variadic = false): FunctionDef => ({ args, returns, optional, variadic });
const vv = def(['vector'], 'vector');
const mv = def(['matrix'], 'vector');
const dateFn = def(['vector'], 'vector', 1);

export const FUNCTIONS: Record<string, FunctionDef> = {
  abs: vv, ceil: vv, floor: vv, exp: vv, ln: vv, log2: vv, log10: vv, sqrt: vv, sgn: vv,
  acos: vv, acosh: vv, asin: vv, asinh: vv, atan: vv, atanh: vv, cos: vv, cosh: vv, sin: vv, sinh: vv, tan: vv, tanh: vv,
  deg: vv, rad: vv,
  pi: def([], 'scalar'),
  absent: vv,
  absent_over_time: mv,
  avg_over_time: mv, count_over_time: mv, last_over_time: mv, max_over_time: mv, min_over_time: mv,
  present_over_time: mv, stddev_over_time: mv, stdvar_over_time: mv, sum_over_time: mv,
  quantile_over_time: def(['scalar', 'matrix'], 'vector'),
  changes: mv, resets: mv, delta: mv, deriv: mv, idelta: mv, increase: mv, irate: mv, rate: mv,
  predict_linear: def(['matrix', 'scalar'], 'vector'),
  holt_winters: def(['matrix', 'scalar', 'scalar'], 'vector'),
  clamp: def(['vector', 'scalar', 'scalar'], 'vector'),
  clamp_max: def(['vector', 'scalar'], 'vector'),
  clamp_min: def(['vector', 'scalar'], 'vector'),
  round: def(['vector', 'scalar'], 'vector', 1),
  day_of_month: dateFn, day_of_week: dateFn, day_of_year: dateFn, days_in_month: dateFn,
  hour: dateFn, minute: dateFn, month: dateFn, year: dateFn,
  histogram_quantile: def(['scalar', 'vector'], 'vector'),
  label_join: def(['vector', 'string', 'string', 'string'], 'vector', 1, true),
  label_replace: def(['vector', 'string', 'string', 'string', 'string'], 'vector'),
  scalar: def(['vector'], 'scalar'),
  sort: vv, sort_desc: vv,
  time: def([], 'scalar'),
  timestamp: vv,
  vector: def(['scalar'], 'vector'),
};

/** Functions that only make sense on native histograms, which this store does not hold. */
export const NATIVE_HISTOGRAM_FUNCTIONS = new Set([
  'histogram_count', 'histogram_sum', 'histogram_fraction', 'histogram_avg', 'histogram_stddev', 'histogram_stdvar', 'histogram_quantiles',
]);
