import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { attributeString, OTEL_LOGS_INSERT_SETTINGS, storedTimeNano, toOtelLogRow, utcDay } from './log-rows.js';

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

const FALLBACK = 1_700_000_000_000_000_000n;

describe('storedTimeNano', () => {
  test('uses the event time when there is one', () => {
    expect(storedTimeNano(record(), FALLBACK)).toBe(1_763_892_000_123_456_789n);
  });

  test('uses the observed time when the event time is 0 (a filelog record), never 1970', () => {
    expect(storedTimeNano(record({ timeUnixNano: 0n }), FALLBACK)).toBe(1_763_892_001_000_000_000n);
  });

  test('falls back to the given time when the record has no time at all', () => {
    expect(storedTimeNano(record({ timeUnixNano: 0n, observedTimeUnixNano: 0n }), FALLBACK)).toBe(FALLBACK);
  });

  test('skips a time the table cannot hold (after 2106) for the observed time', () => {
    expect(storedTimeNano(record({ timeUnixNano: 18_000_000_000_000_000_000n }), FALLBACK)).toBe(1_763_892_001_000_000_000n);
  });

  test('treats a time in the first 1000 s of 1970 as missing: ClickHouse would read it as seconds', () => {
    expect(storedTimeNano(record({ timeUnixNano: 999_999_999_999n }), FALLBACK)).toBe(1_763_892_001_000_000_000n);
    expect(storedTimeNano(record({ timeUnixNano: 5n, observedTimeUnixNano: 7n }), 9n)).toBe(1_000_000_000_000n);
  });

  test('utcDay counts UTC days since the epoch', () => {
    expect(utcDay(86_400_000_000_000n - 1n)).toBe(0);
    expect(utcDay(86_400_000_000_000n)).toBe(1);
    expect(utcDay(1_763_892_000_123_456_789n)).toBe(20415);
  });
});

describe('toOtelLogRow', () => {
  test('maps a record to the exporter columns', () => {
    const r = record({ traceId: '0AF7651916CD43DD8448EB211C80319C', spanId: 'B7AD6B7169203331', flags: 1, scopeName: 'lib', scopeVersion: '1.2' });
    expect(toOtelLogRow(r, storedTimeNano(r, FALLBACK))).toEqual({
      Timestamp: '1763892000123456789',
      TraceId: '0af7651916cd43dd8448eb211c80319c',
      SpanId: 'b7ad6b7169203331',
      TraceFlags: 1,
      SeverityText: 'INFO',
      SeverityNumber: 9,
      ServiceName: 'api',
      Body: 'request handled',
      ResourceSchemaUrl: '',
      ResourceAttributes: { 'service.name': 'api', 'host.name': 'web-1' },
      ScopeSchemaUrl: '',
      ScopeName: 'lib',
      ScopeVersion: '1.2',
      ScopeAttributes: {},
      LogAttributes: {},
      EventName: '',
    });
  });

  test('a record without service.name gets an empty ServiceName', () => {
    expect(toOtelLogRow(record({ resource: { 'host.name': 'h' } }), FALLBACK).ServiceName).toBe('');
  });

  test('attribute values become strings: scalars printed, arrays and maps as JSON, null empty', () => {
    const row = toOtelLogRow(
      record({
        attributes: {
          s: 'text',
          i: 42,
          f: 1.5,
          b: true,
          big: 9_007_199_254_740_993n,
          nil: null,
          arr: [1, 'a', false, null],
          map: { n: 12_345_678_901_234_567_890n, nested: { x: [1.25] }, nan: Number.NaN },
        },
      }),
      FALLBACK,
    );
    expect(row.LogAttributes).toEqual({
      s: 'text',
      i: '42',
      f: '1.5',
      b: 'true',
      big: '9007199254740993',
      nil: '',
      arr: '[1,"a",false,null]',
      map: '{"n":12345678901234567890,"nested":{"x":[1.25]},"nan":null}',
    });
  });

  test('an attribute named __proto__ stays an ordinary key', () => {
    const attributes = JSON.parse('{"__proto__": "x", "k": "v"}') as Record<string, string>;
    const row = toOtelLogRow(record({ attributes }), FALLBACK);
    expect(JSON.parse(JSON.stringify(row.LogAttributes))).toEqual(JSON.parse('{"__proto__": "x", "k": "v"}'));
  });

  test('lone surrogates are replaced, so ClickHouse does not refuse the insert', () => {
    const row = toOtelLogRow(record({ body: 'cut \ud83d', attributes: { ['k\udc00']: 'v\ud800' } }), FALLBACK);
    expect(row.Body).toBe('cut \ufffd');
    expect(row.LogAttributes).toEqual({ 'k\ufffd': 'v\ufffd' });
  });

  test('numbers out of UInt8 are clamped, not left to fail the insert', () => {
    const row = toOtelLogRow(record({ severityNumber: 300, flags: -1 }), FALLBACK);
    expect(row.SeverityNumber).toBe(255);
    expect(row.TraceFlags).toBe(0);
    expect(attributeString(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});

describe('rows in chDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-log-rows-'));
  const config = validateConfig({ data_dir: dir });
  const log = silentLogger();
  const ch = createClickHouse(config, log, 'admin');

  beforeAll(async () => {
    await migrate(ch, { database: 'rows_test', logsTtlDays: 3650, log });
    // Rows from 1970 and 2001 are long expired: without this a TTL merge may drop them mid-test.
    await ch.command({ query: 'ALTER TABLE rows_test.otel_logs REMOVE TTL' });
  });

  afterAll(async () => {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('integer nanosecond timestamps are stored exactly, before 2001 too, with the right TimestampTime', async () => {
    // chDB's default best_effort parsing refuses 18-digit integers; the row settings make them exact.
    const times = [1_763_892_000_123_456_789n, 999_999_999_999_999_999n, 86_400_000_000_001n, 1_000_000_000_000n];
    const rows = times.map((t, i) => toOtelLogRow(record({ body: `t${i}` }), t));
    // Whatever an earlier query on this session SET, the insert's own settings decide.
    await ch.command({ query: "SET date_time_input_format = 'best_effort'" });
    await ch.insert({ table: 'rows_test.otel_logs', values: rows, format: 'JSONEachRow', clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS } });
    const rs = await ch.query({
      query: 'SELECT Body, toString(toUnixTimestamp64Nano(Timestamp)) AS ns, toUnixTimestamp(TimestampTime) AS s FROM rows_test.otel_logs ORDER BY Body',
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual(times.map((t, i) => ({ Body: `t${i}`, ns: t.toString(), s: Number(t / 1_000_000_000n) })));
  });

  test('maps, severity and service arrive as the exporter would store them', async () => {
    const r = record({ body: 'mapped', attributes: { 'http.status_code': 503, tags: ['a', 'b'] } });
    await ch.insert({ table: 'rows_test.otel_logs', values: [toOtelLogRow(r, storedTimeNano(r, FALLBACK))], format: 'JSONEachRow', clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS } });
    const rs = await ch.query({
      query: "SELECT ServiceName, ResourceAttributes['host.name'] AS host, LogAttributes, SeverityNumber, SeverityText FROM rows_test.otel_logs WHERE Body = 'mapped'",
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { ServiceName: 'api', host: 'web-1', LogAttributes: { 'http.status_code': '503', tags: '["a","b"]' }, SeverityNumber: 9, SeverityText: 'INFO' },
    ]);
  });
});
