import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../../test/harness/wait.js';
import { createClickHouse } from '../../../core/clickhouse/client.js';
import { migrate } from '../../../core/clickhouse/migrate.js';
import { SqlConsole } from '../../../core/clickhouse/sql-console.js';
import { validateConfig } from '../../../core/config/load.js';
import { Authenticator } from '../../../core/http/auth.js';
import { silentLogger } from '../../../core/log.js';
import type { LogSearch } from '../../../core/model/log-search.js';
import { createRegistry } from '../../../core/telemetry/registry.js';
import { startDashboard, type Dashboard } from '../dashboard-server.js';
import type { SqlErrorResponse, SqlEstimateResponse, SqlRunResponse } from './sql.js';

const DB = 'sql_routes_test';
const TOKENS = {
  viewer: 'viewer-token-0123456789abcdef',
  operator: 'operator-token-0123456789abcdef',
  analyst: 'analyst-token-0123456789abcdef',
  scoped: 'scoped-analyst-token-0123456789',
  admin: 'admin-token-0123456789abcdefgh',
};
const dir = mkdtempSync(join(tmpdir(), 'pharos-sql-routes-'));
const config = validateConfig({
  data_dir: dir,
  clickhouse: { database: DB },
  dashboard: { listen: '127.0.0.1:0' },
  auth: {
    tokens: [
      { name: 'vera', role: 'viewer', token: TOKENS.viewer },
      { name: 'otto', role: 'operator', token: TOKENS.operator },
      { name: 'ana', role: 'analyst', token: TOKENS.analyst },
      { name: 'sam', role: 'analyst', token: TOKENS.scoped, scope: { service: ['billing'] } },
      { name: 'root', role: 'admin', token: TOKENS.admin },
    ],
  },
});
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const runClient = createClickHouse(config, log, 'query');
const control = createClickHouse(config, log, 'query');
const noLogs: LogSearch = { search: async () => [] };
let dashboard: Dashboard;
let url: string;

/** 20^7 row combinations: seconds of work, so it can be cancelled while it runs. */
const SLOW =
  'SELECT count() FROM otel_logs AS a, otel_logs AS b, otel_logs AS c, otel_logs AS d, otel_logs AS e, otel_logs AS f, otel_logs AS g WHERE cityHash64(a.Body, b.Body, c.Body, d.Body, e.Body, f.Body, g.Body) % 7 = 3';

beforeAll(async () => {
  await migrate(admin, { database: DB, logsTtlDays: 3650, log });
  await admin.command({
    query: `INSERT INTO ${DB}.otel_logs (Timestamp, ServiceName, Body) SELECT now64(9) - number, ['api', 'billing'][number % 2 + 1], concat('line ', toString(number)) FROM numbers(20)`,
  });
  const sql = new SqlConsole({ client: runClient, control, database: DB, embedded: true, settings: config.sql_console, log });
  dashboard = await startDashboard({ config, log, registry: createRegistry(), auth: new Authenticator(config.auth), logs: noLogs, ready: () => true, staticDir: dir, sql });
  url = `http://${dashboard.address}`;
});

afterAll(async () => {
  await dashboard?.close();
  await Promise.all([admin.close(), runClient.close(), control.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function post(path: string, token: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

async function runningCount(queryId: string): Promise<number> {
  const rs = await admin.query({ query: `SELECT count() AS n FROM system.processes WHERE position(query, 'pharos-sql-console ${queryId}') > 0 AND query_id != queryID()`, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]?.n);
}

async function auditVerdict(queryId: string): Promise<string | undefined> {
  const rs = await admin.query({ query: `SELECT Verdict FROM ${DB}.sql_audit WHERE QueryId = {id:String}`, query_params: { id: queryId }, format: 'JSONEachRow' });
  return (await rs.json<{ Verdict: string }>())[0]?.Verdict;
}

describe('roles', () => {
  test('viewer and operator get 403 on every SQL route; analyst and admin may run', async () => {
    for (const token of [TOKENS.viewer, TOKENS.operator]) {
      for (const res of [
        await post('/api/sql', token, { query: 'SELECT 1' }),
        await post('/api/sql/estimate', token, { query: 'SELECT 1' }),
        await fetch(`${url}/api/sql/${crypto.randomUUID()}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }),
      ]) {
        expect(res.status).toBe(403);
        expect(((await res.json()) as SqlErrorResponse).error).toMatch(/analyst or above is required/);
      }
    }
    for (const token of [TOKENS.analyst, TOKENS.admin]) {
      const res = await post('/api/sql', token, { query: 'SELECT 1 AS one' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as SqlRunResponse).data.rows).toEqual([[1]]);
    }
    expect((await post('/api/sql', 'not-a-token-at-all-000', { query: 'SELECT 1' })).status).toBe(401);
  });
});

describe('POST /api/sql', () => {
  test('answers rows, columns, limits and elapsed time', async () => {
    const res = await post('/api/sql', TOKENS.analyst, { query: 'SELECT ServiceName, count() AS n FROM otel_logs GROUP BY ServiceName ORDER BY ServiceName' });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as SqlRunResponse;
    expect(data.columns.map((c) => c.name)).toEqual(['ServiceName', 'n']);
    expect(data.rows).toEqual([
      ['api', '10'],
      ['billing', '10'],
    ]);
    expect(data.limits).toMatchObject({ maxResultRows: 10_000, maxExecutionTimeS: 20 });
    expect(data.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(await auditVerdict(data.queryId)).toBe('ok');
  });

  test('refuses with 400, the verdict and the reason, and audits the refusal', async () => {
    const queryId = crypto.randomUUID();
    const res = await post('/api/sql', TOKENS.analyst, { query: 'SELECT 1; DROP TABLE otel_logs', queryId });
    expect(res.status).toBe(400);
    const body = (await res.json()) as SqlErrorResponse;
    expect(body).toMatchObject({ status: 'error', errorType: 'bad_request', verdict: 'refused', queryId });
    expect(body.error).toMatch(/only one statement can run at a time/);
    expect(await auditVerdict(queryId)).toBe('refused');
  });

  test('answers 400 for a body without a query string', async () => {
    const res = await post('/api/sql', TOKENS.analyst, { sql: 'SELECT 1' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as SqlErrorResponse).error).toMatch(/invalid "query"/);
  });

  test("a scoped token's statements see only its services, whatever they say", async () => {
    const res = await post('/api/sql', TOKENS.scoped, { query: "SELECT ServiceName, count() FROM otel_logs WHERE ServiceName IN ('api', 'billing') GROUP BY ServiceName" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as SqlRunResponse).data.rows).toEqual([['billing', '10']]);
  });
});

describe('POST /api/sql/estimate', () => {
  test('answers the EXPLAIN ESTIMATE figures', async () => {
    const res = await post('/api/sql/estimate', TOKENS.analyst, { query: 'SELECT * FROM otel_logs' });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as SqlEstimateResponse;
    expect(data).toMatchObject({ rows: 20, costly: false, tables: [`${DB}.otel_logs`] });
  });
});

describe('cancel', () => {
  test('DELETE /api/sql/:queryId stops a running statement; the run answers 400 cancelled', async () => {
    const queryId = crypto.randomUUID();
    const pending = post('/api/sql', TOKENS.analyst, { query: SLOW, queryId });
    await waitFor('the statement to run', async () => (await runningCount(queryId)) > 0, 15_000, 20);
    const notYours = await fetch(`${url}/api/sql/${queryId}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.scoped}` } });
    expect(notYours.status).toBe(404);
    const del = await fetch(`${url}/api/sql/${queryId}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.analyst}` } });
    expect(del.status).toBe(200);
    const res = await pending;
    expect(res.status).toBe(400);
    expect((await res.json()) as SqlErrorResponse).toMatchObject({ verdict: 'cancelled', queryId });
    await waitFor('the statement to leave the engine', async () => (await runningCount(queryId)) === 0, 5_000, 20);
    expect(await auditVerdict(queryId)).toBe('cancelled');
  });

  test('a client that goes away cancels its statement in the engine', async () => {
    const queryId = crypto.randomUUID();
    const abort = new AbortController();
    const pending = post('/api/sql', TOKENS.analyst, { query: SLOW, queryId }, abort.signal).catch((err: unknown) => err);
    await waitFor('the statement to run', async () => (await runningCount(queryId)) > 0, 15_000, 20);
    const started = Date.now();
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor('the statement to leave the engine', async () => (await runningCount(queryId)) === 0, 10_000, 20);
    // The time limit is 20 s: it stopped because the client left.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await waitFor('the audit row', () => auditVerdict(queryId), 10_000, 50)).toBe('cancelled');
  });
});
