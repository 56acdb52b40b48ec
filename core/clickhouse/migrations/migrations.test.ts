import { describe, expect, test } from 'vitest';
import { tempChDB } from '../../../test/harness/chdb.js';
import { silentLogger } from '../../log.js';
import { migrate } from '../migrate.js';
import { metricTtls } from './index.js';

const { admin, rows } = tempChDB('pharos-migrations');
const log = silentLogger();

async function createQuery(db: string, table: string): Promise<string> {
  const [t] = await rows<{ create_table_query: string }>(`SELECT create_table_query FROM system.tables WHERE database = '${db}' AND name = '${table}'`);
  return t?.create_table_query ?? '';
}

describe('migrations 003 (metric samples, rollups) and 004 (alert events)', () => {
  test('create the tables and views, keep data on a re-run, and are completed when interrupted', async () => {
    expect((await migrate(admin, { database: 'mm_once', logsTtlDays: 30, metricsTtlDays: 15, log })).applied).toEqual(expect.arrayContaining([3, 4]));
    const tables = await rows<{ name: string; engine: string }>("SELECT name, engine FROM system.tables WHERE database = 'mm_once' ORDER BY name");
    expect(Object.fromEntries(tables.map((t) => [t.name, t.engine]))).toMatchObject({
      metric_samples: 'MergeTree',
      metric_rollup_1m: 'AggregatingMergeTree',
      metric_rollup_1h: 'AggregatingMergeTree',
      metric_rollup_1m_mv: 'MaterializedView',
      metric_rollup_1h_mv: 'MaterializedView',
      alert_events: 'MergeTree',
    });
    const samples = await createQuery('mm_once', 'metric_samples');
    expect(samples).toContain('TTL toDateTime(Timestamp) + toIntervalDay(15)');
    expect(samples).toMatch(/non_replicated_deduplication_window = 1000/);
    expect(await createQuery('mm_once', 'metric_rollup_1m')).toContain(`toIntervalDay(${metricTtls(15).rollup1m})`);
    expect(await createQuery('mm_once', 'metric_rollup_1h')).toContain(`toIntervalDay(${metricTtls(15).rollup1h})`);
    const [keys] = await rows<{ sorting_key: string; partition_key: string }>("SELECT sorting_key, partition_key FROM system.tables WHERE database = 'mm_once' AND name = 'metric_samples'");
    expect(keys).toEqual({ sorting_key: 'MetricName, Fingerprint, Timestamp', partition_key: 'toDate(Timestamp)' });
    const alertColumns = await rows<{ name: string }>("SELECT name FROM system.columns WHERE database = 'mm_once' AND table = 'alert_events' ORDER BY position");
    expect(alertColumns.map((c) => c.name)).toEqual(['Timestamp', 'Fingerprint', 'AlertName', 'Labels', 'Annotations', 'State', 'PreviousState', 'Value', 'Kind', 'Receiver', 'NotificationStatus', 'Error']);

    await admin.command({ query: "INSERT INTO mm_once.metric_samples (MetricName, Labels, Timestamp, Value, Type) VALUES ('up', map('job', 'a'), now64(3), 1, 'gauge')" });
    await admin.command({ query: "INSERT INTO mm_once.alert_events (Timestamp, AlertName, Kind, State) VALUES (now64(3), 'HighLoad', 'state_change', 'firing')" });
    expect((await migrate(admin, { database: 'mm_once', logsTtlDays: 30, metricsTtlDays: 15, log })).applied).toEqual([]);
    expect(await rows('SELECT MetricName FROM mm_once.metric_samples')).toEqual([{ MetricName: 'up' }]);
    expect(await rows('SELECT AlertName FROM mm_once.alert_events')).toEqual([{ AlertName: 'HighLoad' }]);

    // As if the process died after the first view but before the rest of migration 3.
    await admin.command({ query: 'DROP VIEW mm_once.metric_rollup_1h_mv' });
    await admin.command({ query: 'DROP TABLE mm_once.metric_rollup_1h' });
    await admin.command({ query: 'ALTER TABLE mm_once.schema_migrations DELETE WHERE version = 3', clickhouse_settings: { mutations_sync: '2' } });
    expect((await migrate(admin, { database: 'mm_once', logsTtlDays: 30, metricsTtlDays: 15, log })).applied).toEqual([3]);
    expect(await rows("SELECT 1 FROM system.tables WHERE database = 'mm_once' AND name = 'metric_rollup_1h_mv'")).toHaveLength(1);
    expect(await rows('SELECT MetricName FROM mm_once.metric_samples')).toEqual([{ MetricName: 'up' }]);
  });

  test('a changed metrics_ttl_days is applied to the samples and both rollups', async () => {
    await migrate(admin, { database: 'mm_ttl', logsTtlDays: 30, metricsTtlDays: 30, log });
    await migrate(admin, { database: 'mm_ttl', logsTtlDays: 30, metricsTtlDays: 7, log });
    expect(await createQuery('mm_ttl', 'metric_samples')).toContain('toIntervalDay(7)');
    expect(await createQuery('mm_ttl', 'metric_rollup_1m')).toContain('TTL BucketStart + toIntervalDay(70)');
    expect(await createQuery('mm_ttl', 'metric_rollup_1h')).toContain('TTL BucketStart + toIntervalDay(700)');
  });

  test('the fingerprint ignores label order and tells series apart', async () => {
    await migrate(admin, { database: 'mm_fp', logsTtlDays: 30, log });
    await admin.command({
      query: `INSERT INTO mm_fp.metric_samples (MetricName, Labels, Timestamp, Value, Type) VALUES
        ('m', map('a', '1', 'b', '2'), now64(3), 1, 'gauge'), ('m', map('b', '2', 'a', '1'), now64(3), 2, 'gauge'),
        ('m', map('a', '1', 'b', '3'), now64(3), 3, 'gauge'), ('n', map('a', '1', 'b', '2'), now64(3), 4, 'gauge')`,
    });
    const [r] = await rows<{ u: string }>('SELECT uniqExact(Fingerprint) AS u FROM mm_fp.metric_samples');
    expect(Number(r!.u)).toBe(3);
  });
});
