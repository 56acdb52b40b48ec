import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Bus, BusMessage, BusProducer, ConsumedBatch, ConsumedMessage } from '../../core/bus/bus.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { MemoryBus } from '../../core/bus/memory-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { encodeLogs, wireHeaders } from '../../core/codec/codec.js';
import { validateConfig } from '../../core/config/load.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { createKafka } from '../../core/kafka/client.js';
import { createLogger, silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { createRegistry, type Registry } from '../../core/telemetry/registry.js';
import { createTopics, testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import { waitFor } from '../../test/harness/wait.js';
import { chunkByDay, logBatchHandler, planInsertUnits, startWarehouseWriter, warehouseMetrics } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-writer-'));
const log = silentLogger();
const base = validateConfig({ data_dir: dir });
const admin = createClickHouse(base, log, 'admin');
const ingest = createClickHouse(base, log, 'ingest');
const DAY_NS = 86_400_000_000_000n;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

afterAll(async () => {
  await Promise.all([admin.close(), ingest.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function records(from: number, count: number, opts: { host?: string; timeNs?: (seq: number) => bigint } = {}): LogRecord[] {
  const resource = { 'service.name': 'writer-test', 'host.name': opts.host ?? 'host-a' };
  return Array.from({ length: count }, (_, i) => {
    const seq = from + i;
    return {
      timeUnixNano: opts.timeNs ? opts.timeNs(seq) : NOW_NS + BigInt(seq) * 1000n,
      observedTimeUnixNano: NOW_NS,
      severityNumber: 9,
      severityText: 'INFO',
      body: `request ${seq} handled`,
      resource,
      attributes: { seq },
      traceId: '',
      spanId: '',
      flags: 0,
    };
  });
}

function message(recs: LogRecord[], key = 'host-a'): BusMessage {
  const bytes = encodeLogs(recs);
  return { key: Buffer.from(key), value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: wireHeaders() };
}

async function migrated(database: string): Promise<string> {
  await migrate(admin, { database, logsTtlDays: 3650, log });
  return database;
}

async function stored(database: string): Promise<{ rows: number; distinct: number }> {
  const rs = await admin.query({ query: `SELECT count() AS n, uniqExact(LogAttributes['seq']) AS u FROM ${database}.otel_logs`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: string; u: string }>();
  return { rows: Number(row!.n), distinct: Number(row!.u) };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

function configFor(database: string, topics: { logs: string; deadletter: string }, groupId: string, brokers: string[] = []): PharosConfig {
  return validateConfig({ data_dir: dir, kafka: { brokers, topics }, clickhouse: { database }, pipeline: { warehouse: { group_id: groupId } } });
}

/** Every message of `topic` the group has not committed yet: 0 once the writer caught up. */
async function lag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    let total = 0;
    for (const end of ends) {
      const c = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
      total += Number(end.high) - Math.max(0, Number(c));
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

describe('planInsertUnits', () => {
  test('a batch nothing recorded is one new unit', () => {
    expect(planInsertUnits(0, 9, [])).toEqual([{ kind: 'new', first: 0, last: 9 }]);
  });

  test('a replay spanning more than was inserted is cut back along the recorded ranges', () => {
    expect(planInsertUnits(0, 14, [{ first: 0, last: 4 }, { first: 5, last: 9 }])).toEqual([
      { kind: 'stored', first: 0, last: 4 },
      { kind: 'replay', first: 5, last: 9 },
      { kind: 'new', first: 10, last: 14 },
    ]);
  });

  test('a replay shorter than a range followed by another is all stored', () => {
    expect(planInsertUnits(0, 2, [{ first: 0, last: 4 }, { first: 5, last: 9 }])).toEqual([{ kind: 'stored', first: 0, last: 2 }]);
  });

  test('a replay shorter than the last recorded range cannot reuse its token', () => {
    expect(planInsertUnits(5, 7, [{ first: 5, last: 9 }])).toEqual([{ kind: 'mismatch', first: 5, last: 7 }]);
  });

  test('a gap before a recorded range is new', () => {
    expect(planInsertUnits(0, 9, [{ first: 5, last: 9 }])).toEqual([
      { kind: 'new', first: 0, last: 4 },
      { kind: 'replay', first: 5, last: 9 },
    ]);
  });
});

describe('chunkByDay', () => {
  test('splits by UTC day in day order, then by row count', () => {
    const row = (body: string) => ({ Body: body }) as never;
    const chunks = chunkByDay(
      [
        { row: row('d2a'), day: 2 },
        { row: row('d1a'), day: 1 },
        { row: row('d2b'), day: 2 },
        { row: row('d2c'), day: 2 },
      ],
      2,
    );
    expect(chunks.map((c) => c.map((r) => r.Body))).toEqual([['d1a'], ['d2a', 'd2b'], ['d2c']]);
  });
});

describe('batch handler against chDB', () => {
  function handlerFor(database: string, registry = createRegistry(), letters: Array<{ topic: string; messages: BusMessage[] }> = [], maxRowsPerInsert = 50_000) {
    const producer: BusProducer = {
      send: async (topic, messages) => {
        letters.push({ topic, messages });
      },
      close: async () => {},
    };
    return logBatchHandler({ clickhouse: ingest, database, deadletterTopic: 'dlq', producer, log, metrics: warehouseMetrics(registry), maxRowsPerInsert });
  }

  function batch(topic: string, partition: number, from: number, messages: BusMessage[]): ConsumedBatch {
    return {
      topic,
      partition,
      messages: messages.map((m, i): ConsumedMessage => ({ key: m.key, value: m.value, headers: m.headers ?? {}, offset: String(from + i), timestampMs: Date.now() })),
    };
  }

  const tenMessages = Array.from({ length: 15 }, (_, i) => message(records(i * 10, 10)));

  test('a replay that spans more offsets than the crashed insert stores every record once', async () => {
    const db = await migrated('w_replay');
    const handle = handlerFor(db);
    await handle(batch('logs', 0, 0, tenMessages.slice(0, 5)));
    await handle(batch('logs', 0, 5, tenMessages.slice(5, 10)));
    // Offsets 5-9 were inserted but, as after a crash, never committed; more arrived meanwhile.
    await handle(batch('logs', 0, 0, tenMessages));
    expect(await stored(db)).toEqual({ rows: 150, distinct: 150 });
    // A new consumer group reading from the beginning changes nothing either.
    await handle(batch('logs', 0, 0, tenMessages));
    expect(await stored(db)).toEqual({ rows: 150, distinct: 150 });
  });

  test('the same range inserted again is deduplicated by its token, and a different range right after is not', async () => {
    const db = await migrated('w_token');
    const handle = handlerFor(db);
    await handle(batch('logs', 1, 0, tenMessages.slice(0, 3)));
    // Drop the ledger so only ClickHouse's token stands between the replay and a duplicate.
    await admin.command({ query: `TRUNCATE TABLE ${db}.warehouse_batches` });
    await handle(batch('logs', 1, 0, tenMessages.slice(0, 3)));
    expect(await stored(db)).toEqual({ rows: 30, distinct: 30 });
    // chDB keeps the last token SET on the session: a next batch must still land.
    await handle(batch('logs', 1, 3, tenMessages.slice(3, 4)));
    await handle(batch('logs', 2, 0, tenMessages.slice(4, 5)));
    expect(await stored(db)).toEqual({ rows: 50, distinct: 50 });
  });

  test('a batch spanning 150 days is split by partition and stored, and replays once', async () => {
    const db = await migrated('w_days');
    const registry = createRegistry();
    const handle = handlerFor(db, registry);
    const old = records(0, 300, { timeNs: (seq) => NOW_NS - BigInt(seq % 150) * DAY_NS });
    const msgs = [message(old.slice(0, 150)), message(old.slice(150))];
    await handle(batch('logs', 0, 0, msgs));
    await admin.command({ query: `TRUNCATE TABLE ${db}.warehouse_batches` });
    await handle(batch('logs', 0, 0, msgs));
    expect(await stored(db)).toEqual({ rows: 300, distinct: 300 });
    const rs = await admin.query({ query: `SELECT uniqExact(_partition_id) AS p FROM ${db}.otel_logs`, format: 'JSONEachRow' });
    expect(Number((await rs.json<{ p: string }>())[0]!.p)).toBe(150);
    // 150 day chunks, twice (the replay is re-sent whole and deduplicated by ClickHouse).
    const durations = await registry.getSingleMetric('pharos_warehouse_insert_duration_seconds')!.get();
    expect(durations.values.find((v) => (v as { metricName?: string }).metricName === 'pharos_warehouse_insert_duration_seconds_count')?.value).toBe(300);
  });

  test('a failed insert rejects the batch, is counted, and the retry stores it once', async () => {
    const db = await migrated('w_fail');
    const registry = createRegistry();
    const handle = handlerFor(db, registry);
    await admin.command({ query: `RENAME TABLE ${db}.otel_logs TO ${db}.otel_logs_away` });
    await expect(handle(batch('logs', 0, 0, tenMessages.slice(0, 2)))).rejects.toMatchObject({ code: 'insert_failed', retryable: true });
    expect(await metricValue(registry, 'pharos_warehouse_insert_errors_total', { table: 'otel_logs' })).toBe(1);
    await admin.command({ query: `RENAME TABLE ${db}.otel_logs_away TO ${db}.otel_logs` });
    // The bus offers the same offsets again, possibly with more behind them.
    await handle(batch('logs', 0, 0, tenMessages.slice(0, 3)));
    expect(await stored(db)).toEqual({ rows: 30, distinct: 30 });
    expect(await metricValue(registry, 'pharos_warehouse_rows_inserted_total', { table: 'otel_logs' })).toBe(30);
    expect(await metricValue(registry, 'pharos_warehouse_last_insert_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  test('a message that does not decode is dead-lettered with its bytes and coordinates, the rest stored', async () => {
    const db = await migrated('w_garbage');
    const registry = createRegistry();
    const letters: Array<{ topic: string; messages: BusMessage[] }> = [];
    const handle = handlerFor(db, registry, letters);
    const garbage: BusMessage = { key: Buffer.from('host-a'), value: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), headers: wireHeaders() };
    const unknownFormat: BusMessage = { ...message(records(900, 1)), headers: { 'pharos-wire': 'otlp_json/1' } };
    await handle(batch('logs', 2, 40, [message(records(0, 10)), garbage, message(records(10, 10)), unknownFormat]));
    expect(await stored(db)).toEqual({ rows: 20, distinct: 20 });
    expect(letters).toHaveLength(1);
    expect(letters[0]!.topic).toBe('dlq');
    const [first, second] = letters[0]!.messages;
    expect(first!.value.equals(garbage.value)).toBe(true);
    expect(first!.headers).toMatchObject({ reason: 'decode_failed', source_topic: 'logs', source_partition: '2', source_offset: '41' });
    expect(second!.headers).toMatchObject({ reason: 'decode_failed', source_offset: '43' });
    expect(await metricValue(registry, 'pharos_warehouse_deadletters_total', { reason: 'decode_failed' })).toBe(2);
  });

  test('inserts 50k rows (throughput printed, not asserted)', async () => {
    const db = await migrated('w_bulk');
    const handle = handlerFor(db);
    const msgs = Array.from({ length: 50 }, (_, i) => message(records(i * 1000, 1000)));
    const started = performance.now();
    await handle(batch('logs', 0, 0, msgs));
    const seconds = (performance.now() - started) / 1000;
    expect(await stored(db)).toEqual({ rows: 50_000, distinct: 50_000 });
    console.info(`warehouse writer: 50,000 rows (decode + rows + insert) in ${seconds.toFixed(2)} s = ${Math.round(50_000 / seconds)} rows/s`);
  });
});

describe('writer on the in-process bus', () => {
  test('stores every record of every partition exactly once and dead-letters garbage', async () => {
    const db = await migrated('w_memory');
    const bus: Bus = new MemoryBus(3);
    const config = configFor(db, { logs: 'logs', deadletter: 'dlq' }, 'warehouse');
    const registry = createRegistry();
    const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config, log, registry });
    const producer = await bus.producer();
    const letters: ConsumedMessage[] = [];
    const dlqReader = await bus.consumer({
      groupId: 'dlq-reader',
      topics: ['dlq'],
      fromBeginning: true,
      eachBatch: async (b) => {
        letters.push(...b.messages);
      },
    });
    try {
      for (let i = 0; i < 20; i++) await producer.send('logs', [message(records(i * 100, 100, { host: `host-${i % 5}` }), `host-${i % 5}`)]);
      await producer.send('logs', [{ key: Buffer.from('host-0'), value: Buffer.from('not protobuf at all') }]);
      for (let i = 20; i < 25; i++) await producer.send('logs', [message(records(i * 100, 100, { host: 'host-0' }), 'host-0')]);
      await waitFor('2,500 rows in otel_logs', async () => (await stored(db)).rows >= 2500);
      await waitFor('one dead letter', () => letters.length === 1);
      expect(await stored(db)).toEqual({ rows: 2500, distinct: 2500 });
      expect(letters[0]!.value.toString()).toBe('not protobuf at all');
      expect(letters[0]!.headers).toMatchObject({ reason: 'decode_failed', source_topic: 'logs' });
      expect(await metricValue(registry, 'pharos_warehouse_rows_inserted_total', { table: 'otel_logs' })).toBe(2500);
    } finally {
      await writer.stop();
      await dlqReader.stop();
      await bus.close();
    }
  });
});

describe('writer on the in-process bus, across restarts', () => {
  test('new records at offsets a previous in-process bus already used are stored, not taken for replays', async () => {
    const db = await migrated('w_memory_restart');
    const config = configFor(db, { logs: 'logs', deadletter: 'dlq' }, 'warehouse');
    // Two process lifetimes of `pharos all` without Kafka: each bus numbers offsets from 0 again.
    for (const [life, from] of [
      [1, 0],
      [2, 1000],
    ] as const) {
      const bus = new MemoryBus(1);
      const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config, log, registry: createRegistry() });
      const producer = await bus.producer();
      try {
        for (let i = 0; i < 5; i++) await producer.send('logs', [message(records(from + i * 10, 10))]);
        await waitFor(`life ${life} stored`, async () => (await stored(db)).rows >= life * 50);
      } finally {
        await writer.stop();
        await bus.close();
      }
    }
    expect(await stored(db)).toEqual({ rows: 100, distinct: 100 });
  });
});

describe('writer on Kafka', () => {
  let brokers: string[];
  let kafka: Kafka;

  beforeAll(() => {
    brokers = testBrokers();
    kafka = new Kafka({ clientId: 'writer-test', brokers, logLevel: logLevel.NOTHING });
  });

  function kafkaBus(config: PharosConfig): KafkaBus {
    return new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
  }

  test('2,000 records land exactly once, also when a new group replays the topic, and garbage is dead-lettered', async () => {
    const db = await migrated('w_kafka');
    const topics = { logs: uniqueTopic('writer-logs'), deadletter: uniqueTopic('writer-dlq') };
    await createTopics(brokers, [topics.logs, topics.deadletter], 3);
    const first = configFor(db, topics, uniqueTopic('writer-group'), brokers);
    const bus = kafkaBus(first);
    const producer = await bus.producer();
    try {
      // 2,000 records in 20 messages over 4 hosts (so several partitions), a garbage message in the middle.
      for (let i = 0; i < 10; i++) await producer.send(topics.logs, [message(records(i * 100, 100, { host: `host-${i % 4}` }), `host-${i % 4}`)]);
      await producer.send(topics.logs, [{ key: Buffer.from('host-1'), value: Buffer.from([0x0a, 0xff, 0xff, 0xff]), headers: wireHeaders() }]);
      for (let i = 10; i < 20; i++) await producer.send(topics.logs, [message(records(i * 100, 100, { host: `host-${i % 4}` }), `host-${i % 4}`)]);

      const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config: first, log, registry: createRegistry() });
      try {
        await waitFor('the writer caught up', async () => (await lag(kafka, first.pipeline.warehouse.group_id, topics.logs)) === 0, 60_000, 200);
      } finally {
        await writer.stop();
      }
      expect(await stored(db)).toEqual({ rows: 2000, distinct: 2000 });

      // As after a crash between the insert and the offset commit: everything is read again.
      const replay = configFor(db, topics, uniqueTopic('writer-replay'), brokers);
      const writer2 = await startWarehouseWriter({ bus, clickhouse: ingest, config: replay, log, registry: createRegistry() });
      try {
        await waitFor('the replaying writer caught up', async () => (await lag(kafka, replay.pipeline.warehouse.group_id, topics.logs)) === 0, 60_000, 200);
      } finally {
        await writer2.stop();
      }
      expect(await stored(db)).toEqual({ rows: 2000, distinct: 2000 });

      const letters: Array<{ value: Buffer; headers: Record<string, string> }> = [];
      const reader = await bus.consumer({
        groupId: uniqueTopic('dlq-reader'),
        topics: [topics.deadletter],
        fromBeginning: true,
        eachBatch: async (b) => {
          letters.push(...b.messages.map((m) => ({ value: m.value, headers: m.headers })));
        },
      });
      try {
        // Both writers dead-lettered it: the dead-letter topic is at-least-once.
        await waitFor('the dead letter', () => letters.length >= 1, 30_000);
      } finally {
        await reader.stop();
      }
      expect(letters[0]!.value.equals(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toBe(true);
      expect(letters[0]!.headers).toMatchObject({ reason: 'decode_failed', source_topic: topics.logs });
      expect(letters[0]!.headers.source_offset).toMatch(/^\d+$/);
      expect(letters[0]!.headers.source_partition).toMatch(/^\d+$/);
    } finally {
      await producer.close();
      await bus.close();
    }
  });

  test('a replay whose batches differ from the inserted ones still stores each record once', async () => {
    const db = await migrated('w_kafka_ledger');
    const topics = { logs: uniqueTopic('ledger-logs'), deadletter: uniqueTopic('ledger-dlq') };
    await createTopics(brokers, [topics.logs, topics.deadletter], 1);
    const group = uniqueTopic('ledger-group');
    const config = configFor(db, topics, group, brokers);
    const bus = kafkaBus(config);
    const producer = await bus.producer();
    try {
      // Two rounds, each read by the writer as its own batch.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 5; i++) await producer.send(topics.logs, [message(records(round * 500 + i * 100, 100))]);
        const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config, log, registry: createRegistry() });
        try {
          await waitFor(`round ${round} stored`, async () => (await lag(kafka, group, topics.logs)) === 0, 60_000, 200);
        } finally {
          await writer.stop();
        }
      }
      expect(await stored(db)).toEqual({ rows: 1000, distinct: 1000 });
      // A new group reads all 10 messages, most likely in one batch spanning both recorded ranges.
      const replay = configFor(db, topics, uniqueTopic('ledger-replay'), brokers);
      const lines: string[] = [];
      const capture = createLogger({
        level: 'debug',
        destination: new Writable({
          write(chunk, _enc, cb) {
            lines.push(String(chunk));
            cb();
          },
        }),
      });
      const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config: replay, log: capture, registry: createRegistry() });
      try {
        await waitFor('replay caught up', async () => (await lag(kafka, replay.pipeline.warehouse.group_id, topics.logs)) === 0, 60_000, 200);
      } finally {
        await writer.stop();
      }
      expect(await stored(db)).toEqual({ rows: 1000, distinct: 1000 });
      // The first round's range was known stored from the ledger and not sent again at all.
      await expect
        .poll(() =>
          lines
            .flatMap((l) => l.split('\n'))
            .filter((l) => l.includes('"batch stored"'))
            .reduce((sum, l) => sum + (JSON.parse(l) as { skipped_messages: number }).skipped_messages, 0),
        )
        .toBe(5);
    } finally {
      await producer.close();
      await bus.close();
    }
  });
});
