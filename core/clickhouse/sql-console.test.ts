import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../test/harness/wait.js';
import { validateConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { createClickHouse } from './client.js';
import { migrate } from './migrate.js';
import { SqlConsole, SqlConsoleError, type SqlCaller, type SqlResult } from './sql-console.js';

const DB = 'console_test';
const dir = mkdtempSync(join(tmpdir(), 'pharos-sql-console-'));
const config = validateConfig({ data_dir: dir, clickhouse: { database: DB }, sql_console: { max_result_rows: 5 } });
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const runClient = createClickHouse(config, log, 'query');
const control = createClickHouse(config, log, 'query');
const analyst: SqlCaller = { user: 'ana', role: 'analyst' };

function makeConsole(settings: Partial<typeof config.sql_console> = {}): SqlConsole {
  return new SqlConsole({ client: runClient, control, database: DB, embedded: true, settings: { ...config.sql_console, ...settings }, log });
}
const sql = makeConsole();

/**
 * Seconds of work on 20 rows: a 7-way cross join hashes 20^7 = 1.3 billion row combinations.
 * Only allowed tables, so the guard lets it through; what stops it is the time limit or a cancel.
 */
const SLOW =
  'SELECT count() FROM otel_logs AS a, otel_logs AS b, otel_logs AS c, otel_logs AS d, otel_logs AS e, otel_logs AS f, otel_logs AS g WHERE cityHash64(a.Body, b.Body, c.Body, d.Body, e.Body, f.Body, g.Body) % 7 = 3';

beforeAll(async () => {
  await migrate(admin, { database: DB, logsTtlDays: 3650, log });
  // 20 lines: api (rows 0, 3, 4, 7, 8, …), billing, kitchen; even rows in prod, odd in staging.
  await admin.command({
    query: `INSERT INTO ${DB}.otel_logs (Timestamp, ServiceName, Body, SeverityText, ResourceAttributes)
SELECT now64(9) - number, ['api', 'billing', 'kitchen', 'api'][number % 4 + 1], concat('line ', toString(number)), 'INFO',
       map('deployment.environment', if(number % 2 = 0, 'prod', 'staging'))
FROM numbers(20)`,
  });
  await admin.command({
    query: `INSERT INTO ${DB}.metric_samples (MetricName, Labels, Timestamp, Value, Type)
SELECT 'up', map('job', ['api', 'billing'][number % 2 + 1], 'instance', toString(number)), now64(3), 1, 'gauge' FROM numbers(6)`,
  });
});

afterAll(async () => {
  await Promise.all([admin.close(), runClient.close(), control.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<SqlConsoleError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SqlConsoleError)) throw new Error(`expected a SqlConsoleError, got ${err === undefined ? 'success' : String(err)}`);
  return err;
}

function column(result: SqlResult, i = 0): unknown[] {
  return result.rows.map((r) => r[i]);
}

describe('SqlConsole.run', () => {
  test('answers an allowed SELECT with columns, rows, the tables read, statistics and the limits', async () => {
    const result = await sql.run({ sql: 'SELECT ServiceName, count() AS n FROM otel_logs GROUP BY ServiceName ORDER BY ServiceName', caller: analyst });
    expect(result.columns).toEqual([
      { name: 'ServiceName', type: 'LowCardinality(String)' },
      { name: 'n', type: 'UInt64' },
    ]);
    expect(result.rows).toEqual([
      ['api', '10'],
      ['billing', '5'],
      ['kitchen', '5'],
    ]);
    expect(result.truncated).toBe(false);
    expect(result.tables).toEqual([`${DB}.otel_logs`]);
    expect(result.readRows).toBe(20);
    expect(result.limits).toMatchObject({ maxResultRows: 5, maxExecutionTimeS: 20 });
    expect(result.queryId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('cuts a result at max_result_rows and says so', async () => {
    const result = await sql.run({ sql: 'SELECT Body FROM otel_logs ORDER BY Timestamp DESC', caller: analyst });
    expect(result.rows).toHaveLength(5);
    expect(column(result)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(result.truncated).toBe(true);
  });

  test('cuts at max_result_bytes (result_overflow_mode break)', async () => {
    // 2 million rows; the engine stops after the first block past 1 KiB.
    const small = makeConsole({ max_result_rows: 1_000_000, max_result_bytes: 1024 });
    const result = await small.run({ sql: 'SELECT n FROM otel_logs ARRAY JOIN range(100000) AS n', caller: analyst });
    expect(result.rows.length).toBeGreaterThan(0);
    expect(result.rows.length).toBeLessThan(1_000_000);
    expect(result.truncated).toBe(true);
  });

  test('refuses with the guard reason, and a refusal is an error of verdict "refused"', async () => {
    const err = await failure(sql.run({ sql: 'DROP TABLE otel_logs', caller: analyst }));
    expect(err.verdict).toBe('refused');
    expect(err.message).toMatch(/only a read-only SELECT can run here; this is a DROP statement/);
    const stacked = await failure(sql.run({ sql: 'SELECT 1; DROP TABLE otel_logs', caller: analyst }));
    expect(stacked.message).toMatch(/only one statement/);
    expect((await sql.run({ sql: 'SELECT count() FROM otel_logs', caller: analyst })).rows).toEqual([['20']]);
  });

  test('reports the analyst mistakes in ClickHouse words', async () => {
    const err = await failure(sql.run({ sql: 'SELECT NoSuchColumn FROM otel_logs', caller: analyst }));
    expect(err.verdict).toBe('error');
    expect(err.message).toMatch(/^ClickHouse: .*NoSuchColumn/);
  });

  test('stops at max_execution_time_s with a timeout', async () => {
    const quick = makeConsole({ max_execution_time_s: 1 });
    const started = Date.now();
    const err = await failure(quick.run({ sql: SLOW, caller: analyst }));
    expect(err.verdict).toBe('timeout');
    expect(err.message).toMatch(/ran longer than 1 s \(sql_console\.max_execution_time_s\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('stops at max_rows_to_read', async () => {
    const narrow = makeConsole({ max_rows_to_read: 10 });
    const err = await failure(narrow.run({ sql: 'SELECT count() FROM otel_logs WHERE Body != \'\'', caller: analyst }));
    expect(err.message).toMatch(/would read more than 10 rows \(sql_console\.max_rows_to_read\)/);
  });
});

describe('scope', () => {
  test('limits otel_logs to the services of the scope, wherever the table appears', async () => {
    const scope = { service: ['api'] };
    const plain = await sql.run({ sql: 'SELECT DISTINCT ServiceName FROM otel_logs', caller: analyst, scope });
    expect(column(plain)).toEqual(['api']);
    const counted = await sql.run({ sql: 'SELECT count() FROM otel_logs', caller: analyst, scope });
    expect(counted.rows).toEqual([['10']]);
    const nested = await sql.run({
      sql: "WITH l AS (SELECT * FROM otel_logs) SELECT (SELECT count() FROM otel_logs WHERE ServiceName = 'billing'), count() FROM l WHERE ServiceName IN (SELECT ServiceName FROM console_test.otel_logs)",
      caller: analyst,
      scope,
    });
    expect(nested.rows).toEqual([['0', '10']]);
    const joined = await sql.run({ sql: 'SELECT count() FROM otel_logs AS a JOIN otel_logs AS b ON a.Body = b.Body WHERE b.ServiceName = \'kitchen\'', caller: analyst, scope });
    expect(joined.rows).toEqual([['0']]);
  });

  test('limits by environment, and metrics by their job label', async () => {
    const byEnv = await sql.run({ sql: 'SELECT count() FROM otel_logs', caller: analyst, scope: { environment: ['staging'] } });
    expect(byEnv.rows).toEqual([['10']]);
    const both = await sql.run({ sql: 'SELECT count() FROM otel_logs', caller: analyst, scope: { service: ['api'], environment: ['prod'] } });
    expect(both.rows).toEqual([['5']]);
    const metrics = await sql.run({ sql: "SELECT DISTINCT Labels['job'] FROM metric_samples", caller: analyst, scope: { service: ['billing'] } });
    expect(column(metrics)).toEqual(['billing']);
  });

  test('a value cannot break out of the filter, and an empty list lets nothing through', async () => {
    const sneaky = await sql.run({ sql: 'SELECT count() FROM otel_logs', caller: analyst, scope: { service: ["api') OR 1=1 OR ('"] } });
    expect(sneaky.rows).toEqual([['0']]);
    const none = await sql.run({ sql: 'SELECT count() FROM otel_logs', caller: analyst, scope: { service: [] } });
    expect(none.rows).toEqual([['0']]);
  });

  test('the statement cannot lift it: its own SETTINGS are refused', async () => {
    const err = await failure(sql.run({ sql: "SELECT count() FROM otel_logs SETTINGS additional_table_filters = {'otel_logs': '1'}", caller: analyst, scope: { service: ['api'] } }));
    expect(err.verdict).toBe('refused');
    expect(err.message).toMatch(/SETTINGS clause is not allowed/);
  });
});

describe('estimate', () => {
  test('answers EXPLAIN ESTIMATE rows, parts and bytes, and flags a costly statement', async () => {
    const estimate = await sql.estimate({ sql: 'SELECT * FROM otel_logs', caller: analyst });
    expect(estimate.rows).toBe(20);
    expect(estimate.parts).toBeGreaterThanOrEqual(1);
    expect(estimate.bytes).toBeGreaterThan(0);
    expect(estimate.costly).toBe(false);
    expect(estimate.tables).toEqual([`${DB}.otel_logs`]);
    const strict = makeConsole({ confirm_above_rows: 10 });
    expect((await strict.estimate({ sql: 'SELECT * FROM otel_logs', caller: analyst })).costly).toBe(true);
    const refused = await failure(sql.estimate({ sql: 'SELECT * FROM system.users', caller: analyst }));
    expect(refused.verdict).toBe('refused');
  });
});

describe('cancel', () => {
  test('stops the statement in the engine (KILL QUERY), frees the connection, and only for its owner', async () => {
    const queryId = crypto.randomUUID();
    const started = Date.now();
    const run = failure(sql.run({ sql: SLOW, caller: analyst, queryId }));
    await waitFor('the statement to run in the engine', async () => {
      const rs = await admin.query({ query: `SELECT count() AS n FROM system.processes WHERE position(query, 'pharos-sql-console ${queryId}') > 0 AND query_id != queryID()`, format: 'JSONEachRow' });
      return Number((await rs.json<{ n: string }>())[0]?.n) > 0;
    }, 15_000, 20);
    expect(await sql.cancel(queryId, { user: 'someone-else', role: 'analyst' })).toBe(false);
    expect(await sql.cancel(queryId, analyst)).toBe(true);
    const err = await run;
    expect(err.verdict).toBe('cancelled');
    // The time limit is 20 s: it ended because it was killed.
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitFor('the statement to leave system.processes', async () => {
      const rs = await admin.query({ query: `SELECT count() AS n FROM system.processes WHERE position(query, 'pharos-sql-console ${queryId}') > 0 AND query_id != queryID()`, format: 'JSONEachRow' });
      return Number((await rs.json<{ n: string }>())[0]?.n) === 0;
    }, 5_000, 20);
    const next = Date.now();
    expect((await sql.run({ sql: 'SELECT 1 AS one', caller: analyst })).rows).toEqual([[1]]);
    expect(Date.now() - next).toBeLessThan(2_000);
    expect(sql.runningCount).toBe(0);
    expect(await sql.cancel(queryId, analyst)).toBe(false);
  });

  test('refuses a queryId that is not a UUID', async () => {
    const err = await failure(sql.run({ sql: 'SELECT 1', caller: analyst, queryId: "x'; DROP" }));
    expect(err.message).toMatch(/queryId must be a UUID/);
  });
});

describe('audit', () => {
  test('every statement, accepted or refused, is a row of sql_audit with user, role, text, verdict, duration and rows', async () => {
    const auditor: SqlCaller = { user: 'auditee', role: 'admin' };
    await sql.run({ sql: 'SELECT Body FROM otel_logs LIMIT 3', caller: auditor });
    await failure(sql.run({ sql: 'TRUNCATE TABLE otel_logs', caller: auditor }));
    await sql.run({ sql: 'SELECT count() FROM otel_logs', caller: auditor, scope: { service: ['api'] } });
    await sql.estimate({ sql: 'SELECT count() FROM otel_logs', caller: auditor });
    const rs = await admin.query({
      query: `SELECT User, Role, Action, Query, Verdict, Reason, DurationMs, ResultRows, Scope FROM ${DB}.sql_audit WHERE User = 'auditee' ORDER BY Timestamp`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<Record<string, unknown>>();
    expect(rows.map((r) => [r.Action, r.Verdict, r.Query])).toEqual([
      ['run', 'ok', 'SELECT Body FROM otel_logs LIMIT 3'],
      ['run', 'refused', 'TRUNCATE TABLE otel_logs'],
      ['run', 'ok', 'SELECT count() FROM otel_logs'],
      ['estimate', 'ok', 'SELECT count() FROM otel_logs'],
    ]);
    expect(rows[0]).toMatchObject({ User: 'auditee', Role: 'admin', Reason: '', Scope: '' });
    expect(Number(rows[0]!.ResultRows)).toBe(3);
    expect(rows[1]!.Reason).toMatch(/TRUNCATE statement/);
    expect(rows[2]!.Scope).toBe('{"service":["api"]}');
    for (const r of rows) expect(Number(r.DurationMs)).toBeGreaterThanOrEqual(0);
  });
});
