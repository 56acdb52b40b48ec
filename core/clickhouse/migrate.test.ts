import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { tempChDB } from '../../test/harness/chdb.js';
import { createLogger, silentLogger } from '../log.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations/index.js';

const { admin, rows } = tempChDB('pharos-migrate');
const log = silentLogger();
const allVersions = migrations.map((m) => m.version);

/** The OpenTelemetry Collector ClickHouse exporter's otel_logs columns (logs_table.sql). */
const EXPORTER_COLUMNS = [
  ['Timestamp', 'DateTime64(9)'],
  ['TimestampTime', 'DateTime'],
  ['TraceId', 'String'],
  ['SpanId', 'String'],
  ['TraceFlags', 'UInt8'],
  ['SeverityText', 'LowCardinality(String)'],
  ['SeverityNumber', 'UInt8'],
  ['ServiceName', 'LowCardinality(String)'],
  ['Body', 'String'],
  ['ResourceSchemaUrl', 'LowCardinality(String)'],
  ['ResourceAttributes', 'Map(LowCardinality(String), String)'],
  ['ScopeSchemaUrl', 'LowCardinality(String)'],
  ['ScopeName', 'String'],
  ['ScopeVersion', 'LowCardinality(String)'],
  ['ScopeAttributes', 'Map(LowCardinality(String), String)'],
  ['LogAttributes', 'Map(LowCardinality(String), String)'],
  ['EventName', 'String'],
];

describe('migrate', () => {
  test('a fresh database gets every migration, recorded once each', async () => {
    const result = await migrate(admin, { database: 'mig_fresh', logsTtlDays: 30, log });
    expect(result.applied).toEqual(allVersions);
    expect(allVersions[0]).toBe(1);

    const recorded = await rows<{ version: number; name: string; checksum: string }>('SELECT version, name, checksum FROM mig_fresh.schema_migrations ORDER BY version');
    expect(recorded.map((r) => r.version)).toEqual(allVersions);
    expect(recorded[0]).toMatchObject({ name: 'otel-logs' });
    expect(recorded.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
  });

  test('otel_logs has the exporter schema: columns, indexes, partitioning, keys, TTL and dedup window', async () => {
    await migrate(admin, { database: 'mig_schema', logsTtlDays: 30, log });
    const columns = await rows<{ name: string; type: string }>(
      "SELECT name, type FROM system.columns WHERE database = 'mig_schema' AND table = 'otel_logs' ORDER BY position",
    );
    expect(columns.map((c) => [c.name, c.type])).toEqual(EXPORTER_COLUMNS);
    expect(columns.some((c) => c.name === 'HostName')).toBe(false);

    const indexes = await rows<{ name: string; type_full: string }>("SELECT name, type_full FROM system.data_skipping_indices WHERE database = 'mig_schema' AND table = 'otel_logs' ORDER BY name");
    expect(Object.fromEntries(indexes.map((i) => [i.name, i.type_full]))).toEqual({
      idx_body_tokens: 'tokenbf_v1(32768, 3, 0)',
      idx_log_attr_key: 'bloom_filter(0.01)',
      idx_log_attr_value: 'bloom_filter(0.01)',
      idx_res_attr_key: 'bloom_filter(0.01)',
      idx_res_attr_value: 'bloom_filter(0.01)',
      idx_scope_attr_key: 'bloom_filter(0.01)',
      idx_scope_attr_value: 'bloom_filter(0.01)',
      idx_trace_id: 'bloom_filter(0.001)',
    });

    const [table] = await rows<{ partition_key: string; primary_key: string; sorting_key: string; create_table_query: string }>(
      "SELECT partition_key, primary_key, sorting_key, create_table_query FROM system.tables WHERE database = 'mig_schema' AND name = 'otel_logs'",
    );
    expect(table).toMatchObject({
      partition_key: 'toDate(TimestampTime)',
      primary_key: 'ServiceName, TimestampTime',
      sorting_key: 'ServiceName, TimestampTime, Timestamp',
    });
    expect(table!.create_table_query).toContain('TTL TimestampTime + toIntervalDay(30)');
    expect(table!.create_table_query).toMatch(/ttl_only_drop_parts = 1/);
    expect(table!.create_table_query).toMatch(/non_replicated_deduplication_window = 1000/);
    expect(table!.create_table_query).toMatch(/Timestamp` DateTime64\(9\) CODEC\(Delta\(8\), ZSTD\(1\)\)/);
  });

  test('a second run applies nothing and leaves data alone', async () => {
    await migrate(admin, { database: 'mig_twice', logsTtlDays: 30, log });
    await admin.command({ query: "INSERT INTO mig_twice.otel_logs (Timestamp, Body) VALUES (now64(9), 'kept')" });
    const again = await migrate(admin, { database: 'mig_twice', logsTtlDays: 30, log });
    expect(again.applied).toEqual([]);
    expect(await rows<{ Body: string }>('SELECT Body FROM mig_twice.otel_logs')).toEqual([{ Body: 'kept' }]);
    const recorded = await rows<{ n: string }>('SELECT count() AS n FROM mig_twice.schema_migrations');
    expect(Number(recorded[0]!.n)).toBe(allVersions.length);
  });

  test('a migration whose record is missing (interrupted after its statements) is completed on the next run', async () => {
    await migrate(admin, { database: 'mig_half', logsTtlDays: 30, log });
    await admin.command({ query: "INSERT INTO mig_half.otel_logs (Timestamp, Body) VALUES (now64(9), 'survives')" });
    // As if the process died after creating the table but before recording migration 1.
    await admin.command({ query: 'ALTER TABLE mig_half.schema_migrations DELETE WHERE version = 1', clickhouse_settings: { mutations_sync: '2' } });

    const rerun = await migrate(admin, { database: 'mig_half', logsTtlDays: 30, log });
    expect(rerun.applied).toEqual([1]);
    expect(await rows<{ Body: string }>('SELECT Body FROM mig_half.otel_logs')).toEqual([{ Body: 'survives' }]);
    expect((await migrate(admin, { database: 'mig_half', logsTtlDays: 30, log })).applied).toEqual([]);
  });

  test('a migration interrupted before its table existed is run to completion', async () => {
    // Statement 1 of migration 1 (the database) ran, statement 2 (the table) did not.
    await admin.command({ query: 'CREATE DATABASE mig_partial' });
    const result = await migrate(admin, { database: 'mig_partial', logsTtlDays: 30, log });
    expect(result.applied).toEqual(allVersions);
    expect(await rows('SELECT 1 FROM system.tables WHERE database = \'mig_partial\' AND name = \'otel_logs\'')).toHaveLength(1);
  });

  test('a changed logs_ttl_days is applied to the existing table', async () => {
    await migrate(admin, { database: 'mig_ttl', logsTtlDays: 30, log });
    const result = await migrate(admin, { database: 'mig_ttl', logsTtlDays: 7, log });
    expect(result.applied).toEqual([]);
    const [table] = await rows<{ create_table_query: string }>("SELECT create_table_query FROM system.tables WHERE database = 'mig_ttl' AND name = 'otel_logs'");
    expect(table!.create_table_query).toContain('TTL TimestampTime + toIntervalDay(7)');
    expect(table!.create_table_query).not.toContain('toIntervalDay(30)');
  });

  test('an applied migration edited since is reported, not re-run', async () => {
    await migrate(admin, { database: 'mig_edited', logsTtlDays: 30, log });
    await admin.command({ query: "INSERT INTO mig_edited.schema_migrations (version, name, checksum, applied_at) VALUES (1, 'otel-logs', 'stale', now64(3) + 1)" });
    const lines: string[] = [];
    const capture = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    });
    const result = await migrate(admin, { database: 'mig_edited', logsTtlDays: 30, log: capture });
    expect(result.applied).toEqual([]);
    await expect.poll(() => lines.join('')).toContain('applied migration was edited since');
  });

  test('a TTL that would overflow DateTime (and expire every row at once) is refused', async () => {
    await expect(migrate(admin, { database: 'mig_ttl_overflow', logsTtlDays: 36_500, log })).rejects.toMatchObject({ code: 'invalid_config' });
    expect(await rows("SELECT 1 FROM system.databases WHERE name = 'mig_ttl_overflow'")).toHaveLength(0);
  });

  test('a database name that is not an identifier is refused before any SQL runs', async () => {
    await expect(migrate(admin, { database: 'x`; DROP DATABASE mig_fresh; --', logsTtlDays: 30, log })).rejects.toThrow(/invalid database name/);
    expect(await rows("SELECT 1 FROM system.databases WHERE name = 'mig_fresh'")).toHaveLength(1);
  });
});
