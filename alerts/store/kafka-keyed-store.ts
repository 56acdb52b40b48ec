/**
 * A KeyedStore on a compacted one-partition Kafka topic: key = the store's key, value = JSON, an
 * empty value = deleted (compaction keeps only the latest value per key). Loading reads the
 * topic to the end seen at the start, so a standby that takes over sees every write the active
 * one made before it died.
 */
import { randomUUID } from 'node:crypto';
import type { BusConsumer, BusProducer } from '../../core/bus/bus.js';
import type { KafkaBus } from '../../core/bus/kafka-bus.js';
import { PharosError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { KeyedStore } from './keyed-store.js';

export async function ensureCompactedTopic(bus: KafkaBus, topic: string): Promise<void> {
  const admin = bus.kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) return;
    await admin
      .createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
      .catch((err: unknown) => {
        // Another evaluator created it at the same moment.
        if (!/already exists/i.test((err as Error).message)) throw err;
      });
  } finally {
    await admin.disconnect();
  }
}

export class KafkaKeyedStore<T> implements KeyedStore<T> {
  private producer?: Promise<BusProducer>;
  private topicReady?: Promise<void>;

  constructor(
    private readonly bus: KafkaBus,
    readonly topic: string,
    private readonly log: Logger,
    private readonly loadTimeoutMs = 60_000,
  ) {}

  private ensureTopic(): Promise<void> {
    this.topicReady ??= ensureCompactedTopic(this.bus, this.topic).catch((err: unknown) => {
      this.topicReady = undefined;
      throw err;
    });
    return this.topicReady;
  }

  async load(): Promise<Map<string, T>> {
    await this.ensureTopic();
    const out = new Map<string, T>();
    const admin = this.bus.kafka.admin();
    await admin.connect();
    const groupId = `pharos-keyed-store-load-${randomUUID()}`;
    let consumer: BusConsumer | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      const remaining = new Map<number, bigint>();
      for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high) - 1n);
      if (remaining.size === 0) return out;
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      consumer = await this.bus.consumer({
        groupId,
        topics: [this.topic],
        fromBeginning: true,
        eachBatch: async (batch) => {
          const target = remaining.get(batch.partition);
          if (target === undefined) return;
          for (const m of batch.messages) {
            if (BigInt(m.offset) > target) break;
            const key = m.key?.toString() ?? '';
            if (m.value.length === 0) {
              out.delete(key);
              continue;
            }
            try {
              out.set(key, JSON.parse(m.value.toString()) as T);
            } catch {
              this.log.warn({ topic: this.topic, offset: m.offset }, 'unreadable record skipped');
            }
          }
          const last = batch.messages[batch.messages.length - 1];
          if (last && BigInt(last.offset) >= target) {
            remaining.delete(batch.partition);
            if (remaining.size === 0) done();
          }
        },
      });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PharosError('broker_unreachable', `topic ${this.topic} not read to its end within ${this.loadTimeoutMs} ms`, true)), this.loadTimeoutMs);
      });
      await Promise.race([finished, timeout]);
      return out;
    } finally {
      clearTimeout(timer);
      await consumer?.stop();
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
    }
  }

  async put(key: string, value: T | undefined): Promise<void> {
    await this.ensureTopic();
    this.producer ??= this.bus.producer().catch((err: unknown) => {
      this.producer = undefined;
      throw err;
    });
    const p = await this.producer;
    await p.send(this.topic, [{ key: Buffer.from(key), value: value === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(value)) }]);
  }

  async close(): Promise<void> {
    if (this.producer) await (await this.producer).close();
  }
}
