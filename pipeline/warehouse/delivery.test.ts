import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { deliveryReporter } from './delivery.js';
import { OTEL_LOGS_INSERT_SETTINGS, toOtelLogRow } from './log-rows.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-delivery-'));
const config = validateConfig({ data_dir: dir, clickhouse: { database: 'delivery_test' } });
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const query = createClickHouse(config, log, 'query');
const T0 = 1_763_892_000_000_000_000n;
const NOW_MS = Number(T0 / 1_000_000n) + 60_000;
const report = deliveryReporter(query, 'delivery_test', { now: () => NOW_MS, maxGapRanges: 2 });

function rec(host: string, source: string, seq: number | string, ns: bigint): LogRecord {
  return {
    timeUnixNano: ns,
    observedTimeUnixNano: ns,
    severityNumber: 9,
    severityText: '',
    body: `line ${seq}`,
    resource: { 'service.name': 'app', 'host.name': host },
    attributes: { 'pharos.source': source, 'pharos.seq': seq },
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

beforeAll(async () => {
  await migrate(admin, { database: 'delivery_test', logsTtlDays: 3650, log });
  const records: LogRecord[] = [];
  // web-1 a.log: seqs 1..100 without 10, 50..52 and 80; 20 and 21 twice.
  for (let s = 1; s <= 100; s++) {
    if (s === 10 || (s >= 50 && s <= 52) || s === 80) continue;
    records.push(rec('web-1', 'file:/var/log/a.log', s, T0 + BigInt(s) * 1_000_000n));
    if (s === 20 || s === 21) records.push(rec('web-1', 'file:/var/log/a.log', s, T0 + BigInt(s) * 1_000_000n + 1n));
  }
  // web-2 a.log: complete, 5..9.
  for (let s = 5; s <= 9; s++) records.push(rec('web-2', 'file:/var/log/a.log', s, T0 + BigInt(s) * 1_000_000n));
  // A record without accounting attributes and one with a seq that does not parse: neither counts.
  records.push({ ...rec('web-2', 'file:/var/log/a.log', 0, T0), attributes: {} });
  records.push(rec('web-2', 'file:/var/log/a.log', 'x', T0));
  // Outside the range asked below.
  records.push(rec('web-3', 'journald', 1, T0 + 10_000_000_000n));
  await admin.insert({ table: 'delivery_test.otel_logs', values: records.map((r) => toOtelLogRow(r, r.timeUnixNano)), format: 'JSONEachRow', clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS } });
});

afterAll(async () => {
  await Promise.all([admin.close(), query.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('deliveryReport', () => {
  test('counts received, distinct, gaps with their first ranges, duplicates and freshness per host and source', async () => {
    const rows = await report({ fromNs: T0, toNs: T0 + 1_000_000_000n });
    expect(rows).toEqual([
      {
        host: 'web-1',
        source: 'file:/var/log/a.log',
        received: 97,
        distinctSeqs: 95,
        minSeq: '1',
        maxSeq: '100',
        missing: 5,
        gaps: [
          { from: '10', to: '10' },
          { from: '50', to: '52' },
        ],
        duplicates: 2,
        newestNs: (T0 + 100_000_000n).toString(),
        ageMs: 60_000 - 100,
      },
      {
        host: 'web-2',
        source: 'file:/var/log/a.log',
        received: 5,
        distinctSeqs: 5,
        minSeq: '5',
        maxSeq: '9',
        missing: 0,
        gaps: [],
        duplicates: 0,
        newestNs: (T0 + 9_000_000n).toString(),
        ageMs: 60_000 - 9,
      },
    ]);
  });

  test('filters by host and source, and the range bounds what is counted', async () => {
    expect((await report({ fromNs: T0, toNs: T0 + 20_000_000_000n, host: 'web-3' })).map((r) => r.source)).toEqual(['journald']);
    expect(await report({ fromNs: T0, toNs: T0 + 20_000_000_000n, source: 'nope' })).toEqual([]);
    // Seqs 1..30 of web-1: only the gap at 10 lies inside.
    const [r] = await report({ fromNs: T0, toNs: T0 + 31_000_000n, host: 'web-1' });
    expect(r).toMatchObject({ minSeq: '1', maxSeq: '30', missing: 1, duplicates: 2, gaps: [{ from: '10', to: '10' }] });
  });

  test('an empty range is refused', async () => {
    await expect(report({ fromNs: T0, toNs: T0 })).rejects.toMatchObject({ code: 'bad_request' });
  });
});
