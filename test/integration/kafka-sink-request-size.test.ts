/**
 * A batch whose Kafka request is over the broker's limit (max.message.bytes applies to a whole
 * record batch, compressed): the sink sends it again in halves, in order, learns the size, and
 * nothing is lost or sent twice. Real broker, topic with a 64 KB limit, no compression.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, expect, test } from 'vitest';
import { KafkaSink } from '../../collector/sinks/kafka-sink.js';
import { componentTelemetry } from '../../collector/events.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { RegistryClass } from '../../core/telemetry/registry.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';
import { readTopic } from '../faults/collector-harness.js';

const log = silentLogger();
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function records(from: number, to: number): LogRecord[] {
  const resource = { 'service.name': 'app', 'host.name': 'size-host' };
  return Array.from({ length: to - from }, (_, i) => ({
    timeUnixNano: 0n,
    observedTimeUnixNano: 1n,
    severityNumber: 9,
    severityText: 'INFO',
    body: `line ${from + i} ${'z'.repeat(120)}`,
    resource,
    attributes: { 'pharos.source': 'size-test', 'pharos.seq': from + i },
    traceId: '',
    spanId: '',
    flags: 0,
  }));
}

test('a request over the broker limit goes again in halves: every record arrives once, in order', { timeout: 60_000 }, async () => {
  const brokers = testBrokers();
  const topic = uniqueTopic('sink.size');
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(64 * 1024) }] }] });
  // The partition must have a leader in the metadata every client will fetch before it is used.
  await waitFor('topic metadata', async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => ({ topics: [] }));
    return topics[0]?.partitions[0]?.leader !== undefined && topics[0].partitions[0].leader >= 0;
  }, 10_000);
  await admin.disconnect();

  const config = validateConfig({ kafka: { brokers, compression: 'none' } });
  const bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log, undefined, { compression: 'none' });
  cleanups.push(() => bus.close());
  const registry = new RegistryClass();
  const telemetry = componentTelemetry(registry, log, { kind: 'sink', id: 'kafka_logs', type: 'kafka' });
  // Messages of at most 16 KB; a batch of 2,000 records is ~20 of them, ~330 KB in one request.
  const sink = new KafkaSink({ bus, topic, batch: { max_records: 2000, max_bytes: 4 * 1024 * 1024, linger_ms: 0 }, telemetry, maxMessageBytes: 16 * 1024 });
  sink.start();
  cleanups.push(() => sink.stop());
  const out = await readTopic(brokers, topic);
  cleanups.push(() => out.stop());

  let acked = 0;
  for (let b = 0; b < 3; b++) await sink.send({ records: records(b * 2000, (b + 1) * 2000), bytes: 2000 * 130, ack: () => acked++ });
  await sink.flush();
  expect(acked).toBe(3);
  await waitFor('6000 records read back', () => out.records.length >= 6000, 30_000);
  const seqs = out.records.map((r) => r.attributes['pharos.seq']);
  expect(seqs).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  expect(sink.healthy()).toBe(true);
});
