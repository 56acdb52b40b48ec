import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BusMessage, BusProducer, ConsumedBatch, ConsumedMessage } from '../../core/bus/bus.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { encodeMetrics, wireHeaders } from '../../core/codec/codec.js';
import { validateConfig } from '../../core/config/load.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import type { MetricSample } from '../../core/model/records.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { createTopics, testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import { waitFor } from '../../test/harness/wait.js';
import { MetricRangeReader, pickResolution } from './metric-range.js';
import { metricBatchHandler, startWarehouseWriter, warehouseMetrics } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-metric-writer-'));
const log = silentLogger();
const base = validateConfig({ data_dir: dir });
const admin = createClickHouse(base, log, 'admin');
const ingest = createClickHouse(base, log, 'ingest');
const query = createClickHouse(base, log, 'query');
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** An hour boundary a few hours back, so rollup buckets are predictable. */
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

afterAll(async () => {
  await Promise.all([admin.close(), ingest.close(), query.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function migrated(database: string): Promise<string> {
  await migrate(admin, { database, logsTtlDays: 3650, metricsTtlDays: 3650, log });
  return database;
}

async function one<T>(sql: string): Promise<T> {
  const rs = await admin.query({ query: sql, format: 'JSONEachRow' });
  return (await rs.json<T>())[0]!;
}

function message(samples: MetricSample[], key = 'host-a'): BusMessage {
  const bytes = encodeMetrics(samples);
  return { key: Buffer.from(key), value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: wireHeaders() };
}

function batch(topic: string, partition: number, from: number, messages: BusMessage[]): ConsumedBatch {
  return {
    topic,
    partition,
    messages: messages.map((m, i): ConsumedMessage => ({ key: m.key, value: m.value, headers: m.headers ?? {}, offset: String(from + i), timestampMs: Date.now() })),
  };
}

function handlerFor(database: string) {
  const producer: BusProducer = { send: async () => {}, close: async () => {} };
  return metricBatchHandler({ clickhouse: ingest, database, deadletterTopic: 'dlq', producer, log, metrics: warehouseMetrics(createRegistry()), maxRowsPerInsert: 50_000 });
}

/** One gauge series `load{job="api",instance="i-1"}` sampled every 15 s over two hours from T0, values known. */
function knownSeries(): MetricSample[] {
  return Array.from({ length: 480 }, (_, i) => ({
    name: 'load',
    labels: { job: 'api', instance: 'i-1' },
    timestampMs: T0 + i * 15_000,
    value: (i % 7) * 1.5 - 2,
    type: 'gauge' as const,
  }));
}

function expected(samples: MetricSample[], bucketMs: number): Map<number, { min: number; max: number; sum: number; count: number; last: number }> {
  const out = new Map<number, { min: number; max: number; sum: number; count: number; last: number }>();
  for (const s of samples) {
    const b = Math.floor(s.timestampMs / bucketMs) * bucketMs;
    const e = out.get(b);
    if (!e) out.set(b, { min: s.value, max: s.value, sum: s.value, count: 1, last: s.value });
    else Object.assign(e, { min: Math.min(e.min, s.value), max: Math.max(e.max, s.value), sum: e.sum + s.value, count: e.count + 1, last: s.value });
  }
  return out;
}

describe('metric samples through the batch handler', () => {
  test('rollups hold min, max, sum, count and last of a known series, also after a replay', async () => {
    const db = await migrated('mw_rollup');
    const handle = handlerFor(db);
    const samples = knownSeries();
    // Out of order within the batch, and a staleness marker that rollups must ignore.
    const msgs = [message(samples.slice(240)), message(samples.slice(0, 240)), message([{ name: 'load', labels: { job: 'api', instance: 'i-1' }, timestampMs: T0 + 5, value: Number.NaN, type: 'gauge', stale: true }])];
    await handle(batch('metrics', 0, 0, msgs));
    // A replay: the same offsets again (new group), and the token dedup alone (ledger dropped).
    await handle(batch('metrics', 0, 0, msgs));
    await admin.command({ query: `TRUNCATE TABLE ${db}.warehouse_batches` });
    await handle(batch('metrics', 0, 0, msgs));

    expect(await one<{ n: number }>(`SELECT toUInt32(count()) AS n FROM ${db}.metric_samples`)).toEqual({ n: 481 });
    for (const [table, bucket] of [
      ['metric_rollup_1m', MINUTE],
      ['metric_rollup_1h', HOUR],
    ] as const) {
      const rs = await admin.query({
        query: `SELECT toInt64(toUnixTimestamp(BucketStart)) * 1000 AS t, min(Min) AS min, max(Max) AS max, sum(Sum) AS sum, toUInt32(sum(Count)) AS count, argMaxMerge(Last) AS last
FROM ${db}.${table} GROUP BY BucketStart ORDER BY BucketStart`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const got = await rs.json<{ t: number; min: number; max: number; sum: number; count: number; last: number }>();
      const want = expected(samples, bucket);
      expect(got.map((r) => r.t)).toEqual([...want.keys()]);
      for (const r of got) {
        const e = want.get(r.t)!;
        expect({ ...r, sum: Number(r.sum.toFixed(9)) }).toEqual({ t: r.t, ...e, sum: Number(e.sum.toFixed(9)) });
      }
    }
  });

  test('readRange picks raw samples, the 1 m or the 1 h rollup by step, and agrees across them', async () => {
    const db = await migrated('mw_range');
    const handle = handlerFor(db);
    const samples = knownSeries();
    const other = samples.map((s) => ({ ...s, labels: { job: 'api', instance: 'i-2' }, value: s.value + 100 }));
    const noise = samples.map((s) => ({ ...s, name: 'other_metric' }));
    await handle(batch('metrics', 0, 0, [message(samples), message(other, 'host-b'), message(noise)]));
    const reader = new MetricRangeReader(query, db);

    expect([pickResolution(15_000), pickResolution(MINUTE), pickResolution(5 * MINUTE), pickResolution(HOUR), pickResolution(86_400_000)]).toEqual(['raw', '1m', '1m', '1h', '1h']);
    const range = { name: 'load', fromMs: T0, toMs: T0 + 2 * HOUR };
    const raw = await reader.readRange({ ...range, matchers: [{ name: 'instance', op: '=', value: 'i-1' }], stepMs: 15_000 });
    const m1 = await reader.readRange({ ...range, matchers: [{ name: 'instance', op: '=~', value: 'i-1|i-9' }], stepMs: MINUTE });
    const m5 = await reader.readRange({ ...range, matchers: [{ name: 'instance', op: '!=', value: 'i-2' }], stepMs: 5 * MINUTE });
    const h1 = await reader.readRange({ ...range, matchers: [{ name: 'instance', op: '!~', value: 'i-[2-9]' }], stepMs: HOUR });
    expect([raw.resolution, m1.resolution, m5.resolution, h1.resolution]).toEqual(['raw', '1m', '1m', '1h']);
    for (const r of [raw, m1, m5, h1]) {
      expect(r.truncated).toBe(false);
      expect(r.series).toHaveLength(1);
      expect(r.series[0]!.labels).toEqual({ job: 'api', instance: 'i-1' });
    }
    expect(raw.series[0]!.points).toHaveLength(480);
    expect(raw.series[0]!.points[3]).toEqual({ t: T0 + 45_000, min: 2.5, max: 2.5, sum: 2.5, count: 1, last: 2.5 });
    for (const [r, step] of [
      [m1, MINUTE],
      [m5, 5 * MINUTE],
      [h1, HOUR],
    ] as const) {
      const want = expected(samples, step);
      expect(r.series[0]!.points.map((p) => ({ ...p, sum: Number(p.sum.toFixed(9)) }))).toEqual([...want].map(([t, e]) => ({ t, ...e, sum: Number(e.sum.toFixed(9)) })));
    }

    // Both series, bounded: the cap cuts and says so.
    const both = await reader.readRange({ ...range, stepMs: HOUR });
    expect(both.series.map((s) => s.labels.instance).sort()).toEqual(['i-1', 'i-2']);
    const capped = await new MetricRangeReader(query, db, { maxRows: 100 }).readRange({ ...range, stepMs: 15_000 });
    expect(capped.truncated).toBe(true);
    expect(capped.series.reduce((n, s) => n + s.points.length, 0)).toBe(100);
    expect(new MetricRangeReader(query, db).build({ ...range, stepMs: MINUTE }).sql).toMatch(/SETTINGS max_execution_time = \d+/);
    await expect(reader.readRange({ ...range, toMs: T0, stepMs: MINUTE })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(reader.readRange({ ...range, stepMs: MINUTE, matchers: [{ name: 'bad-name', op: '=', value: 'x' }] })).rejects.toMatchObject({ code: 'bad_request' });
  });
});

describe('metric samples through Kafka', () => {
  let brokers: string[];
  let kafka: Kafka;

  beforeAll(() => {
    brokers = testBrokers();
    kafka = new Kafka({ clientId: 'metric-writer-test', brokers, logLevel: logLevel.NOTHING });
  });

  function configFor(database: string, topics: { logs: string; metrics: string; deadletter: string }, groupId: string): PharosConfig {
    return validateConfig({ data_dir: dir, kafka: { brokers, topics }, clickhouse: { database }, pipeline: { warehouse: { group_id: groupId } } });
  }

  async function lag(groupId: string, topic: string): Promise<number> {
    const kadmin = kafka.admin();
    await kadmin.connect();
    try {
      const ends = await kadmin.fetchTopicOffsets(topic);
      const [committed] = await kadmin.fetchOffsets({ groupId, topics: [topic] });
      let total = 0;
      for (const end of ends) {
        const c = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        total += Number(end.high) - Math.max(0, Number(c));
      }
      return total;
    } finally {
      await kadmin.disconnect();
    }
  }

  test('samples and their rollups land exactly once, also when a new group replays the topic', async () => {
    const db = await migrated('mw_kafka');
    const topics = { logs: uniqueTopic('mw-logs'), metrics: uniqueTopic('mw-metrics'), deadletter: uniqueTopic('mw-dlq') };
    await createTopics(brokers, [topics.logs, topics.metrics, topics.deadletter], 3);
    const first = configFor(db, topics, uniqueTopic('mw-group'));
    const bus = new KafkaBus(createKafka(first.kafka, log, brokers), brokers, log);
    const producer = await bus.producer();
    try {
      // 12 series over 4 instances (so several partitions), 100 samples each.
      for (let inst = 0; inst < 4; inst++) {
        const samples: MetricSample[] = [];
        for (let s = 0; s < 3; s++) {
          for (let i = 0; i < 100; i++) samples.push({ name: `m_${s}`, labels: { job: 'j', instance: `i-${inst}` }, timestampMs: T0 + i * 10_000, value: i, type: 'counter' });
        }
        await producer.send(topics.metrics, [message(samples.slice(0, 150), `i-${inst}`), message(samples.slice(150), `i-${inst}`)]);
      }
      await producer.send(topics.metrics, [{ key: Buffer.from('i-0'), value: Buffer.from([0x0a, 0xff, 0xff]), headers: wireHeaders() }]);
      for (const groupConfig of [first, configFor(db, topics, uniqueTopic('mw-replay'))]) {
        const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config: groupConfig, log, registry: createRegistry() });
        try {
          await waitFor('the writer caught up', async () => (await lag(groupConfig.pipeline.warehouse.group_id, topics.metrics)) === 0, 60_000, 200);
        } finally {
          await writer.stop();
        }
        expect(await one<{ n: number; u: number }>(`SELECT toUInt32(count()) AS n, toUInt32(uniqExact(Fingerprint, Timestamp)) AS u FROM ${db}.metric_samples`)).toEqual({ n: 1200, u: 1200 });
        expect(await one<{ n: number }>(`SELECT toUInt32(sum(Count)) AS n FROM ${db}.metric_rollup_1m`)).toEqual({ n: 1200 });
        expect(await one<{ n: number }>(`SELECT toUInt32(sum(Count)) AS n FROM ${db}.metric_rollup_1h`)).toEqual({ n: 1200 });
      }
    } finally {
      await producer.close();
      await bus.close();
    }
  });
});
