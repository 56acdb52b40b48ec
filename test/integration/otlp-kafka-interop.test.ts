/**
 * Interop: what an OpenTelemetry Collector's Kafka exporter (`encoding: otlp_proto`) writes into
 * `pharos.logs` / `pharos.metrics` — many ResourceLogs in one message, no Pharos headers, and
 * filelog-style records with `time_unix_nano` = 0 and only the observed time — is ingested by
 * the real pipeline (warehouse on chDB, real-time store) with every record, resource and attribute.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { opentelemetry } from '../../core/codec/otlp/generated/otlp.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { startRealtime } from '../../pipeline/realtime/realtime-service.js';
import { startWarehouseWriter } from '../../pipeline/warehouse/writer.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';

import otlp = opentelemetry.proto;

const str = (v: string) => ({ stringValue: v });
const nanos = (ms: number) => Long.fromBigInt(BigInt(ms) * 1_000_000n, true);
const RESOURCES = 6;
const PER_RESOURCE = 250;

describe('an OpenTelemetry Collector Kafka exporter (otlp_proto) writing into the Pharos topics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-otlp-kafka-'));
  const log = silentLogger();
  const brokers = testBrokers();
  const db = 'otlp_kafka';
  const config = validateConfig({
    node_name: 'pipeline-host',
    data_dir: dir,
    kafka: { brokers, topics: { logs: uniqueTopic('otelcol-logs'), metrics: uniqueTopic('otelcol-metrics'), deadletter: uniqueTopic('otelcol-dlq') } },
    clickhouse: { database: db },
    pipeline: { warehouse: { group_id: uniqueTopic('otelcol-wh'), batch_ms: 200 } },
  });
  const kafka = new Kafka({ clientId: 'otelcol-kafka-exporter', brokers, logLevel: logLevel.NOTHING });
  const bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
  const ch = createClickHouse(config, log, 'admin');
  const stops: Array<() => Promise<void>> = [];
  let realtime: Awaited<ReturnType<typeof startRealtime>>;

  beforeAll(async () => {
    await migrate(ch, { database: db, logsTtlDays: 30, log });
    await bus.ensureTopics([config.kafka.topics.logs, config.kafka.topics.metrics, config.kafka.topics.deadletter], 2);
    const registry = createRegistry();
    const writer = await startWarehouseWriter({ bus, clickhouse: createClickHouse(config, log, 'ingest'), config, log, registry });
    stops.push(() => writer.stop());
    realtime = await startRealtime({ bus, config, log, registry });
    stops.push(() => realtime.stop());
  });

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {});
    await bus.close();
    await ch.close();
  });

  test('one message of many ResourceLogs with filelog records (no event time) lands whole in otel_logs, at the observed time', async () => {
    const observedMs = Date.now() - 60_000;
    const resourceLogs: otlp.logs.v1.ResourceLogs.$Properties[] = [];
    for (let r = 0; r < RESOURCES; r++) {
      resourceLogs.push({
        resource: { attributes: [{ key: 'service.name', value: str(`svc-${r}`) }, { key: 'host.name', value: str(`node-${r % 3}`) }, { key: 'k8s.pod.name', value: str(`pod-${r}`) }] },
        scopeLogs: [
          {
            scope: {},
            logRecords: Array.from({ length: PER_RESOURCE }, (_, i) => ({
              timeUnixNano: Long.UZERO,
              observedTimeUnixNano: nanos(observedMs + i),
              body: str(`line ${i} of pod-${r}`),
              attributes: [{ key: 'log.file.name', value: str(`pod-${r}.log`) }, { key: 'log.iostream', value: str('stdout') }],
            })),
          },
        ],
      });
    }
    const value = otlp.collector.logs.v1.ExportLogsServiceRequest.encode({ resourceLogs }).finish();
    const producer = kafka.producer();
    await producer.connect();
    stops.push(() => producer.disconnect());
    // No key and no headers: what the exporter sends by default.
    await producer.send({ topic: config.kafka.topics.logs, messages: [{ value: Buffer.from(value) }] });

    const total = RESOURCES * PER_RESOURCE;
    const count = async () => Number(((await (await ch.query({ query: `SELECT count() AS n FROM ${db}.otel_logs`, format: 'JSONEachRow' })).json()) as Array<{ n: string }>)[0]!.n);
    await waitFor('every record of the exporter message', async () => (await count()) >= total);
    expect(await count()).toBe(total);
    const groups = (await (
      await ch.query({
        query: `SELECT ServiceName AS svc, any(ResourceAttributes['host.name']) AS host, any(ResourceAttributes['k8s.pod.name']) AS pod,
                       any(LogAttributes['log.file.name']) AS file, any(LogAttributes['log.iostream']) AS stream, count() AS n, uniqExact(Body) AS bodies,
                       toUnixTimestamp64Milli(min(Timestamp)) AS first
                FROM ${db}.otel_logs GROUP BY svc ORDER BY svc`,
        format: 'JSONEachRow',
      })
    ).json()) as Array<Record<string, string | number>>;
    expect(groups).toHaveLength(RESOURCES);
    groups.forEach((g, r) => {
      expect(g).toMatchObject({ svc: `svc-${r}`, host: `node-${r % 3}`, pod: `pod-${r}`, file: `pod-${r}.log`, stream: 'stdout' });
      expect(Number(g.n)).toBe(PER_RESOURCE);
      expect(Number(g.bodies)).toBe(PER_RESOURCE);
      // The observed time stands in for the missing event time: never 1970.
      expect(Number(g.first)).toBe(observedMs);
    });
  });

  test('one metrics message of several ResourceMetrics reaches the real-time store with job, instance and attributes', async () => {
    const at = Date.now() - 30_000;
    const resourceMetrics: otlp.metrics.v1.ResourceMetrics.$Properties[] = ['a', 'b', 'c'].map((n) => ({
      resource: { attributes: [{ key: 'service.name', value: str('otelcol-app') }, { key: 'service.instance.id', value: str(`inst-${n}`) }] },
      scopeMetrics: [
        {
          metrics: [
            { name: 'queue.length', unit: '{item}', gauge: { dataPoints: [{ timeUnixNano: nanos(at), asInt: Long.fromNumber(n.charCodeAt(0)), attributes: [{ key: 'queue', value: str(n) }] }] } },
            { name: 'bytes.read', unit: 'By', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: nanos(at), asDouble: 1024 }] } },
          ],
        },
      ],
    }));
    const producer = kafka.producer();
    await producer.connect();
    stops.push(() => producer.disconnect());
    await producer.send({ topic: config.kafka.topics.metrics, messages: [{ value: Buffer.from(otlp.collector.metrics.v1.ExportMetricsServiceRequest.encode({ resourceMetrics }).finish()) }] });

    const select = (name: string) => realtime.ingest.querier.select([{ name: '__name__', type: '=', value: name }], at - 1000, at + 1000);
    const gauges = await waitFor('queue_length series', () => (select('queue_length').length === 3 ? select('queue_length') : null));
    expect(gauges.map((s) => [s.labels, Array.from(s.values)]).sort((x, y) => String(x[0]).localeCompare(String(y[0])))).toEqual(
      ['a', 'b', 'c'].map((n) => [{ __name__: 'queue_length', job: 'otelcol-app', instance: `inst-${n}`, queue: n }, [n.charCodeAt(0)]]),
    );
    // `By` adds nothing: the name already has the token `bytes` (Prometheus's rule).
    const bytes = await waitFor('bytes_read_total', () => (select('bytes_read_total').length === 3 ? select('bytes_read_total') : null));
    expect(bytes.map((s) => Array.from(s.values))).toEqual([[1024], [1024], [1024]]);
  });
});
