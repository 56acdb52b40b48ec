/**
 * Metric samples and their rollups.
 *
 * `Fingerprint` is MATERIALIZED rather than sent by the writer: every writer (and any tool that
 * inserts here) then agrees on a series' identity, and the rollup views group by the same value.
 * Map keys keep insertion order, so the labels are sorted before hashing. (The rollups store the
 * labels as Map(String, String): `any` over a LowCardinality map returns the plain type.)
 *
 * The rollups are kept by materialized views at 1 minute and 1 hour. min/max/sum/count are
 * SimpleAggregateFunction columns (readable without -Merge); `last` needs argMax over the sample
 * time, hence a real aggregate state. Staleness markers and NaN values are left out of rollups:
 * a marker carries NaN by convention, and one NaN would poison sum/min/max of the whole bucket.
 *
 * A replayed insert that ClickHouse deduplicates in `metric_samples` is still pushed through the
 * views (measured on chDB 26.7): the rollups would count its samples twice. The views' blocks
 * carry a token derived from the insert's, so the rollup tables deduplicate them too — given
 * their own `non_replicated_deduplication_window`.
 *
 * Rollup TTLs are 10× and 100× `clickhouse.metrics_ttl_days` (capped), reconciled at start like
 * the raw table's (migrate.ts).
 */
import type { Migration } from './index.js';

export const metricSamples: Migration = {
  version: 3,
  name: 'metric-samples',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{database}}.metric_samples
(
    MetricName LowCardinality(String) CODEC(ZSTD(1)),
    Labels Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Fingerprint UInt64 MATERIALIZED cityHash64(MetricName, arraySort(arrayZip(mapKeys(Labels), mapValues(Labels)))),
    Timestamp DateTime64(3) CODEC(DoubleDelta, ZSTD(1)),
    Value Float64 CODEC(Gorilla, ZSTD(1)),
    Type LowCardinality(String) CODEC(ZSTD(1)),
    Stale Bool DEFAULT false
)
ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (MetricName, Fingerprint, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay({{metrics_ttl_days}})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000`,
    ...rollupStatements('1m', 'toStartOfMinute', 'metrics_1m_ttl_days'),
    // From the raw samples, not from the 1 m rollup: a view chained on a view's target sees
    // each 1 m insert block, not merged buckets, and the result is the same either way.
    ...rollupStatements('1h', 'toStartOfHour', 'metrics_1h_ttl_days'),
  ],
};

/** One rollup: its AggregatingMergeTree table and the view that keeps it from the raw samples. */
function rollupStatements(step: '1m' | '1h', bucketFn: 'toStartOfMinute' | 'toStartOfHour', ttlVar: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS {{database}}.metric_rollup_${step}
(
    MetricName LowCardinality(String),
    Fingerprint UInt64,
    BucketStart DateTime,
    Labels SimpleAggregateFunction(any, Map(String, String)),
    Type SimpleAggregateFunction(anyLast, LowCardinality(String)),
    Min SimpleAggregateFunction(min, Float64),
    Max SimpleAggregateFunction(max, Float64),
    Sum SimpleAggregateFunction(sum, Float64),
    Count SimpleAggregateFunction(sum, UInt64),
    Last AggregateFunction(argMax, Float64, DateTime64(3))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(BucketStart)
ORDER BY (MetricName, Fingerprint, BucketStart)
TTL BucketStart + toIntervalDay({{${ttlVar}}})
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.metric_rollup_${step}_mv TO {{database}}.metric_rollup_${step} AS
SELECT
    MetricName,
    Fingerprint,
    ${bucketFn}(Timestamp) AS BucketStart,
    any(Labels) AS Labels,
    anyLast(Type) AS Type,
    min(Value) AS Min,
    max(Value) AS Max,
    sum(Value) AS Sum,
    toUInt64(count()) AS Count,
    argMaxState(Value, Timestamp) AS Last
FROM {{database}}.metric_samples
WHERE NOT Stale AND NOT isNaN(Value)
GROUP BY MetricName, Fingerprint, BucketStart`,
  ];
}
