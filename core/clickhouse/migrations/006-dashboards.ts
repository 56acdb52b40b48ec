/**
 * Saved dashboards: one row per save, the newest `Version` of an `Id` wins (ReplacingMergeTree),
 * a delete is a row with `Deleted = 1`. Reads take `argMax(..., Version)` per id, so they are
 * right before background merges collapse the history, and a concurrent writer never sees a
 * half-applied update. The model itself is JSON text: its shape is versioned by the app
 * (dashboard/DASHBOARDS.md), not by DDL.
 */
import type { Migration } from './index.js';

export const dashboards: Migration = {
  version: 6,
  name: 'dashboards',
  statements: [
    `CREATE TABLE IF NOT EXISTS {{database}}.dashboards
(
    Id String,
    Version UInt64,
    Title String,
    Model String CODEC(ZSTD(1)),
    UpdatedAt DateTime64(3) DEFAULT now64(3),
    UpdatedBy String,
    Deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(Version)
ORDER BY Id`,
  ],
};
