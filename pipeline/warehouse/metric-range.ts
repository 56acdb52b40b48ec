/**
 * Metric range reads over the warehouse, for the dashboard and alerts over long ranges. Give it
 * a client of purpose 'query'.
 *
 * The step asked for picks the source: below a minute the raw samples, from a minute the 1 m
 * rollup, from an hour the 1 h rollup. A rollup bucket finer than the step is never coarser than
 * what the caller wants, and reading it instead of raw samples cuts rows read by the sampling
 * rate × 60 (or × 3600). Whatever the source, the result is re-aggregated to the step, so a
 * series yields at most one point per step and the result size is bounded by series × steps.
 *
 * Points carry min, max, sum, count and last of their step. Staleness markers and NaN samples are
 * left out of raw reads as they are left out of rollups (migration 003), so a point means the same
 * whatever the source.
 *
 * Bounded: a time range and a positive step are required, at most `maxRows` points come back
 * (`truncated` says when more matched), and the query carries `max_execution_time` in its own
 * SETTINGS (chDB keeps session SETs, see DESIGN.md). Every value is a query parameter.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { PharosError } from '../../core/errors.js';

export type Resolution = 'raw' | '1m' | '1h';

export interface LabelMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface RangeQuery {
  /** The metric name (`__name__`). */
  name: string;
  matchers?: readonly LabelMatcher[];
  /** Inclusive start, ms since the epoch. */
  fromMs: number;
  /** Exclusive end, ms since the epoch. */
  toMs: number;
  stepMs: number;
}

export interface RangePoint {
  /** Start of the step, ms since the epoch (`fromMs + k × stepMs`). */
  t: number;
  min: number;
  max: number;
  sum: number;
  count: number;
  /** The latest sample's value in the step. */
  last: number;
}

export interface RangeSeries {
  name: string;
  labels: Record<string, string>;
  /** The table's series fingerprint (UInt64 as a decimal string). */
  fingerprint: string;
  points: RangePoint[];
}

export interface RangeResult {
  resolution: Resolution;
  series: RangeSeries[];
  /** More points matched than `maxRows`; the series are cut at the limit. */
  truncated: boolean;
}

export interface MetricRangeOptions {
  /** Points returned at most, over all series. */
  maxRows?: number;
  maxExecutionSeconds?: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_MATCHERS = 32;

export function pickResolution(stepMs: number): Resolution {
  if (stepMs >= HOUR_MS) return '1h';
  if (stepMs >= MINUTE_MS) return '1m';
  return 'raw';
}

interface SelectedRow {
  MetricName: string;
  Fingerprint: string;
  SeriesLabels: Record<string, string>;
  b: string | number;
  min: number | string;
  max: number | string;
  sum: number | string;
  count: string | number;
  last: number | string;
}

export class MetricRangeReader {
  private readonly database: string;
  private readonly maxRows: number;
  private readonly maxExecutionSeconds: number;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    opts: MetricRangeOptions = {},
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new PharosError('invalid_config', `invalid database name ${JSON.stringify(database)}`);
    this.database = database;
    this.maxRows = opts.maxRows ?? 100_000;
    this.maxExecutionSeconds = opts.maxExecutionSeconds ?? 10;
  }

  async readRange(q: RangeQuery): Promise<RangeResult> {
    const { sql, values, resolution } = this.build(q);
    const rs = await this.client.query({ query: sql, query_params: values, format: 'JSONEachRow' });
    const rows = await rs.json<SelectedRow>();
    const truncated = rows.length > this.maxRows;
    const series: RangeSeries[] = [];
    let current: RangeSeries | undefined;
    for (const r of truncated ? rows.slice(0, this.maxRows) : rows) {
      if (current === undefined || current.fingerprint !== r.Fingerprint || current.name !== r.MetricName) {
        current = { name: r.MetricName, labels: r.SeriesLabels, fingerprint: String(r.Fingerprint), points: [] };
        series.push(current);
      }
      current.points.push({ t: q.fromMs + Number(r.b) * q.stepMs, min: num(r.min), max: num(r.max), sum: num(r.sum), count: Number(r.count), last: num(r.last) });
    }
    return { resolution, series, truncated };
  }

  /** The SQL text, its parameters and the source picked; public for tests. */
  build(q: RangeQuery): { sql: string; values: Record<string, string | number>; resolution: Resolution } {
    if (typeof q.name !== 'string' || q.name === '') throw new PharosError('bad_request', 'a metric name is required');
    for (const [k, v] of [
      ['fromMs', q.fromMs],
      ['toMs', q.toMs],
      ['stepMs', q.stepMs],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new PharosError('bad_request', `${k} must be a non-negative integer of milliseconds, got ${v}`);
    }
    if (q.toMs <= q.fromMs) throw new PharosError('bad_request', `time range [${q.fromMs}, ${q.toMs}) is empty`);
    if (q.stepMs < 1) throw new PharosError('bad_request', 'stepMs must be positive');
    const matchers = q.matchers ?? [];
    if (matchers.length > MAX_MATCHERS) throw new PharosError('bad_request', `at most ${MAX_MATCHERS} label matchers are allowed, got ${matchers.length}`);

    const resolution = pickResolution(q.stepMs);
    const values: Record<string, string | number> = { name: q.name, fromMs: q.fromMs, toMs: q.toMs, stepMs: q.stepMs, limit: this.maxRows + 1 };
    const where = ['MetricName = {name:String}'];
    for (const [i, m] of matchers.entries()) {
      if (!LABEL_NAME.test(m.name)) throw new PharosError('bad_request', `invalid label name ${JSON.stringify(m.name)}`);
      values[`k${i}`] = m.name;
      const label = `Labels[{k${i}:String}]`;
      if (m.op === '=' || m.op === '!=') {
        values[`v${i}`] = m.value;
        where.push(`${label} ${m.op} {v${i}:String}`);
      } else if (m.op === '=~' || m.op === '!~') {
        // Prometheus anchors regular expressions at both ends; ClickHouse's match() does not.
        values[`v${i}`] = `^(?:${m.value})$`;
        where.push(`${m.op === '=~' ? '' : 'NOT '}match(${label}, {v${i}:String})`);
      } else {
        throw new PharosError('bad_request', `unknown matcher operator ${JSON.stringify((m as { op: unknown }).op)}`);
      }
    }

    let from: string;
    let time: string;
    let aggregates: string;
    if (resolution === 'raw') {
      from = `\`${this.database}\`.metric_samples`;
      time = 'toUnixTimestamp64Milli(Timestamp)';
      where.push('Timestamp >= fromUnixTimestamp64Milli(toInt64({fromMs:Int64}))', 'Timestamp < fromUnixTimestamp64Milli(toInt64({toMs:Int64}))', 'NOT Stale', 'NOT isNaN(Value)');
      aggregates = 'min(Value) AS min, max(Value) AS max, sum(Value) AS sum, count() AS count, argMax(Value, Timestamp) AS last';
    } else {
      from = `\`${this.database}\`.metric_rollup_${resolution}`;
      time = 'toInt64(toUnixTimestamp(BucketStart)) * 1000';
      // A bucket belongs to the range when it starts inside it: the rollups cannot split buckets.
      where.push('BucketStart >= toDateTime(intDiv({fromMs:Int64}, 1000))', 'BucketStart < toDateTime(intDiv({toMs:Int64} + 999, 1000))', `${time} >= {fromMs:Int64}`, `${time} < {toMs:Int64}`);
      aggregates = 'min(Min) AS min, max(Max) AS max, sum(Sum) AS sum, sum(Count) AS count, argMaxMerge(Last) AS last';
    }
    const sql = `SELECT MetricName, Fingerprint, any(Labels) AS SeriesLabels, intDiv(${time} - {fromMs:Int64}, {stepMs:Int64}) AS b, ${aggregates}
FROM ${from}
WHERE ${where.join('\n  AND ')}
GROUP BY MetricName, Fingerprint, b
ORDER BY MetricName, Fingerprint, b
LIMIT {limit:UInt32}
SETTINGS max_execution_time = ${this.maxExecutionSeconds}, readonly = 1, output_format_json_quote_denormals = 1, output_format_json_quote_64bit_integers = 1`;
    return { sql, values, resolution };
  }
}

/** ClickHouse prints non-finite floats as strings when asked to quote them (see the SETTINGS). */
function num(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'inf' || v === '+inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  if (v === 'nan' || v === '-nan') return Number.NaN;
  return Number(v);
}
