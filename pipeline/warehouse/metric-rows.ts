/**
 * MetricSamples as `metric_samples` TabSeparated lines. `Fingerprint` is not sent: the table
 * computes it (migration 003), so every writer agrees on a series' identity.
 *
 * As with logs, a row never fails an insert on its content: a sample time outside what
 * DateTime64(3) and the day partitions can hold falls back to the Kafka message's time, and a
 * type the table does not know becomes 'unknown'.
 */
import type { MetricSample, MetricType } from '../../core/model/records.js';
import { tsvFloat, tsvMap, tsvString } from './tsv.js';

export const METRIC_SAMPLES_TSV_COLUMNS = ['MetricName', 'Labels', 'Timestamp', 'Value', 'Type', 'Stale'] as const;

/** Integer milliseconds are read as DateTime64(3) values only with `basic` parsing (chDB defaults to best_effort). */
export const METRIC_SAMPLES_INSERT_SETTINGS = { date_time_input_format: 'basic' } as const;

const METRIC_TYPES: ReadonlySet<string> = new Set<MetricType>(['counter', 'gauge', 'histogram_bucket', 'histogram_sum', 'histogram_count', 'summary', 'summary_sum', 'summary_count', 'unknown']);

/** 1970-01-01 00:16:40: `basic` parsing reads shorter integers as seconds (see log-rows.ts). */
const MIN_STORABLE_MS = 1_000_000_000_000;
/** 2106-02-07, the last day `toDate` and the TTL's DateTime can hold. */
const MAX_STORABLE_MS = 4_294_967_295_000;
const MS_PER_DAY = 86_400_000;

export function storedTimeMs(s: MetricSample, fallbackMs: number): number {
  const t = s.timestampMs;
  if (Number.isSafeInteger(t) && t >= MIN_STORABLE_MS && t <= MAX_STORABLE_MS) return t;
  return Math.min(MAX_STORABLE_MS, Math.max(MIN_STORABLE_MS, Math.trunc(fallbackMs)));
}

/** UTC day of a stored time: `metric_samples` is partitioned by day. */
export function utcDayMs(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

/** One line, newline included; `timeMs` from storedTimeMs. */
export function metricSampleTsvLine(s: MetricSample, timeMs: number): string {
  const type = METRIC_TYPES.has(s.type) ? s.type : 'unknown';
  return `${tsvString(s.name)}\t${tsvMap(s.labels)}\t${timeMs}\t${tsvFloat(s.value)}\t${type}\t${s.stale === true ? 'true' : 'false'}\n`;
}
