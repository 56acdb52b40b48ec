/**
 * The body's token bloom filter, one per granule (8,192 rows) instead of one per 8 granules.
 *
 * Why: a bloom filter summarizes every token of the rows it covers. Real log lines each carry a
 * few unique tokens (request ids, user ids, durations, addresses), so 65,536 rows hold hundreds of
 * thousands of distinct tokens, and the exporter's 32 KiB filter over 8 granules is saturated: on
 * 10 M benchmark rows (`npm run bench:warehouse-search`) it kept 528-552 of 1,230 granules for a
 * token found in 10 rows, and the search took 1.5-2.6 s (0.9-2.3 s for `"ERR_CODE_7f3a"`). The
 * same 32 KiB per granule keeps 12-18, and both searches answer in 35-95 ms. The cost: the index is 8×
 * larger (32 KiB per 8,192 rows, about 4 bytes a row: 38 MiB beside 280 MiB of compressed bodies).
 *
 * ClickHouse cannot change an index's granularity in place, nor rename an index: the new one,
 * `idx_body_tokens`, is added beside the exporter's `idx_body`, built for the parts that already
 * exist, and only then is `idx_body` dropped. In that order every statement is idempotent and two
 * processes migrating at once (`pharos pipeline` and `pharos alerts` start together under compose)
 * cannot undo each other's work, as "drop idx_body, add it again, build it" could: one process's
 * DROP would remove the index the other had just added. MATERIALIZE INDEX is a mutation that runs
 * in the background (ClickHouse keeps it with the table and resumes it after a restart), so a start
 * is never held for the hours a large table can take; until a part is done, searches read it
 * whole — slower, never wrong. A start interrupted before the migration was recorded runs it again:
 * the index is built once more, which only costs time. The columns stay the exporter's.
 */
import type { Migration } from './index.js';

export const bodyIndexPerGranule: Migration = {
  version: 7,
  name: 'body-index-per-granule',
  statements: [
    'ALTER TABLE {{database}}.otel_logs ADD INDEX IF NOT EXISTS idx_body_tokens Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1',
    'ALTER TABLE {{database}}.otel_logs MATERIALIZE INDEX idx_body_tokens',
    'ALTER TABLE {{database}}.otel_logs DROP INDEX IF EXISTS idx_body',
  ],
};
