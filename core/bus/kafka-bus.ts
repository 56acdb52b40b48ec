/**
 * The Kafka bus: kafkajs with the idempotent producer (acks from all in-sync replicas) and
 * consumers that commit a partition's offsets only after its batch handler resolved.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { PharosConfig } from '../config/schema.js';
import { PharosError } from '../errors.js';
import { IdempotentProducer } from '../kafka/idempotent-producer.js';
import { brokerRetryDelay, untilBrokerAnswers } from '../kafka/until-broker-answers.js';
import type { Logger } from '../log.js';
import { gauge, type Registry } from '../telemetry/registry.js';
import type { Gauge } from 'prom-client';
import type { Bus, BusConsumer, BusProducer, ConsumedMessage, ConsumerOptions } from './bus.js';

const RETRY_MS = [200, 500, 1000, 2000, 5000];

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  readonly description: string;
  private readonly closers: Array<() => Promise<void>> = [];
  private closed = false;
  private readonly lag: Gauge<'group' | 'topic' | 'partition'> | undefined;

  constructor(
    /** The kafkajs client, for what the bus contract does not cover (offsets by timestamp). */
    readonly kafka: Kafka,
    brokers: string[],
    private readonly log: Logger,
    registry?: Registry,
    private readonly options: { compression?: PharosConfig['kafka']['compression']; compressionLevel?: number } = {},
  ) {
    this.lag = registry ? gauge(registry, 'pharos_kafka_consumer_lag', 'Messages of a partition not yet consumed by the group, after its last batch.', ['group', 'topic', 'partition']) : undefined;
    this.description = `kafka at ${brokers.join(',')}`;
  }

  /** Runs `attempt` until it succeeds or the bus is closed; every failure is logged with what it was for. */
  private untilBrokerAnswers<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    return untilBrokerAnswers(this.log, what, attempt, () => this.closed);
  }

  async ensureTopics(topics: string[], partitions: number): Promise<void> {
    await this.untilBrokerAnswers(`creating topics ${topics.join(', ')}`, () => this.createMissingTopics(topics, partitions));
  }

  private async createMissingTopics(topics: string[], partitions: number): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
        });
        this.log.info({ topics: missing, partitions }, 'created topics');
      }
    } finally {
      await admin.disconnect();
    }
  }

  async producer(): Promise<BusProducer> {
    const producer = new IdempotentProducer(this.kafka, { codec: this.options.compression ?? 'lz4', gzipLevel: this.options.compressionLevel ?? 1, log: this.log });
    await this.untilBrokerAnswers('connecting the producer', () => producer.connect());
    const close = async () => producer.close();
    this.closers.push(close);
    return producer;
  }

  async consumer(opts: ConsumerOptions): Promise<BusConsumer> {
    let current: Consumer | undefined;
    let restarts = 0;
    const start = async (): Promise<void> => {
      const consumer = this.kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false, maxBytes: 16 * 1024 * 1024, ...(opts.fetchBytesPerPartition ? { maxBytesPerPartition: opts.fetchBytesPerPartition } : {}) });
      current = consumer;
      // kafkajs restarts a crashed consumer by itself only after retriable errors; after the others
      // (e.g. its retries exhausted while the broker was down) it stays stopped. Start a new one.
      consumer.on(consumer.events.CRASH, (e) => {
        if (e.payload.restart || this.closed || current !== consumer) return;
        const delay = brokerRetryDelay(restarts++);
        this.log.warn({ group: opts.groupId, retry_in_ms: delay, err: e.payload.error.message }, 'consumer stopped after an error; starting a new one');
        setTimeout(() => {
          void consumer.disconnect().catch(() => {});
          if (!this.closed && current === consumer) void start().catch((err: unknown) => this.log.error({ err }, 'consumer restart failed'));
        }, delay).unref();
      });
      await this.untilBrokerAnswers(`joining consumer group ${opts.groupId}`, async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning });
      });
      await this.run(consumer, opts, () => (restarts = 0));
    };
    await start();
    const stop = async () => current?.disconnect();
    this.closers.push(stop);
    return { stop };
  }

  private async run(consumer: Consumer, opts: ConsumerOptions, onBatch: () => void): Promise<void> {
    const failures = new Map<string, number>();
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsAtOnce ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const messages: ConsumedMessage[] = batch.messages.map((m) => ({
          key: m.key,
          value: m.value ?? Buffer.alloc(0),
          headers: stringHeaders(m.headers),
          offset: m.offset,
          timestampMs: Number(m.timestamp),
        }));
        const id = `${batch.topic}/${batch.partition}`;
        try {
          const stillOwned = async () => {
            // kafkajs sends a heartbeat here only once its interval has passed since the last: after a
            // stall it does, and the coordinator's answer (unknown member, rebalancing) rejects it.
            if (isStale() || !isRunning()) throw new PharosError('partition_revoked', `partition ${id} was revoked from this consumer: not written`, true);
            await heartbeat();
            if (isStale()) throw new PharosError('partition_revoked', `partition ${id} was revoked from this consumer: not written`, true);
          };
          await opts.eachBatch({ topic: batch.topic, partition: batch.partition, messages, stillOwned });
        } catch (err) {
          // Not committed: pause the partition for a backoff, then kafkajs fetches the batch again.
          const n = failures.get(id) ?? 0;
          failures.set(id, n + 1);
          const delay = RETRY_MS[Math.min(n, RETRY_MS.length - 1)]!;
          this.log.warn({ topic: batch.topic, partition: batch.partition, attempt: n + 1, retry_in_ms: delay, err: (err as Error).message }, 'batch handler failed; will retry');
          const resume = pause();
          setTimeout(resume, delay).unref();
          return;
        }
        failures.delete(id);
        const last = batch.messages[batch.messages.length - 1]!.offset;
        resolveOffset(last);
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        onBatch();
        this.lag?.set({ group: opts.groupId, topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
        await heartbeat();
      },
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.closers.splice(0).reverse()) await c().catch(() => {});
  }
}

function stringHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}
