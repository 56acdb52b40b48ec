/**
 * Label scope where data leaves: a token limited to service A never sees service B, in log
 * search (real chDB, the warehouse's search) nor in PromQL answers (the real-time TSDB), whatever
 * the query asks for. An environment scope likewise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer, type ServiceServer } from '../../core/http/service-server.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { logsRoutes } from '../../dashboard/server/routes/logs.js';
import { logsExtraRoutes } from '../../dashboard/server/routes/logs-extra.js';
import { promApiRouter } from '../../pipeline/realtime/api/prom-api.js';
import { Head } from '../../pipeline/realtime/tsdb/head.js';
import { HeadQuerier } from '../../pipeline/realtime/tsdb/querier.js';
import { ClickHouseLogSearch } from '../../pipeline/warehouse/log-search.js';
import { OTEL_LOGS_INSERT_SETTINGS, toOtelLogRow } from '../../pipeline/warehouse/log-rows.js';

const DB = 'scope_test';
const dir = mkdtempSync(join(tmpdir(), 'pharos-scope-'));
const config = validateConfig({
  data_dir: dir,
  clickhouse: { database: DB },
  auth: {
    tokens: [
      { name: 'everyone', role: 'viewer', token: 'token-everyone-0123456789' },
      { name: 'team-a', role: 'viewer', token: 'token-team-a-0123456789', scope: { service: ['svc-a'] } },
      { name: 'team-ac', role: 'viewer', token: 'token-team-ac-0123456789', scope: { service: ['svc-a', 'svc-c'] } },
      { name: 'prod', role: 'viewer', token: 'token-prod-0123456789', scope: { environment: ['prod'] } },
    ],
  },
});
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const query = createClickHouse(config, log, 'query');
const NOW_MS = Date.now();
const nowNs = BigInt(NOW_MS) * 1_000_000n;

const lines = [
  { service: 'svc-a', env: 'prod', body: 'alpha prod line' },
  { service: 'svc-a', env: 'dev', body: 'alpha dev line' },
  { service: 'svc-b', env: 'prod', body: 'bravo prod secret line' },
  { service: 'svc-c', env: 'prod', body: 'charlie prod line' },
];

function record(l: (typeof lines)[number], i: number): LogRecord {
  const ns = nowNs - BigInt(60 - i) * 1_000_000_000n;
  return {
    timeUnixNano: ns,
    observedTimeUnixNano: ns,
    severityNumber: 9,
    severityText: 'INFO',
    body: l.body,
    resource: { 'service.name': l.service, 'host.name': 'h1', 'deployment.environment': l.env },
    attributes: {},
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

let server: ServiceServer;
let base = '';

beforeAll(async () => {
  await migrate(admin, { database: DB, logsTtlDays: 3650, log });
  await admin.insert({
    table: `${DB}.otel_logs`,
    values: lines.map((l, i) => {
      const r = record(l, i);
      return toOtelLogRow(r, r.timeUnixNano);
    }),
    format: 'JSONEachRow',
    clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS },
  });

  const head = new Head();
  for (const [job, env] of [['svc-a', 'prod'], ['svc-b', 'prod'], ['svc-c', 'dev']] as const) {
    for (let i = 0; i < 5; i++) {
      head.append({ name: 'up', labels: { job, instance: `${job}:9100`, deployment_environment: env }, timestampMs: NOW_MS - (5 - i) * 15_000, value: 1, type: 'gauge' });
    }
  }
  const search = new ClickHouseLogSearch(query, DB);
  server = await startServiceServer({
    name: 'scope-test',
    listen: '127.0.0.1:0',
    registry: createRegistry(),
    auth: new Authenticator(config.auth),
    log,
    ready: () => true,
    mount: (app) => {
      app.use(logsRoutes({ logs: search }));
      app.use(logsExtraRoutes({ search }));
      app.use(promApiRouter({ querier: () => new HeadQuerier(head), now: () => NOW_MS }));
    },
  });
  base = `http://${server.address}`;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await Promise.all([admin.close(), query.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function get(token: string, path: string, params: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

const services = (rows: Array<{ serviceName: string }>) => [...new Set(rows.map((r) => r.serviceName))].sort();
const jobs = (result: Array<{ metric: Record<string, string> }>) => [...new Set(result.map((r) => r.metric.job))].sort();

describe('log search', () => {
  test('an unscoped token sees every service', async () => {
    const r = await get('token-everyone-0123456789', '/api/logs', { from: 'now-1h' });
    expect(r.status).toBe(200);
    expect(services(r.body.data.rows)).toEqual(['svc-a', 'svc-b', 'svc-c']);
  });

  test('a token scoped to svc-a sees svc-a only, even searching for svc-b\'s words', async () => {
    const all = await get('token-team-a-0123456789', '/api/logs', { from: 'now-1h' });
    expect(all.status).toBe(200);
    expect(services(all.body.data.rows)).toEqual(['svc-a']);
    expect(all.body.data.rows).toHaveLength(2);
    const text = await get('token-team-a-0123456789', '/api/logs', { from: 'now-1h', q: 'bravo' });
    expect(text.body.data.rows).toEqual([]);
  });

  test('asking for a service outside the scope is refused and says why', async () => {
    const r = await get('token-team-a-0123456789', '/api/logs', { from: 'now-1h', service: 'svc-b' });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatch(/service "svc-b" is outside what this token may see \(services svc-a\)/);
  });

  test('a scope of two services merges both, newest first, within the limit', async () => {
    const r = await get('token-team-ac-0123456789', '/api/logs', { from: 'now-1h' });
    expect(r.body.data.rows.map((x: { body: string }) => x.body)).toEqual(['charlie prod line', 'alpha dev line', 'alpha prod line']);
    const one = await get('token-team-ac-0123456789', '/api/logs', { from: 'now-1h', limit: '1' });
    expect(one.body.data.rows.map((x: { body: string }) => x.body)).toEqual(['charlie prod line']);
  });

  test('an environment scope hides other environments', async () => {
    const r = await get('token-prod-0123456789', '/api/logs', { from: 'now-1h' });
    expect(r.body.data.rows.map((x: { body: string }) => x.body).sort()).toEqual(['alpha prod line', 'bravo prod secret line', 'charlie prod line']);
  });

  test('histogram counts and line context stay inside the scope', async () => {
    const h = await get('token-team-a-0123456789', '/api/logs/histogram', { from: 'now-1h', buckets: '1' });
    expect(h.status).toBe(200);
    expect(h.body.data.buckets.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(2);
    const everyone = await get('token-everyone-0123456789', '/api/logs/histogram', { from: 'now-1h', buckets: '1' });
    expect(everyone.body.data.buckets[0].count).toBe(4);
    const ctx = await get('token-team-a-0123456789', '/api/logs/context', { service: 'svc-b', time: String(nowNs) });
    expect(ctx.status).toBe(403);
  });
});

describe('PromQL', () => {
  const q = (token: string, query: string) => get(token, '/api/v1/query', { query, time: String(NOW_MS / 1000) });

  test('an unscoped token sees every job', async () => {
    expect(jobs((await q('token-everyone-0123456789', 'up')).body.data.result)).toEqual(['svc-a', 'svc-b', 'svc-c']);
  });

  test('a scoped token sees its service whatever the selector asks for', async () => {
    expect(jobs((await q('token-team-a-0123456789', 'up')).body.data.result)).toEqual(['svc-a']);
    expect((await q('token-team-a-0123456789', 'up{job="svc-b"}')).body.data.result).toEqual([]);
    expect((await q('token-team-a-0123456789', 'up{job=~".+"}')).body.data.result).toHaveLength(1);
    expect((await q('token-team-a-0123456789', '{__name__=~".+"}')).body.data.result).toHaveLength(1);
    // Aggregations see only what the selector could: one series summed, not three.
    expect((await q('token-team-a-0123456789', 'sum(up)')).body.data.result[0].value[1]).toBe('1');
    expect((await q('token-team-a-0123456789', 'count(up or on() vector(0))')).body.data.result[0].value[1]).toBe('1');
    const range = await get('token-team-a-0123456789', '/api/v1/query_range', { query: 'up', start: String(NOW_MS / 1000 - 60), end: String(NOW_MS / 1000), step: '15' });
    expect(jobs(range.body.data.result)).toEqual(['svc-a']);
  });

  test('series, label names and label values are scoped too', async () => {
    const series = await get('token-team-a-0123456789', '/api/v1/series', { 'match[]': 'up' });
    expect(jobs(series.body.data.map((metric: Record<string, string>) => ({ metric })))).toEqual(['svc-a']);
    const values = await get('token-team-a-0123456789', '/api/v1/label/job/values');
    expect(values.body.data).toEqual(['svc-a']);
    const instances = await get('token-team-ac-0123456789', '/api/v1/label/instance/values');
    expect(instances.body.data).toEqual(['svc-a:9100', 'svc-c:9100']);
  });

  test('an environment scope matches the promoted deployment_environment label', async () => {
    expect(jobs((await q('token-prod-0123456789', 'up')).body.data.result)).toEqual(['svc-a', 'svc-b']);
  });
});
