/**
 * Label scope where data leaves: a token limited to service A never sees service B, in log
 * search (real chDB, the warehouse's search), exports, the delivery report, metric ranges (the
 * real-time TSDB and the warehouse's rollups), PromQL answers, alerts, alert history and
 * silences, whatever the query asks for. An environment scope likewise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BusMessage, ConsumedBatch } from '../../core/bus/bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { encodeMetrics, wireHeaders } from '../../core/codec/codec.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { matchersPinnedToScope, metricLabelsInScope, metricLabelsScopeSql } from '../../core/http/scope.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer, type ServiceServer } from '../../core/http/service-server.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord, MetricSample } from '../../core/model/records.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { logsRoutes } from '../../dashboard/server/routes/logs.js';
import { logsExtraRoutes } from '../../dashboard/server/routes/logs-extra.js';
import { alertHistoryRoutes, clickHouseAlertHistory } from '../../dashboard/server/routes/alert-history.js';
import { deliveryRoutes } from '../../dashboard/server/routes/delivery.js';
import { exportRoutes } from '../../dashboard/server/routes/export.js';
import { metricsRangeRoutes } from '../../dashboard/server/routes/metrics-range.js';
import { alertsApiRouter } from '../../alerts/api/alerts-api.js';
import { notifyConfigSchema } from '../../alerts/notify/config.js';
import { Notifications } from '../../alerts/notify/notifier.js';
import { alert, FakeClock } from '../../alerts/notify/test-helpers.js';
import { promApiRouter, tsdbStatusRouter } from '../../pipeline/realtime/api/prom-api.js';
import { Head } from '../../pipeline/realtime/tsdb/head.js';
import { HeadQuerier } from '../../pipeline/realtime/tsdb/querier.js';
import { deliveryReporter } from '../../pipeline/warehouse/delivery.js';
import { ClickHouseLogSearch } from '../../pipeline/warehouse/log-search.js';
import { MetricRangeReader } from '../../pipeline/warehouse/metric-range.js';
import { metricBatchHandler, warehouseMetrics } from '../../pipeline/warehouse/writer.js';
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
      { name: 'dev', role: 'viewer', token: 'token-dev-0123456789', scope: { environment: ['dev'] } },
      { name: 'analyst-everyone', role: 'analyst', token: 'token-analyst-everyone-0123456789' },
      { name: 'analyst-a', role: 'analyst', token: 'token-analyst-a-0123456789', scope: { service: ['svc-a'] } },
    ],
  },
});
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const query = createClickHouse(config, log, 'query');
const ingest = createClickHouse(config, log, 'ingest');
const NOW_MS = Date.now();
const nowNs = BigInt(NOW_MS) * 1_000_000n;
/** Older than the real-time window mounted below: metric ranges this old come from the rollups. */
const WAREHOUSE_MS = NOW_MS - 2 * 3_600_000;
const REALTIME_WINDOW_MS = 30 * 60_000;

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
    // Delivery accounting reads these: one source per service, contiguous seqs.
    attributes: { 'pharos.source': `file:/var/log/${l.service}.log`, 'pharos.seq': String(i) },
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

let server: ServiceServer;
let base = '';
let notifications: Notifications;

function metricsMessage(samples: MetricSample[]): ConsumedBatch {
  const bytes = encodeMetrics(samples);
  const m: BusMessage = { key: Buffer.from('h1'), value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: wireHeaders() };
  return { topic: 'metrics', partition: 0, messages: [{ key: m.key, value: m.value, headers: m.headers ?? {}, offset: '0', timestampMs: NOW_MS }] };
}

/** An alert_events row as alerts/alert-events.ts writes it. */
function alertEvent(job: string, env: string, i: number) {
  return {
    Timestamp: new Date(NOW_MS - (10 - i) * 60_000).toISOString().replace('T', ' ').replace('Z', ''),
    Fingerprint: `fp-${job}`,
    AlertName: 'InstanceDown',
    Labels: { alertname: 'InstanceDown', job, deployment_environment: env },
    Annotations: {},
    State: 'firing',
    PreviousState: 'pending',
    Value: 0,
    Kind: 'state_change',
    Receiver: '',
    NotificationStatus: '',
    Error: '',
  };
}

beforeAll(async () => {
  await migrate(admin, { database: DB, logsTtlDays: 3650, metricsTtlDays: 3650, log });
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
  await admin.insert({
    table: `${DB}.alert_events`,
    values: [alertEvent('svc-a', 'prod', 0), alertEvent('svc-b', 'prod', 1), alertEvent('svc-c', 'dev', 2)],
    format: 'JSONEachRow',
  });
  const handle = metricBatchHandler({
    clickhouse: ingest,
    database: DB,
    deadletterTopic: 'dlq',
    producer: { send: async () => {}, close: async () => {} },
    log,
    metrics: warehouseMetrics(createRegistry()),
    maxRowsPerInsert: 50_000,
  });
  await handle(
    metricsMessage(
      (['svc-a', 'svc-b'] as const).flatMap((job) =>
        Array.from({ length: 10 }, (_, i) => ({ name: 'load', labels: { job, instance: `${job}:9100`, deployment_environment: 'prod' }, timestampMs: WAREHOUSE_MS + i * 60_000, value: i, type: 'gauge' as const })),
      ),
    ),
  );

  const clock = new FakeClock(NOW_MS);
  notifications = await Notifications.start({
    config: notifyConfigSchema.parse({ route: { receiver: 'null', group_wait: '1h' }, receivers: [{ name: 'null' }] }),
    log,
    clock,
  });
  await notifications.put([
    alert({ alertname: 'InstanceDown', job: 'svc-a', deployment_environment: 'prod' }, NOW_MS, NOW_MS + 3_600_000),
    alert({ alertname: 'InstanceDown', job: 'svc-b', deployment_environment: 'prod' }, NOW_MS, NOW_MS + 3_600_000),
  ]);

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
      app.use(exportRoutes({ search, now: () => NOW_MS }));
      app.use(deliveryRoutes({ report: deliveryReporter(query, DB), now: () => NOW_MS }));
      app.use(alertHistoryRoutes({ read: clickHouseAlertHistory(query, DB), now: () => NOW_MS }));
      app.use(metricsRangeRoutes({ realtime: () => ({ querier: new HeadQuerier(head), windowMs: REALTIME_WINDOW_MS }), warehouse: new MetricRangeReader(query, DB), now: () => NOW_MS }));
      app.use(alertsApiRouter(notifications, clock));
      app.use(tsdbStatusRouter(head));
      app.use(promApiRouter({ querier: () => new HeadQuerier(head), now: () => NOW_MS }));
    },
  });
  base = `http://${server.address}`;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await notifications?.stop();
  await Promise.all([admin.close(), query.close(), ingest.close()]);
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

async function send(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

describe('log search with the scope in the warehouse query', () => {
  test('an environment scope gets full pages: the newest line of its environment, not an empty page', async () => {
    // The two newest lines are prod: filtered after the query, a page of one would be empty.
    const r = await get('token-dev-0123456789', '/api/logs', { from: 'now-1h', limit: '1' });
    expect(r.body.data.rows.map((x: { body: string }) => x.body)).toEqual(['alpha dev line']);
  });

  test('an environment scope gets a histogram counting its environment only', async () => {
    const h = await get('token-prod-0123456789', '/api/logs/histogram', { from: 'now-1h', buckets: '1' });
    expect(h.status).toBe(200);
    expect(h.body.data.buckets[0].count).toBe(3);
  });

  test('context of a line skips neighbours outside the scope in the query', async () => {
    const prodLine = record(lines[0]!, 0).timeUnixNano;
    const everyone = await get('token-everyone-0123456789', '/api/logs/context', { service: 'svc-a', time: String(prodLine), after: '5' });
    expect(everyone.body.data.rows.map((x: { body: string }) => x.body)).toEqual(['alpha prod line', 'alpha dev line']);
    const prod = await get('token-prod-0123456789', '/api/logs/context', { service: 'svc-a', time: String(prodLine), after: '5' });
    expect(prod.body.data.rows.map((x: { body: string }) => x.body)).toEqual(['alpha prod line']);
  });
});

describe('exports', () => {
  async function exported(token: string, params: Record<string, string>): Promise<{ status: number; rows: Array<{ serviceName: string }> }> {
    const res = await fetch(`${base}/api/logs/export?${new URLSearchParams({ from: 'now-1h', ...params })}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (res.status !== 200) return { status: res.status, rows: [] };
    return { status: 200, rows: text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
  }

  test('an unscoped analyst exports every service; a scoped one only its own, paged or not', async () => {
    expect(services((await exported('token-analyst-everyone-0123456789', {})).rows)).toEqual(['svc-a', 'svc-b', 'svc-c']);
    const a = await exported('token-analyst-a-0123456789', {});
    expect(a.rows).toHaveLength(2);
    expect(services(a.rows)).toEqual(['svc-a']);
    expect((await exported('token-analyst-a-0123456789', { q: 'bravo' })).rows).toEqual([]);
  });

  test('exporting a service outside the scope is refused', async () => {
    const res = await fetch(`${base}/api/logs/export?service=svc-b`, { headers: { authorization: 'Bearer token-analyst-a-0123456789' } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/service "svc-b" is outside what this token may see/);
  });
});

describe('delivery report', () => {
  test('a scoped token sees the sources of its services only', async () => {
    const sources = (r: { body: any }) => r.body.data.rows.map((x: { source: string }) => x.source).sort();
    expect(sources(await get('token-everyone-0123456789', '/api/delivery'))).toEqual(['file:/var/log/svc-a.log', 'file:/var/log/svc-b.log', 'file:/var/log/svc-c.log']);
    const a = await get('token-team-a-0123456789', '/api/delivery');
    expect(sources(a)).toEqual(['file:/var/log/svc-a.log']);
    expect(a.body.data.rows[0].received).toBe(2);
    // Only svc-a's prod line counts for a prod token: its dev line is not received as far as it can tell.
    const prod = await get('token-prod-0123456789', '/api/delivery', { source: 'file:/var/log/svc-a.log' });
    expect(prod.body.data.rows.map((x: { received: number }) => x.received)).toEqual([1]);
  });
});

describe('metric ranges for dashboard panels', () => {
  const range = (token: string, query: string, startMs: number, endMs: number, step = '60') =>
    get(token, '/api/metrics/query_range', { query, start: String(startMs / 1000), end: String(endMs / 1000), step });

  test('from the real-time store, a scoped token sees its service whatever the query', async () => {
    const all = await range('token-everyone-0123456789', 'up', NOW_MS - 60_000, NOW_MS, '15');
    expect(all.body.data.source).toBe('realtime');
    expect(jobs(all.body.data.result)).toEqual(['svc-a', 'svc-b', 'svc-c']);
    expect(jobs((await range('token-team-a-0123456789', 'up', NOW_MS - 60_000, NOW_MS, '15')).body.data.result)).toEqual(['svc-a']);
    expect((await range('token-team-a-0123456789', 'up{job="svc-b"}', NOW_MS - 60_000, NOW_MS, '15')).body.data.result).toEqual([]);
  });

  test('from the warehouse rollups, the scope is part of the query', async () => {
    const from = WAREHOUSE_MS - 60_000;
    const to = WAREHOUSE_MS + 10 * 60_000;
    const all = await range('token-everyone-0123456789', 'load', from, to);
    expect(all.body.data.source).toBe('warehouse');
    expect(jobs(all.body.data.result)).toEqual(['svc-a', 'svc-b']);
    const a = await range('token-team-a-0123456789', 'load', from, to);
    expect(a.body.data.source).toBe('warehouse');
    expect(jobs(a.body.data.result)).toEqual(['svc-a']);
    expect((await range('token-team-a-0123456789', 'load{job="svc-b"}', from, to)).body.data.result).toEqual([]);
    expect((await range('token-dev-0123456789', 'load', from, to)).body.data.result).toEqual([]);
  });
});

describe('alerts', () => {
  const alertJobs = (list: Array<{ labels: Record<string, string> }>) => list.map((a) => a.labels.job).sort();

  test('the alert list shows alerts of the scope only', async () => {
    expect(alertJobs((await get('token-everyone-0123456789', '/api/v2/alerts')).body)).toEqual(['svc-a', 'svc-b']);
    expect(alertJobs((await get('token-team-a-0123456789', '/api/v2/alerts')).body)).toEqual(['svc-a']);
    expect((await get('token-dev-0123456789', '/api/v2/alerts')).body).toEqual([]);
  });

  test('alert history shows events of alerts in scope only', async () => {
    const history = async (token: string) => (await get(token, '/api/alerts/history')).body.data.events.map((e: { labels: Record<string, string> }) => e.labels.job).sort();
    expect(await history('token-everyone-0123456789')).toEqual(['svc-a', 'svc-b', 'svc-c']);
    expect(await history('token-team-a-0123456789')).toEqual(['svc-a']);
    expect(await history('token-team-ac-0123456789')).toEqual(['svc-a', 'svc-c']);
    expect(await history('token-prod-0123456789')).toEqual(['svc-a', 'svc-b']);
  });

  test('a scoped token may only silence alerts pinned to its services', async () => {
    const silence = (matchers: Array<{ name: string; value: string; isRegex?: boolean }>) => ({
      matchers: matchers.map((m) => ({ isRegex: false, isEqual: true, ...m })),
      endsAt: new Date(NOW_MS + 3_600_000).toISOString(),
      createdBy: 'team-a',
      comment: 'maintenance',
    });
    const everything = await send('token-analyst-a-0123456789', 'POST', '/api/v2/silences', silence([{ name: 'alertname', value: 'InstanceDown' }]));
    expect(everything.status).toBe(403);
    expect(everything.body.error).toMatch(/may only silence alerts of services svc-a: pin them with job="<service>"/);
    expect((await send('token-analyst-a-0123456789', 'POST', '/api/v2/silences', silence([{ name: 'job', value: 'svc-b' }]))).status).toBe(403);
    expect((await send('token-analyst-a-0123456789', 'POST', '/api/v2/silences', silence([{ name: 'job', value: 'svc-.*', isRegex: true }]))).status).toBe(403);

    const other = await send('token-analyst-everyone-0123456789', 'POST', '/api/v2/silences', silence([{ name: 'job', value: 'svc-b' }]));
    expect(other.status).toBe(200);
    const own = await send('token-analyst-a-0123456789', 'POST', '/api/v2/silences', silence([{ name: 'job', value: 'svc-a' }]));
    expect(own.status).toBe(200);
    // Nor may it lift another team's silence.
    expect((await send('token-analyst-a-0123456789', 'DELETE', `/api/v2/silence/${other.body.silenceID}`)).status).toBe(403);
    expect((await send('token-analyst-a-0123456789', 'DELETE', `/api/v2/silence/${own.body.silenceID}`)).status).toBe(200);
    expect((await send('token-analyst-everyone-0123456789', 'DELETE', `/api/v2/silence/${other.body.silenceID}`)).status).toBe(200);
  });
});

describe('TSDB status', () => {
  test('counts over every series are for unscoped tokens only', async () => {
    const all = await get('token-everyone-0123456789', '/api/v1/status/tsdb');
    expect(all.status).toBe(200);
    expect(all.body.data.headStats.numSeries).toBe(3);
    const a = await get('token-team-a-0123456789', '/api/v1/status/tsdb');
    expect(a.status).toBe(403);
    expect(a.body.error).toMatch(/this token may see services svc-a only/);
  });
});

describe('scope helpers for alerts', () => {
  test('alert labels without the restricted label are outside the scope (fail closed)', () => {
    expect(metricLabelsInScope({ service: ['svc-a'] }, { job: 'svc-a' })).toBe(true);
    expect(metricLabelsInScope({ service: ['svc-a'] }, { alertname: 'X' })).toBe(false);
    expect(metricLabelsInScope({ environment: ['prod'] }, { job: 'svc-a' })).toBe(false);
    expect(metricLabelsInScope(undefined, { alertname: 'X' })).toBe(true);
  });

  test('the SQL twin keeps values in parameters', () => {
    const { sql, params } = metricLabelsScopeSql({ service: ["svc-a' OR 1"] }, 'Labels');
    expect(sql).toBe("Labels['job'] IN {scope_service:Array(String)}");
    expect(params).toEqual({ scope_service: ["svc-a' OR 1"] });
    expect(metricLabelsScopeSql(undefined, 'Labels').sql).toBe('1');
  });

  test('silence matchers must pin every restricted dimension with an equality', () => {
    const scope = { service: ['svc-a'], environment: ['prod'] };
    expect(matchersPinnedToScope(scope, [{ name: 'job', type: '=', value: 'svc-a' }])).toBe(false);
    expect(matchersPinnedToScope(scope, [{ name: 'job', type: '=', value: 'svc-a' }, { name: 'deployment_environment', type: '=', value: 'prod' }])).toBe(true);
    expect(matchersPinnedToScope(scope, [{ name: 'job', type: '!=', value: 'svc-a' }, { name: 'deployment_environment', type: '=', value: 'prod' }])).toBe(false);
    expect(matchersPinnedToScope(undefined, [{ name: 'alertname', type: '=~', value: '.+' }])).toBe(true);
  });
});
