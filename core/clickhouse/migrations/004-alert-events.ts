/**
 * Every alert state change and every notification attempt, for the alerting part to write and
 * analysts to read ("when did this page, who got it, did it fail").
 *
 * `Fingerprint` is the alert's label-set fingerprint as Alertmanager prints it (hex string), so
 * events line up with Alertmanager-style APIs. One table for both kinds keeps an alert's history
 * a single ordered read; notification columns are empty on state changes.
 *
 * `non_replicated_deduplication_window`: the alerting writer can retry an insert under a token
 * without doubling a page in the history. No TTL: the config has no key for it yet and the volume
 * is small; add one with a later migration when it gets one.
 */
import type { Migration } from './index.js';

export const alertEvents: Migration = {
  version: 4,
  name: 'alert-events',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{database}}.alert_events
(
    Timestamp DateTime64(3) CODEC(Delta(8), ZSTD(1)),
    Fingerprint String CODEC(ZSTD(1)),
    AlertName LowCardinality(String) CODEC(ZSTD(1)),
    Labels Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Annotations Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    State LowCardinality(String),
    PreviousState LowCardinality(String),
    Value Float64,
    Kind Enum8('state_change' = 1, 'notification' = 2),
    Receiver LowCardinality(String),
    NotificationStatus LowCardinality(String),
    Error String CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (AlertName, Fingerprint, Timestamp)
SETTINGS non_replicated_deduplication_window = 1000`,
  ],
};
