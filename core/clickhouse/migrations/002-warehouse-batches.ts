/**
 * The warehouse writer's ledger of Kafka offset ranges it began to insert, one row per insert
 * unit, written just before the unit's rows.
 *
 * Why: a deduplication token is derived from an offset range, and a batch replayed after a crash
 * rarely has the range it had the first time (more messages arrived meanwhile). With the ledger
 * the writer cuts the replay back into the recorded ranges: those followed by a later range are
 * known to be stored and are skipped; the last one is re-inserted under its original token, which
 * ClickHouse deduplicates if it had landed. `target` keeps the ledgers of different tables apart.
 */
import type { Migration } from './index.js';

export const warehouseBatches: Migration = {
  version: 2,
  name: 'warehouse-batches',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{database}}.warehouse_batches
(
    target LowCardinality(String),
    topic LowCardinality(String),
    kafka_partition UInt32,
    first_offset UInt64,
    last_offset UInt64,
    recorded_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (target, topic, kafka_partition, first_offset)
TTL recorded_at + toIntervalDay(30)`,
  ],
};
