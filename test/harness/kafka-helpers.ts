/** What tests use to reach the run's shared Kafka broker (started by test/harness/kafka.ts). */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';
import { waitFor } from './wait.js';

export function testBrokers(): string[] {
  const provided = inject('kafkaBrokers');
  if (provided && provided.length > 0) return provided;
  const fromEnv = process.env.PHAROS_TEST_KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (fromEnv.length > 0) return fromEnv;
  throw new Error('no test Kafka broker: run the tests through vitest.config.ts (its globalSetup starts one) or set PHAROS_TEST_KAFKA_BROKERS');
}

/** A topic name no other test (nor an earlier run against the same broker) uses. */
export function uniqueTopic(prefix: string): string {
  // '.' and '_' collide in Kafka's metric names, so only '-' joins the parts.
  const clean = prefix.replace(/[^A-Za-z0-9.-]/g, '-');
  return `${clean}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export async function createTopics(brokers: string[], topics: string[], partitions = 3, configs: Record<string, string> = {}): Promise<void> {
  const admin = new Kafka({ clientId: 'pharos-test-admin', brokers, logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) })),
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Environment for a spawned `pharos` on the shared broker with topics and consumer groups of its
 * own: two test files running `pharos all` at once would otherwise split the `pharos-warehouse`
 * group's partitions between them, and each would write the other's lines into its own warehouse.
 */
export function isolatedKafkaEnv(prefix: string, brokers: string[] = testBrokers()): Record<string, string> {
  return {
    PHAROS_KAFKA__BROKERS: brokers.join(','),
    PHAROS_KAFKA__TOPICS__LOGS: uniqueTopic(`${prefix}-logs`),
    PHAROS_KAFKA__TOPICS__METRICS: uniqueTopic(`${prefix}-metrics`),
    PHAROS_KAFKA__TOPICS__ALERTS: uniqueTopic(`${prefix}-alerts`),
    PHAROS_KAFKA__TOPICS__DEADLETTER: uniqueTopic(`${prefix}-deadletter`),
    PHAROS_ALERTS__STATE_TOPIC: uniqueTopic(`${prefix}-alerts-state`),
    PHAROS_PIPELINE__WAREHOUSE__GROUP_ID: uniqueTopic(`${prefix}-warehouse`),
    PHAROS_ALERTS__LEADER_GROUP: uniqueTopic(`${prefix}-alerts-leader`),
  };
}

/**
 * Everything on `topic` from the beginning, by a kafkajs consumer of a group of its own: at
 * least `expected` messages, then whatever else the topic holds (a duplicate arrives with the
 * same fetches), in each partition's order.
 */
export async function readTopic(kafka: Kafka, topic: string, expected: number): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const consumer = kafka.consumer({ groupId: uniqueTopic('test-reader'), maxWaitTimeInMs: 100 });
  const out: Array<{ partition: number; message: KafkaMessage }> = [];
  await consumer.connect();
  const admin = kafka.admin();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void out.push({ partition, message }) });
    await waitFor(`${expected} messages on ${topic}`, () => out.length >= expected, 30_000);
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    const total = offsets.reduce((n, o) => n + Number(o.high), 0);
    await waitFor(`all ${total} messages read`, () => out.length >= total, 10_000);
  } finally {
    await consumer.disconnect();
    await admin.disconnect().catch(() => {});
  }
  return out;
}
