import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { silentLogger } from '../../core/log.js';
import type { LogSearchParams } from '../../core/model/log-search.js';
import type { LogRecord } from '../../core/model/records.js';
import { ClickHouseLogSearch, searchTerms } from './log-search.js';
import { OTEL_LOGS_INSERT_SETTINGS, toOtelLogRow } from './log-rows.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-log-search-'));
const config = validateConfig({ data_dir: dir, clickhouse: { database: 'search_test' } });
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const query = createClickHouse(config, log, 'query');
const search = new ClickHouseLogSearch(query, 'search_test');

/** A fixed second, so rows inside it differ only in their nanoseconds. */
const T0 = 1_763_892_000_000_000_000n;

interface Line {
  ns: bigint;
  body: string;
  service?: string;
  host?: string;
  severity?: number;
}

const lines: Line[] = [
  { ns: T0 + 1n, body: 'request 1 handled in 12 ms', service: 'api', host: 'web-1', severity: 9 },
  { ns: T0 + 2n, body: 'upstream timeout after 30 s', service: 'api', host: 'web-2', severity: 13 },
  { ns: T0 + 3n, body: 'payment failed: ERR_CODE_7f3a card declined', service: 'billing', host: 'web-1', severity: 17 },
  { ns: T0 + 4n, body: 'CODE_ERR_7f3a is a different thing', service: 'billing', host: 'web-1', severity: 17 },
  { ns: T0 + 5n, body: 'connection reset by peer', service: 'api', host: 'web-1', severity: 13 },
  { ns: T0 + 6n, body: 'reset connection pool', service: 'api', host: 'web-2', severity: 9 },
  { ns: T0 + 7n, body: 'menu du jour: café crème', service: 'kitchen', host: 'web-3', severity: 9 },
  { ns: T0 + 8n, body: 'state A -> B', service: 'api', host: 'web-3', severity: 5 },
  { ns: T0 + 1_000_000_000n, body: 'next second timeout', service: 'api', host: 'web-1', severity: 21 },
];

function toRecord(l: Line): LogRecord {
  return {
    timeUnixNano: l.ns,
    observedTimeUnixNano: l.ns,
    severityNumber: l.severity ?? 9,
    severityText: '',
    body: l.body,
    resource: { 'service.name': l.service ?? 'api', 'host.name': l.host ?? 'web-1' },
    attributes: { line: l.body.length },
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

const everything: LogSearchParams = { fromNs: T0, toNs: T0 + 2_000_000_000n, limit: 100 };

async function bodies(params: Partial<LogSearchParams>): Promise<string[]> {
  return (await search.search({ ...everything, ...params })).map((r) => r.body);
}

beforeAll(async () => {
  await migrate(admin, { database: 'search_test', logsTtlDays: 3650, log });
  await admin.insert({ table: 'search_test.otel_logs', values: lines.map((l) => toOtelLogRow(toRecord(l), l.ns)), format: 'JSONEachRow', clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS } });
});

afterAll(async () => {
  await Promise.all([admin.close(), query.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('ClickHouseLogSearch', () => {
  test('finds lines by a token', async () => {
    expect(await bodies({ text: 'timeout' })).toEqual(['next second timeout', 'upstream timeout after 30 s']);
  });

  test('every term must be present', async () => {
    expect(await bodies({ text: 'timeout upstream' })).toEqual(['upstream timeout after 30 s']);
  });

  test('a term with separators matches as a whole, not its tokens in any order', async () => {
    expect(await bodies({ text: 'ERR_CODE_7f3a' })).toEqual(['payment failed: ERR_CODE_7f3a card declined']);
    expect(await bodies({ text: 'ERR_CODE_7f3b' })).toEqual([]);
  });

  test('a quoted phrase matches as a whole', async () => {
    expect(await bodies({ text: '"connection reset"' })).toEqual(['connection reset by peer']);
    expect(await bodies({ text: 'connection reset' })).toEqual(['reset connection pool', 'connection reset by peer']);
  });

  test('tokens are whole words and case-sensitive, as the body index stores them', async () => {
    expect(await bodies({ text: 'time' })).toEqual([]);
    expect(await bodies({ text: 'err_code_7f3a' })).toEqual([]);
  });

  test('non-ASCII words and punctuation-only terms work', async () => {
    expect(await bodies({ text: 'café' })).toEqual(['menu du jour: café crème']);
    expect(await bodies({ text: '->' })).toEqual(['state A -> B']);
  });

  test('filters by service, host and minimum severity', async () => {
    expect(await bodies({ service: 'billing' })).toEqual(['CODE_ERR_7f3a is a different thing', 'payment failed: ERR_CODE_7f3a card declined']);
    expect(await bodies({ host: 'web-3' })).toEqual(['state A -> B', 'menu du jour: café crème']);
    expect(await bodies({ minSeverity: 17, service: 'api' })).toEqual(['next second timeout']);
  });

  test('returns the newest first, at most limit rows, with times as nanosecond strings', async () => {
    const rows = await search.search({ ...everything, limit: 3 });
    expect(rows.map((r) => r.timeUnixNano)).toEqual([(T0 + 1_000_000_000n).toString(), (T0 + 8n).toString(), (T0 + 7n).toString()]);
    expect(rows[0]).toMatchObject({
      serviceName: 'api',
      hostName: 'web-1',
      severityNumber: 21,
      resourceAttributes: { 'service.name': 'api', 'host.name': 'web-1' },
      logAttributes: { line: '19' },
    });
  });

  test('the range is exact to the nanosecond: start inclusive, end exclusive', async () => {
    expect(await bodies({ fromNs: T0 + 3n, toNs: T0 + 5n })).toEqual(['CODE_ERR_7f3a is a different thing', 'payment failed: ERR_CODE_7f3a card declined']);
    expect(await bodies({ fromNs: T0 + 9n, toNs: T0 + 1_000_000_000n })).toEqual([]);
  });

  test('values travel as parameters: quotes in the text neither break nor change the query', async () => {
    expect(await bodies({ text: "x') OR 1=1 --", service: "api' OR '1'='1" })).toEqual([]);
    const { sql, values } = search.build({ ...everything, text: "ERR_CODE_7f3a O'Brien", service: 'billing', host: 'web-1', minSeverity: 9 });
    for (const v of ['ERR_CODE_7f3a', "O'Brien", 'billing', 'web-1', T0.toString()]) expect(sql).not.toContain(v);
    expect(Object.values(values)).toEqual(expect.arrayContaining(['ERR_CODE_7f3a', "O'Brien", 'billing', 'web-1']));
    expect(sql).toMatch(/SETTINGS max_execution_time = 10, readonly = 1$/);
  });

  test('an empty or inverted range and a zero limit are refused', async () => {
    await expect(search.search({ ...everything, toNs: everything.fromNs })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(search.search({ ...everything, limit: 0 })).rejects.toMatchObject({ code: 'bad_request' });
  });

  test('the time range prunes partitions and parts through TimestampTime', async () => {
    // Twenty days of hourly lines, well before T0: one part per day partition.
    await admin.command({
      query: "INSERT INTO search_test.otel_logs (Timestamp, Body, ServiceName) SELECT toDateTime64('2025-10-01 00:00:00', 9) + toIntervalHour(number), 'hourly', 'cron' FROM numbers(480)",
    });
    const day5 = BigInt(Date.UTC(2025, 9, 5, 12)) * 1_000_000n;
    const { sql, values } = search.build({ fromNs: day5, toNs: day5 + 3_600_000_000_000n, limit: 10 });
    const rs = await query.query({ query: `EXPLAIN indexes = 1 ${sql.replace(/\nSETTINGS .*$/, '')}`, query_params: values, format: 'TabSeparatedRaw' });
    const plan = await rs.text();
    const [, selected, total] = /Min-Max[\s\S]*?Parts: (\d+)\/(\d+)/.exec(plan) ?? [];
    expect(Number(selected)).toBe(1);
    expect(Number(total)).toBeGreaterThanOrEqual(20);
    expect(await bodies({ fromNs: day5, toNs: day5 + 3_600_000_000_000n })).toEqual(['hourly']);
  });

  test('attribute filters match LogAttributes exactly, as parameters', async () => {
    expect(await bodies({ attributes: { line: '19' } } as Partial<LogSearchParams>)).toEqual(['next second timeout']);
    expect(await bodies({ attributes: { line: '19', nope: 'x' } } as Partial<LogSearchParams>)).toEqual([]);
    const { sql } = search.build({ ...everything, attributes: { "k'": "v'" } });
    expect(sql).not.toContain("k'");
  });

  test('a cursor pages through every match newest first, without repeats, also inside one nanosecond', async () => {
    // Three identical-time lines that differ only in body: the tiebreak must keep them apart.
    await admin.insert({
      table: 'search_test.otel_logs',
      values: ['same ns a', 'same ns b', 'same ns c'].map((body) => toOtelLogRow(toRecord({ ns: T0 + 500n, body, service: 'paging' }), T0 + 500n)),
      format: 'JSONEachRow',
      clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS },
    });
    const all = (await search.search(everything)).map((r) => r.body);
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await search.searchPage({ ...everything, limit: 2, cursor });
      paged.push(...page.rows.map((r) => r.body));
      if (page.nextCursor === undefined) break;
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(all);
    expect(new Set(paged).size).toBe(all.length);
    await expect(search.searchPage({ ...everything, cursor: 'garbage' })).rejects.toMatchObject({ code: 'bad_request' });
  });

  test('a histogram counts matches per interval, empty intervals included', async () => {
    const h = await search.histogram({ fromNs: T0, toNs: T0 + 2_000_000_000n, buckets: 4, service: 'api' });
    expect(h).toEqual([
      { startNs: T0.toString(), count: 5 },
      { startNs: (T0 + 500_000_000n).toString(), count: 0 },
      { startNs: (T0 + 1_000_000_000n).toString(), count: 1 },
      { startNs: (T0 + 1_500_000_000n).toString(), count: 0 },
    ]);
    expect((await search.histogram({ ...everything, text: 'timeout', buckets: 2 })).map((b) => b.count)).toEqual([1, 1]);
    await expect(search.histogram({ ...everything, buckets: 0 })).rejects.toMatchObject({ code: 'bad_request' });
  });

  test('context returns the lines of the same service and host around a line, oldest first', async () => {
    const ctx = await search.context({ service: 'api', host: 'web-1', timeNs: T0 + 5n, before: 1, after: 1 });
    expect(ctx.rows.map((r) => r.body)).toEqual(['request 1 handled in 12 ms', 'connection reset by peer', 'next second timeout']);
    expect(ctx.index).toBe(1);
    const none = await search.context({ service: 'api', host: 'web-1', timeNs: T0 + 5n, before: 0, after: 0 });
    expect(none.rows.map((r) => r.body)).toEqual(['connection reset by peer']);
    await expect(search.context({ service: 'api', timeNs: T0, before: -1, after: 0 })).rejects.toMatchObject({ code: 'bad_request' });
  });

  test('a search over the row budget is refused with the estimate; one under it runs', async () => {
    const tight = new ClickHouseLogSearch(query, 'search_test', { budgetRows: 5 });
    await expect(tight.search(everything)).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/would read about \d+ rows .* over the budget of 5 rows/) });
    await expect(tight.histogram({ ...everything, buckets: 2 })).rejects.toMatchObject({ code: 'bad_request' });
    const roomy = new ClickHouseLogSearch(query, 'search_test', { budgetRows: 1_000_000 });
    expect((await roomy.search({ ...everything, text: 'timeout' })).length).toBe(2);
  });

  test('searchTerms splits words and keeps quoted phrases whole', () => {
    expect(searchTerms('a  "b c" d "unterminated e')).toEqual(['a', 'b c', 'd', 'unterminated e']);
    expect(searchTerms('"" "  "')).toEqual([]);
  });
});
