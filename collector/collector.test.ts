import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import type { Bus, BusMessage, BusProducer } from '../core/bus/bus.js';
import { KafkaBus } from '../core/bus/kafka-bus.js';
import { MemoryBus } from '../core/bus/memory-bus.js';
import { decodeLogs, decodeMetrics, WIRE_HEADER } from '../core/codec/codec.js';
import { validateConfig } from '../core/config/load.js';
import type { PharosConfig } from '../core/config/schema.js';
import { createKafka } from '../core/kafka/client.js';
import { silentLogger } from '../core/log.js';
import type { LogRecord, MetricSample } from '../core/model/records.js';
import { RegistryClass, type Registry } from '../core/telemetry/registry.js';
import { testBrokers, uniqueTopic } from '../test/harness/kafka-helpers.js';
import { waitFor } from '../test/harness/wait.js';
import { startCollector, type RunningCollector } from './collector.js';

const TOPIC = 'test.logs';
const log = silentLogger();
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(files: string[], extra: { batch?: Partial<PharosConfig['collector']['batch']>; topic?: string; brokers?: string[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-collector-'));
  const file = join(dir, 'app.log');
  const config = validateConfig({
    node_name: 'test-host',
    data_dir: dir,
    kafka: { topics: { logs: extra.topic ?? TOPIC }, ...(extra.brokers ? { brokers: extra.brokers } : {}) },
    collector: {
      files: [{ include: files.length ? files : [file], service: 'app', start_at: 'beginning' }],
      poll_ms: 20,
      batch: { max_records: 100, linger_ms: 10, ...extra.batch },
      // These tests count what reaches the logs topic; host metrics have their own test.
      host_metrics: { enabled: false },
    },
  });
  return { dir, file, config };
}

async function start(config: PharosConfig, bus: Bus, registry: Registry = new RegistryClass()): Promise<RunningCollector> {
  const collector = await startCollector({ config, bus, log, registry });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await collector.stop();
  });
  return {
    ready: () => collector.ready(),
    acceptingPush: () => collector.acceptingPush(),
    retryAfterSeconds: () => collector.retryAfterSeconds(),
    stop: async () => {
      stopped = true;
      await collector.stop();
    },
  };
}

/** Everything published to the topic on an in-process bus, decoded, in arrival order. */
async function consume(bus: Bus, topic = TOPIC): Promise<{ records: LogRecord[]; messages: Array<{ key: string | null; headers: Record<string, string> }> }> {
  const records: LogRecord[] = [];
  const messages: Array<{ key: string | null; headers: Record<string, string> }> = [];
  const consumer = await bus.consumer({
    groupId: 'test',
    topics: [topic],
    fromBeginning: true,
    eachBatch: async (b) => {
      for (const m of b.messages) {
        messages.push({ key: m.key?.toString() ?? null, headers: m.headers });
        records.push(...decodeLogs(m.value));
      }
    },
  });
  cleanups.push(() => consumer.stop());
  return { records, messages };
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `2026-11-23T10:00:00Z INFO request ${from + i} handled`);

/** Appends in uneven pieces, some ending mid-line, as an application's writes land. */
function writeUnevenly(file: string, ls: string[]): void {
  const all = ls.map((l) => `${l}\n`).join('');
  for (let at = 0, step = 1; at < all.length; at += step, step = (step * 7 + 13) % 4096 || 1) appendFileSync(file, all.slice(at, at + step));
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  return (await m.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

/** A bus whose producer can be made to fail or to hang, in front of a real one. */
class FaultyBus implements Bus {
  readonly kind = 'memory' as const;
  readonly description = 'faulty test bus';
  failuresLeft = 0;
  failed = 0;
  sends = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(private readonly inner: Bus) {}

  hang(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  ensureTopics(topics: string[], partitions: number): Promise<void> {
    return this.inner.ensureTopics(topics, partitions);
  }

  async producer(): Promise<BusProducer> {
    const inner = await this.inner.producer();
    return {
      send: async (topic: string, messages: BusMessage[]) => {
        this.sends++;
        await this.gate;
        if (this.failuresLeft > 0) {
          this.failuresLeft--;
          this.failed++;
          throw new Error('broker unreachable (injected)');
        }
        await inner.send(topic, messages);
      },
      close: () => inner.close(),
    };
  }

  consumer: Bus['consumer'] = (opts) => this.inner.consumer(opts);
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('collector on the in-process bus', () => {
  test('lines written to a file arrive decoded on the topic, each exactly once, in order, keyed by host', async () => {
    const { file, config } = setup([]);
    writeFileSync(file, '');
    const bus = new MemoryBus();
    const out = await consume(bus);
    const registry = new RegistryClass();
    const collector = await start(config, bus, registry);
    const expected = lines(0, 3000);
    writeUnevenly(file, expected);
    await waitFor('3000 records', () => out.records.length >= 3000, 20_000, 10);
    expect(out.records.map((r) => r.body)).toEqual(expected);
    expect(out.records.map((r) => Number(r.attributes['pharos.seq']))).toEqual(expected.map((_, i) => i));
    expect(out.records[0]).toMatchObject({
      severityText: 'INFO',
      resource: { 'service.name': 'app', 'host.name': 'test-host' },
      attributes: { 'log.file.path': file, 'log.file.name': 'app.log', 'pharos.source': `file:${file}` },
    });
    expect(new Set(out.messages.map((m) => m.key))).toEqual(new Set(['test-host']));
    expect(out.messages.every((m) => m.headers[WIRE_HEADER] === 'otlp_proto/1')).toBe(true);
    expect(collector.ready()).toBe(true);
    await waitFor('sent counter', async () => (await metric(registry, 'pharos_component_sent_events_total', { component_id: 'kafka_logs' })) === 3000, 5_000, 10);
    expect(await metric(registry, 'pharos_component_received_events_total', { component_id: 'file:app' })).toBe(3000);
    expect(await metric(registry, 'pharos_collector_files_watched')).toBe(1);
    expect(await metric(registry, 'pharos_acks_outstanding')).toBe(0);
  });

  test('a bus that fails for a while, then recovers: every line arrives, none twice', async () => {
    const { file, config } = setup([]);
    writeFileSync(file, '');
    const memory = new MemoryBus();
    const bus = new FaultyBus(memory);
    const out = await consume(memory);
    const registry = new RegistryClass();
    const collector = await start(config, bus, registry);
    bus.failuresLeft = 4;
    const expected = lines(0, 1000);
    writeUnevenly(file, expected);
    await waitFor('4 failed sends', () => bus.failed === 4, 20_000, 10);
    await waitFor('1000 records', () => out.records.length >= 1000, 20_000, 10);
    expect(out.records.map((r) => r.body)).toEqual(expected);
    expect(await metric(registry, 'pharos_component_errors_total', { component_id: 'kafka_logs', stage: 'sending' })).toBe(4);
    await waitFor('ready again', () => collector.ready(), 5_000, 10);
  });

  test('a bus that hangs stops the reading of files at a bounded distance; when it returns, every line arrives once', async () => {
    const { file, config } = setup([], { batch: { max_records: 100, linger_ms: 0 } });
    const memory = new MemoryBus();
    const bus = new FaultyBus(memory);
    bus.hang();
    const out = await consume(memory);
    const expected = lines(0, 20_000);
    writeFileSync(file, expected.map((l) => `${l}\n`).join(''));
    const registry = new RegistryClass();
    await start(config, bus, registry);
    // 2 batches of 100 outstanding is the bound; the source then waits (one more batch may be in hand).
    await waitFor('sink full', async () => (await metric(registry, 'pharos_acks_outstanding')) >= 200, 10_000, 10);
    const read = await metric(registry, 'pharos_component_received_events_total', { component_id: 'file:app' });
    expect(read).toBeLessThanOrEqual(300);
    expect(await metric(registry, 'pharos_acks_outstanding')).toBeLessThanOrEqual(300);
    bus.release();
    await waitFor('20000 records', () => out.records.length >= 20_000, 30_000, 10);
    expect(out.records.map((r) => r.body)).toEqual(expected);
  });

  test('a bus that refuses every send: batches go to the disk spool (the file is read to its end, checkpoints move), then drain in order', async () => {
    const { file, config } = setup([]);
    const memory = new MemoryBus();
    const bus = new FaultyBus(memory);
    bus.failuresLeft = Number.MAX_SAFE_INTEGER;
    const out = await consume(memory);
    const expected = lines(0, 3000);
    writeFileSync(file, expected.map((l) => `${l}\n`).join(''));
    const registry = new RegistryClass();
    const collector = await start(config, bus, registry);
    // Far beyond the 4-batch in-memory bound: only the spool can have taken them.
    await waitFor('file read to its end', async () => (await metric(registry, 'pharos_component_received_events_total', { component_id: 'file:app' })) === 3000, 20_000, 10);
    await waitFor('all batches spooled', async () => (await metric(registry, 'pharos_acks_outstanding')) === 0, 20_000, 10);
    expect(await metric(registry, 'pharos_collector_spool_batches_written_total')).toBeGreaterThanOrEqual(30);
    expect(await metric(registry, 'pharos_collector_spool_bytes')).toBeGreaterThan(0);
    expect(out.records).toHaveLength(0);
    expect(collector.ready()).toBe(false);
    expect(collector.acceptingPush()).toBe(true);
    bus.failuresLeft = 0;
    await waitFor('3000 records', () => out.records.length >= 3000, 20_000, 10);
    expect(out.records.map((r) => r.body)).toEqual(expected);
    await waitFor('spool drained', async () => (await metric(registry, 'pharos_collector_spool_bytes')) === 0, 5_000, 10);
    // The replayer counts a batch as sent once the spool has acknowledged it, a step after the spool shrank.
    await waitFor('every record counted as sent once', async () => (await metric(registry, 'pharos_component_sent_events_total', { component_id: 'kafka_logs' })) === 3000, 5_000, 10);
    expect(await metric(registry, 'pharos_component_sent_events_total', { component_id: 'kafka_logs' })).toBe(3000);
  });

  test('batches left in the spool at a stop are delivered at the next start, before newer lines, and never read again from the file', async () => {
    const { file, config } = setup([]);
    const memory = new MemoryBus();
    const failing = new FaultyBus(memory);
    failing.failuresLeft = Number.MAX_SAFE_INTEGER;
    const out = await consume(memory);
    writeFileSync(file, lines(0, 2000).map((l) => `${l}\n`).join(''));
    const registry = new RegistryClass();
    const first = await start(config, failing, registry);
    await waitFor('file read and spooled', async () => (await metric(registry, 'pharos_component_received_events_total', { component_id: 'file:app' })) === 2000 && (await metric(registry, 'pharos_acks_outstanding')) === 0, 20_000, 10);
    await first.stop();
    expect(out.records).toHaveLength(0);
    appendFileSync(file, lines(2000, 2500).map((l) => `${l}\n`).join(''));
    await start(config, memory);
    await waitFor('2500 records', () => out.records.length >= 2500, 20_000, 10);
    expect(out.records.map((r) => r.body)).toEqual(lines(0, 2500));
  });

  test('a full spool stops the reading of files and refuses pushes (with a Retry-After hint); nothing is dropped', async () => {
    const { file, config } = setup([]);
    config.collector.spool.max_bytes = 1024 * 1024;
    config.collector.spool.segment_bytes = 256 * 1024;
    const memory = new MemoryBus();
    const bus = new FaultyBus(memory);
    bus.failuresLeft = Number.MAX_SAFE_INTEGER;
    const out = await consume(memory);
    const expected = lines(0, 30_000);
    writeFileSync(file, expected.map((l) => `${l}\n`).join(''));
    const registry = new RegistryClass();
    const collector = await start(config, bus, registry);
    await waitFor('spool full', async () => (await metric(registry, 'pharos_collector_spool_full_total')) === 1, 20_000, 10);
    expect(collector.acceptingPush()).toBe(false);
    expect(collector.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
    expect(await metric(registry, 'pharos_collector_spool_bytes')).toBeLessThanOrEqual(1024 * 1024);
    const read = await metric(registry, 'pharos_component_received_events_total', { component_id: 'file:app' });
    expect(read).toBeLessThan(30_000);
    bus.failuresLeft = 0;
    await waitFor('30000 records', () => out.records.length >= 30_000, 30_000, 10);
    expect(out.records.map((r) => r.body)).toEqual(expected);
    await waitFor('accepting again', () => collector.acceptingPush(), 5_000, 10);
  });

  test('a restart resumes from the acknowledged checkpoint: nothing twice, nothing lost', async () => {
    const { file, config } = setup([]);
    const bus = new MemoryBus();
    const out = await consume(bus);
    writeFileSync(file, lines(0, 500).map((l) => `${l}\n`).join(''));
    const first = await start(config, bus);
    await waitFor('500 records', () => out.records.length >= 500, 10_000, 10);
    await first.stop();
    appendFileSync(file, lines(500, 700).map((l) => `${l}\n`).join(''));
    await start(config, bus);
    appendFileSync(file, lines(700, 800).map((l) => `${l}\n`).join(''));
    await waitFor('800 records', () => out.records.length >= 800, 10_000, 10);
    expect(out.records.map((r) => r.body)).toEqual(lines(0, 800));
  });
});

describe('collector edges', () => {
  test('redacts secrets before a record leaves the host, and parses its own JSON log', async () => {
    const { dir, config: base } = setup([]);
    const file = join(dir, 'svc.log');
    writeFileSync(file, '');
    const config = validateConfig({ ...base, collector: { ...base.collector, files: [{ include: [file], service: 'svc', start_at: 'beginning', parser: 'json' }] } });
    const bus = new MemoryBus();
    const out = await consume(bus);
    const registry = new RegistryClass();
    const collector = await start(config, bus, registry);
    appendFileSync(file, JSON.stringify({ level: 50, time: 1_763_892_000_123, msg: 'login failed for ops@example.com', auth: 'Bearer abc.def.ghi0123456789' }) + '\n');
    await waitFor('the record', () => out.records.length === 1, 10_000, 10);
    const [r] = out.records;
    expect(r!.body).toBe('login failed for [REDACTED]');
    expect(r!.severityText).toBe('ERROR');
    expect(r!.timeUnixNano).toBe(1_763_892_000_123_000_000n);
    expect(r!.attributes.auth).toBe('Bearer [REDACTED]');
    expect(JSON.stringify(out.records, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toMatch(/ops@example\.com|abc\.def/);
    await collector.stop();
  });

  test('publishes host metrics to the metrics topic, labelled with the node', async () => {
    const { config: base } = setup([]);
    const config = validateConfig({ ...base, collector: { ...base.collector, host_metrics: { enabled: true, interval_ms: 1000 } } });
    const bus = new MemoryBus();
    const samples: MetricSample[] = [];
    const consumer = await bus.consumer({
      groupId: 'metrics-test',
      topics: [config.kafka.topics.metrics],
      fromBeginning: true,
      eachBatch: async (b) => {
        for (const m of b.messages) samples.push(...decodeMetrics(m.value));
      },
    });
    const collector = await start(config, bus);
    await waitFor('host metrics', () => samples.some((s) => s.name === 'node_cpu_seconds_total'), 10_000, 10);
    const load = samples.find((s) => s.name === 'node_load1');
    expect(load?.labels).toMatchObject({ job: 'node', instance: 'test-host' });
    expect(samples.some((s) => s.name === 'node_filesystem_avail_bytes' && s.labels.mountpoint === '/')).toBe(true);
    await collector.stop();
    await consumer.stop();
  });
});

describe('collector on Kafka', () => {
  test('5,000 lines written to a file all arrive on the topic exactly once', async () => {
    const brokers = testBrokers();
    const topic = uniqueTopic('collector-logs');
    const { file, config } = setup([], { topic, brokers, batch: { max_records: 1000, linger_ms: 50 } });
    writeFileSync(file, '');
    const bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
    cleanups.push(() => bus.close());
    await bus.ensureTopics([topic], 3);
    await start(config, bus);

    const expected = lines(0, 5000);
    writeUnevenly(file, expected);

    const received: LogRecord[] = [];
    const partitions = new Set<number>();
    const keys = new Set<string | null>();
    const consumer = new Kafka({ clientId: 'collector-test', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueTopic('collector-test') });
    cleanups.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        partitions.add(partition);
        keys.add(message.key?.toString() ?? null);
        received.push(...decodeLogs(message.value!));
      },
    });
    await waitFor('5000 records on the topic', () => received.length >= 5000, 60_000, 50);
    expect(received.map((r) => r.body)).toEqual(expected);
    // One host, one key, one partition: its order holds.
    expect(partitions.size).toBe(1);
    expect(keys).toEqual(new Set(['test-host']));
  });
});
