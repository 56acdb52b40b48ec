import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord, MetricSample } from '../../core/model/records.js';
import { OTEL_LOGS_INSERT_SETTINGS, toOtelLogRow } from './log-rows.js';
import { OTEL_LOGS_TSV_COLUMNS, otelLogTsvLine } from './log-tsv.js';
import { METRIC_SAMPLES_INSERT_SETTINGS, METRIC_SAMPLES_TSV_COLUMNS, metricSampleTsvLine, storedTimeMs } from './metric-rows.js';
import { rawInserter } from './raw-insert.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-tsv-'));
const log = silentLogger();
const ch = createClickHouse(validateConfig({ data_dir: dir }), log, 'admin');
const insert = rawInserter(ch);

beforeAll(async () => {
  await migrate(ch, { database: 'tsv_test', logsTtlDays: 3650, log });
  await ch.command({ query: 'ALTER TABLE tsv_test.otel_logs REMOVE TTL' });
  await ch.command({ query: 'ALTER TABLE tsv_test.metric_samples REMOVE TTL' });
});

afterAll(async () => {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
});

function record(over: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: 1_763_892_000_123_456_789n,
    observedTimeUnixNano: 1_763_892_001_000_000_000n,
    severityNumber: 9,
    severityText: 'INFO',
    body: 'request handled',
    resource: { 'service.name': 'api', 'host.name': 'web-1' },
    attributes: {},
    traceId: '',
    spanId: '',
    flags: 0,
    ...over,
  };
}

const NASTY = ["tab\there", 'new\nline', 'cr\rlf', 'back\\slash', "quote ' and \"double\"", 'nul\0byte', '{braces}:[x]', 'ünïcödé 日本', 'emoji 🎉', 'lone \ud83d', '\\N', ''];

describe('TabSeparated rows', () => {
  test('otel_logs rows read back exactly as the JSONEachRow rows of log-rows.ts', async () => {
    const records = NASTY.map((s, i) =>
      record({
        timeUnixNano: i === 0 ? 86_400_000_000_001n : 1_763_892_000_123_456_789n + BigInt(i),
        body: s,
        severityText: s,
        severityNumber: i === 1 ? 300 : 9,
        flags: i === 2 ? -1 : 1,
        traceId: i === 3 ? 'ABCDEF0123456789abcdef0123456789' : '',
        scopeName: s,
        resource: { 'service.name': `svc ${s}`, [`k${s}`]: s, n: 5 },
        attributes: { [s || 'empty']: s, seq: i, list: ['a', s], nested: { x: s } },
      }),
    );
    const body = Buffer.from(records.map((r) => otelLogTsvLine(r, r.timeUnixNano)).join(''));
    await insert('tsv_test', 'otel_logs', OTEL_LOGS_TSV_COLUMNS, body, { ...OTEL_LOGS_INSERT_SETTINGS, insert_deduplication_token: 'tsv-1' });
    await ch.command({ query: 'CREATE TABLE tsv_test.json_logs AS tsv_test.otel_logs' });
    await ch.insert({ table: 'tsv_test.json_logs', values: records.map((r) => toOtelLogRow(r, r.timeUnixNano)), format: 'JSONEachRow', clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS } });
    const select = (table: string) =>
      ch
        .query({
          query: `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS ns, TimestampTime, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body, ResourceAttributes, ScopeName, ScopeVersion, LogAttributes, EventName FROM tsv_test.${table} ORDER BY Timestamp`,
          format: 'JSONEachRow',
        })
        .then((rs) => rs.json<Record<string, unknown>>());
    const [tsv, json] = await Promise.all([select('otel_logs'), select('json_logs')]);
    expect(tsv).toHaveLength(NASTY.length);
    expect(tsv).toEqual(json);
    expect(tsv.map((r) => r.Body)).toEqual(NASTY.map((s) => s.replace('\ud83d', '\ufffd')));
  });

  test('metric samples: labels, special floats, staleness, out-of-range times and unknown types', async () => {
    const samples: MetricSample[] = [
      { name: 'm', labels: { job: "a'b", path: '/x\ty\\z' }, timestampMs: 1_763_892_000_123, value: 1.5, type: 'gauge' },
      { name: 'm', labels: { job: 'nan' }, timestampMs: 1_763_892_000_124, value: Number.NaN, type: 'counter', stale: true },
      { name: 'm', labels: { job: 'inf' }, timestampMs: 1_763_892_000_125, value: Number.POSITIVE_INFINITY, type: 'counter' },
      { name: 'm', labels: { job: 'ninf' }, timestampMs: 1_763_892_000_126, value: Number.NEGATIVE_INFINITY, type: 'nonsense' as never },
      { name: 'm', labels: { job: 'old' }, timestampMs: 5, value: 1e-300, type: 'gauge' },
    ];
    const body = Buffer.from(samples.map((s) => metricSampleTsvLine(s, storedTimeMs(s, 1_763_892_000_000))).join(''));
    await insert('tsv_test', 'metric_samples', METRIC_SAMPLES_TSV_COLUMNS, body, { ...METRIC_SAMPLES_INSERT_SETTINGS, insert_deduplication_token: 'tsv-2' });
    const rs = await ch.query({
      query: "SELECT Labels['job'] AS job, Labels, toUnixTimestamp64Milli(Timestamp) AS ms, toString(Value) AS v, Type, Stale FROM tsv_test.metric_samples ORDER BY ms, job",
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { job: 'old', Labels: { job: 'old' }, ms: 1763892000000, v: '1e-300', Type: 'gauge', Stale: false },
      { job: "a'b", Labels: { job: "a'b", path: '/x\ty\\z' }, ms: 1763892000123, v: '1.5', Type: 'gauge', Stale: false },
      { job: 'nan', Labels: { job: 'nan' }, ms: 1763892000124, v: 'nan', Type: 'counter', Stale: true },
      { job: 'inf', Labels: { job: 'inf' }, ms: 1763892000125, v: 'inf', Type: 'counter', Stale: false },
      { job: 'ninf', Labels: { job: 'ninf' }, ms: 1763892000126, v: '-inf', Type: 'unknown', Stale: false },
    ]);
  });
});
