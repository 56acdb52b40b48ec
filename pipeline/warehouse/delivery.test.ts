import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DROPPED_RECORDS_METRIC, dropSamples } from '../../collector/drop-report.js';
import { componentTelemetry } from '../../collector/events.js';
import { MetricSender } from '../../collector/sinks/metric-sender.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { decodeMetrics, encodeLogs, encodeMetrics, wireHeaders } from '../../core/codec/codec.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord, MetricSample } from '../../core/model/records.js';
import { counter, createRegistry, RegistryClass, type Registry } from '../../core/telemetry/registry.js';
import { registrySamples } from '../../core/telemetry/self-publisher.js';
import { createTopics, testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import { waitFor } from '../../test/harness/wait.js';
import { deliveryReporter, type DeliveryRow } from './delivery.js';
import { OTEL_LOGS_INSERT_SETTINGS, toOtelLogRow } from './log-rows.js';
import { METRIC_SAMPLES_INSERT_SETTINGS, METRIC_SAMPLES_TSV_COLUMNS, metricSampleTsvLine, storedTimeMs } from './metric-rows.js';
import { rawInserter } from './raw-insert.js';
import { startWarehouseWriter } from './writer.js';

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
  await migrate(admin, { database: 'delivery_test', logsTtlDays: 3650, metricsTtlDays: 3650, log });
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
  // edge-1 app.log (an hour later, apart from the rows above): seqs 1..5, and drops (below).
  for (let s = 1; s <= 5; s++) records.push(rec('edge-1', APP_LOG, s, T1 + BigInt(s) * 1_000_000n));
  await admin.insert({ table: 'delivery_test.otel_logs', values: records.map((r) => toOtelLogRow(r, r.timeUnixNano)), format: 'JSONEachRow', clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS } });
  await insertSamples(await dropHistory());
});

const T1 = T0 + 3_600_000_000_000n;
const T1_MS = Number(T1 / 1_000_000n);
const APP_LOG = 'file:/var/log/app.log';

/**
 * The drop counter of edge-1's collector as its host-metrics publish sends it (dropSamples, then
 * the wire codec), around [T1, T1 + 60 s). Times are ms after T1.
 *   app.log debug:       10 (at -30 s, the baseline), 15, 22, restart, 4 (at +35 s); 104 at +60 s, out of range
 *   app.log healthcheck: 3 (first sample in range: from 0), 8, restart, 2, 2
 *   journald keep:       only drops, 4 then 9, first seen after the restart
 * Plus the debug series again as self-monitoring publishes it (core/telemetry/self-publisher.ts:
 * the registry's default labels add `component`), sampled less often: 10 at -20 s, 22 at +20 s.
 */
async function dropHistory(): Promise<MetricSample[]> {
  const out: MetricSample[] = [];
  const snapshot = async (registry: Registry, atMs: number) => out.push(...decodeMetrics(encodeMetrics(await dropSamples(registry, 'edge-1', T1_MS + atMs))));
  const dropped = (registry: Registry) => counter(registry, DROPPED_RECORDS_METRIC, 'Records a filter dropped.', ['source', 'reason']);
  const first: Registry = new RegistryClass();
  dropped(first).inc({ source: APP_LOG, reason: 'debug' }, 10);
  await snapshot(first, -30_000);
  dropped(first).inc({ source: APP_LOG, reason: 'debug' }, 5);
  dropped(first).inc({ source: APP_LOG, reason: 'healthcheck' }, 3);
  await snapshot(first, 5_000);
  dropped(first).inc({ source: APP_LOG, reason: 'debug' }, 7);
  dropped(first).inc({ source: APP_LOG, reason: 'healthcheck' }, 5);
  await snapshot(first, 15_000);
  const restarted: Registry = new RegistryClass();
  dropped(restarted).inc({ source: APP_LOG, reason: 'healthcheck' }, 2);
  dropped(restarted).inc({ source: 'journald', reason: 'keep' }, 4);
  await snapshot(restarted, 25_000);
  dropped(restarted).inc({ source: APP_LOG, reason: 'debug' }, 4);
  dropped(restarted).inc({ source: 'journald', reason: 'keep' }, 5);
  await snapshot(restarted, 35_000);
  dropped(restarted).inc({ source: APP_LOG, reason: 'debug' }, 100);
  await snapshot(restarted, 60_000);
  // Self-monitoring reads the first process's registry, whose default labels carry the host.
  const self: Registry = new RegistryClass();
  self.setDefaultLabels({ component: 'collector', host: 'edge-1' });
  dropped(self).inc({ source: APP_LOG, reason: 'debug' }, 10);
  out.push(...(await registrySamples(self, 'edge-1', T1_MS - 20_000)));
  dropped(self).inc({ source: APP_LOG, reason: 'debug' }, 12);
  out.push(...(await registrySamples(self, 'edge-1', T1_MS + 20_000)));
  const selfLabels = { job: 'pharos', instance: 'edge-1', component: 'collector', host: 'edge-1', source: APP_LOG, reason: 'debug' };
  expect(out.at(-1)).toEqual({ name: DROPPED_RECORDS_METRIC, labels: selfLabels, timestampMs: T1_MS + 20_000, value: 22, type: 'counter' });
  // Another metric and a stale marker of the counter: neither counts.
  out.push({ name: 'node_load1', labels: { job: 'node', instance: 'edge-1', host: 'edge-1', source: APP_LOG, reason: 'debug' }, timestampMs: T1_MS + 1_000, value: 50, type: 'gauge' });
  out.push({ name: DROPPED_RECORDS_METRIC, labels: { ...selfLabels, component: 'other' }, timestampMs: T1_MS + 1_000, value: Number.NaN, type: 'counter', stale: true });
  return out;
}

async function insertSamples(samples: MetricSample[]): Promise<void> {
  const body = Buffer.from(samples.map((x) => metricSampleTsvLine(x, storedTimeMs(x, 0))).join(''));
  await rawInserter(admin)('delivery_test', 'metric_samples', METRIC_SAMPLES_TSV_COLUMNS, body, { ...METRIC_SAMPLES_INSERT_SETTINGS });
}

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
        dropped: {},
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
        dropped: {},
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

describe('drops by reason', () => {
  const minute = { fromNs: T1, toNs: T1 + 60_000_000_000n };
  const dropOnly = (source: string, dropped: Record<string, number>): DeliveryRow => ({
    host: 'edge-1',
    source,
    received: 0,
    distinctSeqs: 0,
    minSeq: null,
    maxSeq: null,
    missing: 0,
    gaps: [],
    duplicates: 0,
    newestNs: null,
    ageMs: null,
    dropped,
  });

  test("per reason, the counter's increase in range, resets counted, beside what was received; a source that only dropped has a row", async () => {
    const rows = await report(minute);
    expect(rows.map((r) => r.source)).toEqual([APP_LOG, 'journald']);
    // debug: 10 -> 15 -> 22 -> (reset) 4 = 16, once although two series carry it (the sparser one
    // would say 12); healthcheck: 3 + 5 + (reset) 2 = 10.
    expect(rows[0]).toMatchObject({ host: 'edge-1', received: 5, missing: 0, minSeq: '1', maxSeq: '5', dropped: { debug: 16, healthcheck: 10 } });
    expect(rows[1]).toEqual(dropOnly('journald', { keep: 9 }));
  });

  test('consecutive ranges add up: each starts from the last sample before it', async () => {
    const first = await report({ fromNs: T1, toNs: T1 + 20_000_000_000n, source: APP_LOG });
    const second = await report({ fromNs: T1 + 20_000_000_000n, toNs: T1 + 60_000_000_000n, source: APP_LOG });
    expect(first.map((r) => r.dropped)).toEqual([{ debug: 12, healthcheck: 8 }]);
    // The second range holds no record: a row of drops only, baselines 22 and 8 from the first
    // (the sparser debug series, whose baseline is 10 at -20 s, is not the one read).
    expect(second).toEqual([dropOnly(APP_LOG, { debug: 4, healthcheck: 2 })]);
    // A range after the last sample in range of each series: nothing dropped there.
    expect(await report({ fromNs: T1 + 61_000_000_000n, toNs: T1 + 120_000_000_000n })).toEqual([]);
  });

  test('host and source filters apply to drops', async () => {
    expect(await report({ ...minute, source: 'journald' })).toEqual([dropOnly('journald', { keep: 9 })]);
    expect(await report({ ...minute, host: 'edge-2' })).toEqual([]);
  });

  test("a scoped caller sees the drops of the sources it sees records of, and series of its own scope's labels only", async () => {
    // app.log delivered records of service `app`; journald's drops name no service of the caller's.
    const app = await report({ ...minute, scope: { service: ['app'] } });
    expect(app.map((r) => [r.source, r.dropped])).toEqual([[APP_LOG, { debug: 16, healthcheck: 10 }]]);
    expect(await report({ ...minute, scope: { service: ['billing'] } })).toEqual([]);
    expect(await report({ ...minute, scope: { service: ['app'], environment: ['prod'] } })).toEqual([]);
    // The counter's own labels (job="pharos") put every drop in a `pharos` scope, but no record.
    const own = await report({ ...minute, scope: { service: ['pharos'] } });
    expect(own).toEqual([dropOnly(APP_LOG, { debug: 16, healthcheck: 10 }), dropOnly('journald', { keep: 9 })]);
  });
});

describe('drops through Kafka and the warehouse writer', () => {
  test("the collector's metric sender carries the drop counter to the report, beside the records", async () => {
    const brokers = testBrokers();
    const topics = { logs: uniqueTopic('delivery-logs'), metrics: uniqueTopic('delivery-metrics'), deadletter: uniqueTopic('delivery-dlq') };
    await createTopics(brokers, Object.values(topics), 1);
    const cfg = validateConfig({ data_dir: dir, kafka: { brokers, topics }, clickhouse: { database: 'delivery_kafka' }, pipeline: { warehouse: { group_id: uniqueTopic('delivery-group') } } });
    await migrate(admin, { database: 'delivery_kafka', logsTtlDays: 3650, log });
    const ingest = createClickHouse(cfg, log, 'ingest');
    const bus = new KafkaBus(createKafka(cfg.kafka, log, brokers), brokers, log);
    const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config: cfg, log, registry: createRegistry() });
    const collector: Registry = new RegistryClass();
    const sender = new MetricSender({ bus, topic: topics.metrics, key: 'edge-k', registry: collector, telemetry: componentTelemetry(collector, log, { kind: 'sink', id: 'kafka_metrics', type: 'kafka' }) });
    sender.start();
    try {
      const nowMs = Date.now();
      const ns = BigInt(nowMs) * 1_000_000n;
      const bytes = encodeLogs([1, 2, 3].map((seq) => rec('edge-k', APP_LOG, seq, ns + BigInt(seq))));
      await (await bus.producer()).send(topics.logs, [{ key: Buffer.from('edge-k'), value: Buffer.from(bytes), headers: wireHeaders() }]);
      const dropped = counter(collector, DROPPED_RECORDS_METRIC, 'Records a filter dropped.', ['source', 'reason']);
      dropped.inc({ source: APP_LOG, reason: 'debug' }, 5);
      sender.enqueue(await dropSamples(collector, 'edge-k', nowMs - 2_000));
      dropped.inc({ source: APP_LOG, reason: 'debug' }, 3);
      sender.enqueue(await dropSamples(collector, 'edge-k', nowMs - 1_000));
      const reportKafka = deliveryReporter(query, 'delivery_kafka');
      const range = { fromNs: ns - 60_000_000_000n, toNs: ns + 60_000_000_000n };
      const [row] = await waitFor('records and drops in the report', async () => {
        const rows = await reportKafka(range);
        return rows.length === 1 && rows[0]!.received === 3 && rows[0]!.dropped.debug === 8 ? rows : null;
      });
      expect(row).toMatchObject({ host: 'edge-k', source: APP_LOG, received: 3, missing: 0, dropped: { debug: 8 } });
    } finally {
      await sender.stop();
      await writer.stop();
      await bus.close();
      await ingest.close();
    }
  });
});
