/**
 * Interop: an OpenTelemetry SDK's own bytes (`@opentelemetry/otlp-transformer`, what its OTLP/HTTP
 * exporters send) pushed to the collector's OTLP/HTTP receiver, gzip-compressed as the Collector
 * sends them and as OTLP/JSON, travel collector → Kafka (the harness's broker) → warehouse (chDB)
 * and → the real-time store, and come out with their resource and attributes: logs in
 * `otel_logs`, metrics under the names Prometheus's own OTLP receiver gives them (PromQL).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, ProtobufLogsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCollector } from '../../collector/collector.js';
import { decodeExportResponse } from '../../collector/receivers/otlp-messages.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { startRealtime } from '../../pipeline/realtime/realtime-service.js';
import { startWarehouseWriter } from '../../pipeline/warehouse/writer.js';
import { freePort } from '../../core/kafka/local-broker.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';

class PullReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const DAY = 86_400_000;

describe('OTLP/HTTP push from an OpenTelemetry SDK → Kafka → warehouse and real-time store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-otlp-'));
  const log = silentLogger();
  const brokers = testBrokers();
  const db = 'otlp_interop';
  let config: ReturnType<typeof validateConfig>;
  let bus: KafkaBus;
  let push = '';
  let query = '';
  const stops: Array<() => Promise<void>> = [];
  const admin = () => createClickHouse(config, log, 'admin');
  let ch: ReturnType<typeof createClickHouse>;

  beforeAll(async () => {
    config = validateConfig({
      node_name: 'collector-host',
      data_dir: dir,
      kafka: { brokers, topics: { logs: uniqueTopic('otlp-logs'), metrics: uniqueTopic('otlp-metrics'), deadletter: uniqueTopic('otlp-dlq') } },
      clickhouse: { database: db },
      collector: { listen: `127.0.0.1:${await freePort()}`, self_logs: false, host_metrics: { enabled: false }, batch: { linger_ms: 20 } },
      pipeline: { warehouse: { group_id: uniqueTopic('otlp-wh'), batch_ms: 200 }, realtime: { window_ms: 7 * DAY } },
    });
    bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
    ch = admin();
    await migrate(ch, { database: db, logsTtlDays: 30, log });
    await bus.ensureTopics([config.kafka.topics.logs, config.kafka.topics.metrics, config.kafka.topics.deadletter], 2);
    const registry = createRegistry();
    const writer = await startWarehouseWriter({ bus, clickhouse: createClickHouse(config, log, 'ingest'), config, log, registry });
    stops.push(() => writer.stop());
    const realtime = await startRealtime({ bus, config, log, registry });
    stops.push(() => realtime.stop());
    const api = express().use(realtime.routes);
    const apiServer = api.listen(0, '127.0.0.1');
    await new Promise((r) => apiServer.once('listening', r));
    stops.push(() => new Promise((r) => apiServer.close(() => r())));
    query = `http://127.0.0.1:${(apiServer.address() as { port: number }).port}`;
    const collector = await startCollector({ config, bus, log, registry });
    stops.push(() => collector.stop());
    const auth = new Authenticator(config.auth);
    const server = await startServiceServer({ name: 'collector', listen: config.collector.listen, registry, auth, log, ready: () => collector.ready(), mountPublic: (app) => collector.mountReceivers?.(app, auth) });
    stops.unshift(() => server.close());
    push = `http://${server.address}`;
  });

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {});
    await bus.close();
    await ch.close();
  });

  async function rows<T>(sql: string): Promise<T[]> {
    const r = await ch.query({ query: sql, format: 'JSONEachRow' });
    return (await r.json()) as T[];
  }

  async function promql(q: string, timeMs?: number): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const url = `${query}/api/v1/query?query=${encodeURIComponent(q)}${timeMs ? `&time=${timeMs / 1000}` : ''}`;
    const res = await fetch(url);
    const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(JSON.stringify(body));
    return body.data.result;
  }

  test('logs: SDK protobuf (gzip) and OTLP/JSON bodies arrive in otel_logs with resource, attributes, ids and delivery stamps', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.namespace': 'shop', 'host.name': 'sdk-host', 'deployment.environment': 'interop' }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const logger = provider.getLogger('interop-test', '1.2.3');
    const N = 300;
    for (let i = 0; i < N; i++) {
      logger.emit({
        severityNumber: i % 10 === 0 ? SeverityNumber.ERROR : SeverityNumber.INFO,
        severityText: i % 10 === 0 ? 'ERROR' : 'INFO',
        body: `order ${i} placed`,
        attributes: { 'order.id': i, 'http.route': '/checkout', ok: i % 2 === 0 },
        context: undefined,
      });
    }
    const records = exporter.getFinishedLogRecords();
    expect(records).toHaveLength(N);
    // Two requests, as an exporter's batches: protobuf gzip-compressed, then OTLP/JSON plain.
    const proto = ProtobufLogsSerializer.serializeRequest(records.slice(0, 200))!;
    const r1 = await fetch(`${push}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' }, body: gzipSync(proto) });
    expect(r1.status).toBe(200);
    expect(r1.headers.get('content-type')).toContain('application/x-protobuf');
    expect(decodeExportResponse('logs', new Uint8Array(await r1.arrayBuffer()))).toEqual({ rejected: 0, errorMessage: '' });
    const json = JsonLogsSerializer.serializeRequest(records.slice(200))!;
    const r2 = await fetch(`${push}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: Buffer.from(json) });
    expect(r2.status).toBe(200);
    expect(await r2.json()).toEqual({});

    const count = async () => Number((await rows<{ n: string }>(`SELECT count() AS n FROM ${db}.otel_logs WHERE ServiceName = 'checkout'`))[0]!.n);
    await waitFor('every pushed log record in otel_logs', async () => (await count()) >= N);
    expect(await count()).toBe(N);
    const [g] = await rows<Record<string, string>>(
      `SELECT uniqExact(Body) AS bodies, any(ResourceAttributes['deployment.environment']) AS env, any(ResourceAttributes['host.name']) AS host,
              any(ResourceAttributes['service.namespace']) AS ns, any(ScopeName) AS scope, any(ScopeVersion) AS scope_version,
              countIf(SeverityText = 'ERROR') AS errors, countIf(SeverityNumber = 17) AS sev17, uniqExact(LogAttributes['order.id']) AS orders,
              any(LogAttributes['http.route']) AS route, uniqExact(LogAttributes['pharos.source']) AS sources, any(LogAttributes['pharos.source']) AS source,
              min(toUInt64(LogAttributes['pharos.seq'])) AS lo, max(toUInt64(LogAttributes['pharos.seq'])) AS hi, countIf(toYear(Timestamp) < 2020) AS ancient
       FROM ${db}.otel_logs WHERE ServiceName = 'checkout'`,
    );
    expect(g).toMatchObject({ env: 'interop', host: 'sdk-host', ns: 'shop', scope: 'interop-test', scope_version: '1.2.3', route: '/checkout' });
    expect(Number(g!.bodies)).toBe(N);
    expect(Number(g!.errors)).toBe(N / 10);
    expect(Number(g!.sev17)).toBe(N / 10);
    expect(Number(g!.orders)).toBe(N);
    expect(Number(g!.ancient)).toBe(0);
    // Delivery accounting: one source (this run of the receiver), seqs 0..N-1 for the host.
    expect(Number(g!.sources)).toBe(1);
    expect(g!.source).toMatch(/^otlp_http#[0-9a-f]{8}$/);
    expect([Number(g!.lo), Number(g!.hi)]).toEqual([0, N - 1]);
  });

  test('metrics: SDK gauges, counters and histograms are queryable under Prometheus OTLP names, resource → job/instance/target_info', async () => {
    // A gauge without unit whose data point carries `job`, in a resource without service.name.
    const plainReader = new PullReader();
    const plain = new MeterProvider({ resource: resourceFromAttributes({}), readers: [plainReader] });
    plain.getMeter('m').createObservableGauge('http_requests').addCallback((o) => o.observe(42, { job: 'api' }));

    const reader = new PullReader();
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': 'pod-1', 'k8s.cluster.name': 'c1' }),
      readers: [reader],
    });
    const meter = provider.getMeter('interop');
    const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
    const duration = meter.createHistogram('http.server.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] } });
    meter.createObservableGauge('cpu.utilization', { unit: '1' }).addCallback((o) => o.observe(0.25));
    for (let i = 0; i < 10; i++) requests.add(1, { 'http.method': i < 7 ? 'GET' : 'POST' });
    for (const v of [0.05, 0.2, 0.2, 0.7, 3]) duration.record(v, { 'http.method': 'GET' });

    for (const r of [plainReader, reader]) {
      const { resourceMetrics, errors } = await r.collect();
      expect(errors).toEqual([]);
      const bytes = ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!;
      const res = await fetch(`${push}/v1/metrics`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' }, body: gzipSync(bytes) });
      expect(res.status).toBe(200);
      expect(decodeExportResponse('metrics', new Uint8Array(await res.arrayBuffer()))).toEqual({ rejected: 0, errorMessage: '' });
    }

    const gauge = await waitFor('http_requests in the real-time store', async () => ((await promql('http_requests')).length > 0 ? promql('http_requests') : null));
    expect(gauge.map((s) => [s.metric, s.value[1]])).toEqual([[{ __name__: 'http_requests', job: 'api' }, '42']]);

    const id = { job: 'shop/checkout', instance: 'pod-1' };
    const counters = await waitFor('counter', async () => ((await promql('http_server_requests_total')).length === 2 ? promql('http_server_requests_total') : null));
    expect(counters.map((s) => [s.metric, s.value[1]]).sort((a, b) => String((a[0] as Record<string, string>).http_method).localeCompare(String((b[0] as Record<string, string>).http_method)))).toEqual([
      [{ __name__: 'http_server_requests_total', http_method: 'GET', ...id }, '7'],
      [{ __name__: 'http_server_requests_total', http_method: 'POST', ...id }, '3'],
    ]);
    const buckets = await promql('http_server_duration_seconds_bucket');
    expect(Object.fromEntries(buckets.map((s) => [s.metric.le, s.value[1]]))).toEqual({ '0.1': '1', '0.5': '3', '1': '4', '+Inf': '5' });
    expect(buckets[0]!.metric).toMatchObject({ http_method: 'GET', ...id });
    expect((await promql('http_server_duration_seconds_count'))[0]!.value[1]).toBe('5');
    expect(Number((await promql('http_server_duration_seconds_sum'))[0]!.value[1])).toBeCloseTo(4.15, 10);
    expect((await promql('cpu_utilization_ratio'))[0]!.value[1]).toBe('0.25');
    const info = await promql('target_info');
    expect(info.map((s) => s.metric)).toEqual([{ __name__: 'target_info', k8s_cluster_name: 'c1', ...id }]);
    await plain.shutdown();
    await provider.shutdown();
  });

  test('metrics: an OTLP/JSON point three days old is stored at its own time (the window is 7 days)', async () => {
    const at = Date.now() - 3 * DAY;
    const body = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'batch' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'backfill.items',
                  sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', isMonotonic: true, dataPoints: [{ timeUnixNano: String(BigInt(at) * 1_000_000n), asInt: '12', attributes: [{ key: 'queue', value: { stringValue: 'q1' } }] }] },
                },
                { name: 'delta.things', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: String(BigInt(at) * 1_000_000n), asInt: 1 }] } },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${push}/v1/metrics`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    // The delta sum is refused, as Prometheus refuses it, and said so in the partial success.
    const answer = (await res.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
    expect(answer.partialSuccess.rejectedDataPoints).toBe('1');
    expect(answer.partialSuccess.errorMessage).toMatch(/delta temporality/);
    const got = await waitFor('the old point', async () => ((await promql('backfill_items_total', at)).length > 0 ? promql('backfill_items_total', at) : null));
    expect(got.map((s) => [s.metric, s.value])).toEqual([[{ __name__: 'backfill_items_total', job: 'batch', queue: 'q1' }, [at / 1000, '12']]]);
    // Not at arrival time: nothing within the last 5 minutes.
    expect(await promql('backfill_items_total')).toEqual([]);
  });
});
