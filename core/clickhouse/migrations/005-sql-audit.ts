/**
 * The SQL console's audit log: every statement an analyst sent (run or estimated), accepted or
 * refused, with who sent it and what came of it (core/clickhouse/sql-console.ts writes it).
 *
 * `Query` is the text as sent, not the canonical form: an audit answers "what did they type".
 * `Scope` is the label scope the statement ran under, as JSON ('' when unscoped). It is not in the
 * console's default allow-list: analysts do not read each other's queries through the console.
 * `Timestamp` is the server's clock when the row lands (a statement's end): no client-side time
 * parsing to disagree between chDB and a server. No TTL: the config has no key for it and the
 * volume is one row per statement; add one with a later migration when it gets one.
 */
import type { Migration } from './index.js';

export const sqlAudit: Migration = {
  version: 5,
  name: 'sql-audit',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{database}}.sql_audit
(
    Timestamp DateTime64(3) DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),
    QueryId String CODEC(ZSTD(1)),
    User LowCardinality(String),
    Role LowCardinality(String),
    Action LowCardinality(String),
    Query String CODEC(ZSTD(1)),
    Verdict LowCardinality(String),
    Reason String CODEC(ZSTD(1)),
    DurationMs UInt32,
    ResultRows UInt64,
    ReadRows UInt64,
    ReadBytes UInt64,
    Truncated Bool,
    Scope String CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (Timestamp, User)`,
  ],
};
