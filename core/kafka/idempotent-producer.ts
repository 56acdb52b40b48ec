/**
 * The idempotent Kafka producer behind every Pharos `BusProducer` (acks from all in-sync
 * replicas, a producer id and per-partition sequence numbers, so a retried batch is written
 * once), with batches that can be prepared ahead of their send.
 *
 * Why not kafkajs's producer: it encodes and compresses a batch only once its send begins, on
 * the event loop, and the collector sends one batch at a time (the checkpoint invariant), so
 * every send waited for its own encoding and compression: 6–7 ms a send in
 * `npm run bench:collector`, of which the broker took 1.4–2.3 ms (its request log). Here the
 * sink prepares batch n+1 (records encoded once, gzip on the thread pool) while batch n is on
 * the wire, and a send is the network and the broker alone.
 *
 * What kafkajs still does: connections, TLS, SASL, metadata, and the InitProducerId request,
 * through its Cluster (an internal of kafkajs 2.2.4, pinned by the lockfile; the producer's
 * tests run against a real broker and fail if that internal changes).
 *
 * Delivery semantics, as the Java client's:
 * - One send at a time per producer: a partition's sequence advances only on its
 *   acknowledgement, and a failed batch is retried with the same producer id and sequence, so
 *   the broker recognises a batch that landed although its answer was lost (a duplicate answer
 *   counts as success).
 * - A partition the broker acknowledged is never sent again by a retry of the same messages
 *   (they are remembered), even when another partition of the same send failed.
 * - When the broker has forgotten the producer (unknown producer id, out-of-order sequence,
 *   invalid epoch), a new producer id is taken and sequences start over.
 * - Retriable errors (connection, leadership, not enough replicas, timeouts) are retried with
 *   capped exponential backoff, `retry.retries` times, then the send rejects; others reject at once.
 */
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { BusMessage, BusProducer, PreparedSend } from '../bus/bus.js';
import { partitionForKey } from '../bus/bus.js';
import type { Logger } from '../log.js';
import { produceRequest, type PartitionResult, type ProtocolRequest } from './produce-request.js';
import { buildBatch, sealBatch, type BatchCodec, type UnsealedBatch } from './record-batch.js';

const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => Error & { type: string; retriable: boolean } };
const InstrumentationEventEmitter = require('kafkajs/src/instrumentation/emitter') as new () => unknown;

interface KafkajsBroker {
  initProducerId(args: { transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  connectionPool: { send(request: ProtocolRequest): Promise<PartitionResult[]> };
  disconnect(): Promise<void>;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number; partitionErrorCode: number }>;
  findBroker(args: { nodeId: number }): Promise<KafkajsBroker>;
  findControllerBroker(): Promise<KafkajsBroker>;
}

/** kafkajs's Kafka builds its Cluster with a private method; the symbol is found by its description. */
function createCluster(kafka: Kafka): KafkajsCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!key) throw new Error('kafkajs: its Cluster factory was not found (the pinned kafkajs 2.2.4 has it)');
  const create = (kafka as unknown as Record<symbol, (opts: object) => KafkajsCluster>)[key]!;
  return create({ metadataMaxAge: 300_000, allowAutoTopicCreation: false, maxInFlightRequests: null, instrumentationEmitter: new InstrumentationEventEmitter() });
}

const DUPLICATE_SEQUENCE_NUMBER = 46;
/** The batch is larger than the topic takes (its max.message.bytes): sent again in halves. */
const BATCH_TOO_LARGE = new Set([10 /* MESSAGE_TOO_LARGE */, 18 /* RECORD_LIST_TOO_LARGE */]);
/** The broker no longer knows this producer's state: start over with a new producer id. */
const PRODUCER_STATE_LOST = new Set([45 /* OUT_OF_ORDER_SEQUENCE_NUMBER */, 47 /* INVALID_PRODUCER_EPOCH */, 59 /* UNKNOWN_PRODUCER_ID */]);
const SEQUENCE_MASK = 0x7fffffff; // sequences wrap at Integer.MAX_VALUE, as the broker's do

export interface IdempotentProducerOptions {
  codec: BatchCodec;
  gzipLevel: number;
  log: Logger;
  /** How long the broker may wait for in-sync replicas before answering. */
  timeoutMs?: number;
  retry?: { retries: number; initialMs: number; maxMs: number };
}

/** One record batch of a partition's messages. */
interface SubBatch {
  messages: BusMessage[];
  batch: UnsealedBatch;
}

/**
 * A partition's messages, as one record batch or, when that would pass what a broker takes in
 * one batch, several: a Produce request carries one batch per partition, so they go in turns.
 */
interface Part {
  partition: number;
  batches: Promise<SubBatch[]>;
}

/**
 * Largest record batch built, compressed bytes: a broker refuses larger ones (message.max.bytes,
 * 1 MiB + 12 by default) and a larger send is split. LZ4 batches are ~1.7× gzip's, and a
 * 15 MB send that fit gzipped did not fit in LZ4 (`npm run bench:warehouse`). A topic set to
 * take less (max.message.bytes) refuses a batch as too large: it is sent again in halves, and
 * the topic's batches are kept under half the refused size from then on.
 */
export const MAX_BATCH_BYTES = 1_000_000;

interface Prepared extends PreparedSend {
  readonly parts: Promise<Part[]>;
}

export class IdempotentProducer implements BusProducer {
  private readonly cluster: KafkajsCluster;
  private producerId: bigint | undefined;
  private producerEpoch = 0;
  /** Next sequence per `topic/partition`. */
  private readonly sequences = new Map<string, number>();
  /** Messages the broker acknowledged: a retry of the same send skips them. */
  private readonly delivered = new WeakSet<BusMessage>();
  private readonly topics = new Set<string>();
  /** Largest batch per topic, where a topic refused a smaller one than MAX_BATCH_BYTES. */
  private readonly batchLimits = new Map<string, number>();
  private connected: Promise<void> | undefined;
  private initializing: Promise<void> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private roundRobin = 0;
  private readonly halt = new AbortController();
  private readonly retry: { retries: number; initialMs: number; maxMs: number };

  constructor(
    kafka: Kafka,
    private readonly opts: IdempotentProducerOptions,
  ) {
    this.cluster = createCluster(kafka);
    this.retry = opts.retry ?? { retries: 8, initialMs: 200, maxMs: 5_000 };
  }

  /** Connects and takes a producer id; rejects if the broker does not answer (callers retry). */
  async connect(): Promise<void> {
    // A fresh broker answers InitProducerId with "coordinator loading" for a moment.
    await this.retrying('connect', () => this.ready());
  }

  /** Partitions and encodes `messages`, and starts their compression: for a `send` of the same array soon after. */
  prepare(topic: string, messages: BusMessage[]): PreparedSend {
    const parts = this.partitionCount(topic).then((count) => this.parts(topic, messages, count));
    // Observed here, so a prepare whose send never comes (a stop) leaves no unhandled rejection.
    parts.catch(() => {});
    const prepared: Prepared = { topic, messages, parts };
    return prepared;
  }

  send(topic: string, messages: BusMessage[], prepared?: PreparedSend): Promise<void> {
    const run = this.tail.then(() => this.deliver(topic, messages, prepared as Prepared | undefined));
    this.tail = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.halt.abort();
    await this.tail;
    await this.cluster.disconnect().catch(() => {});
  }

  private async deliver(topic: string, messages: BusMessage[], prepared: Prepared | undefined): Promise<void> {
    let parts: Part[] | undefined;
    if (prepared && prepared.topic === topic && prepared.messages === messages && !messages.some((m) => this.delivered.has(m))) {
      parts = await prepared.parts.catch(() => undefined);
    }
    await this.retrying(topic, async () => {
      await this.ready();
      await this.addTopic(topic);
      const metadata = this.cluster.findTopicPartitionMetadata(topic);
      const count = metadata.length;
      if (!parts || parts.some((p) => p.partition >= count)) {
        parts = this.parts(
          topic,
          messages.filter((m) => !this.delivered.has(m)),
          count,
        );
      }
      // One request per turn; a partition split into several batches sends the next in the next turn.
      while (parts.length > 0) {
        const { left, failure } = await this.sendParts(topic, parts, metadata);
        // Only what is left goes again: a batch acknowledged here is never sent twice.
        parts = left;
        if (failure) throw failure;
      }
    });
  }

  /** Runs `attempt` until it resolves; retriable failures are retried with backoff, `retry.retries` times. */
  private async retrying(what: string, attempt: () => Promise<void>): Promise<void> {
    for (let n = 0; ; n++) {
      if (this.halt.signal.aborted) throw new Error('kafka producer is closed: messages not sent');
      try {
        return await attempt();
      } catch (err) {
        if (this.halt.signal.aborted) throw err;
        const e = err as Error & { retriable?: boolean };
        if (e.retriable === false || n >= this.retry.retries) throw err;
        // Leadership moved, a broker restarted, or a connection broke: learn the cluster again.
        await this.cluster.refreshMetadata().catch(() => {});
        const delay = this.backoff(n);
        this.opts.log.debug({ topic: what, attempt: n + 1, retry_in_ms: delay, err: e.message }, 'kafka request failed: retrying');
        await sleep(delay, undefined, { signal: this.halt.signal }).catch(() => {});
      }
    }
  }

  /** Sends each part to its partition's leader; returns the parts still to send, and the first error. */
  private async sendParts(topic: string, parts: Part[], metadata: ReturnType<KafkajsCluster['findTopicPartitionMetadata']>): Promise<{ left: Part[]; failure: Error | undefined }> {
    const byLeader = new Map<number, Part[]>();
    for (const part of parts) {
      const meta = metadata.find((m) => m.partitionId === part.partition);
      if (!meta || meta.leader < 0 || meta.partitionErrorCode !== 0) throw createErrorFromCode(meta?.partitionErrorCode || 5 /* LEADER_NOT_AVAILABLE */);
      let list = byLeader.get(meta.leader);
      if (!list) byLeader.set(meta.leader, (list = []));
      list.push(part);
    }
    const producerId = this.producerId!;
    const epoch = this.producerEpoch;
    const left: Part[] = [];
    let failure: Error | undefined;
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        try {
          const batches = await Promise.all(list.map((p) => p.batches));
          const sealed = list.map((p, i) => ({ partition: p.partition, batch: sealBatch(batches[i]![0]!.batch, producerId, epoch, this.sequences.get(`${topic}/${p.partition}`) ?? 0) }));
          const broker = await this.cluster.findBroker({ nodeId: leader });
          let results: PartitionResult[];
          try {
            results = await broker.connectionPool.send(produceRequest(topic, sealed, -1, this.opts.timeoutMs ?? 30_000));
          } catch (err) {
            if ((err as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect().catch(() => {});
            throw err;
          }
          for (const [i, part] of list.entries()) {
            const code = results.find((r) => r.partition === part.partition)?.errorCode ?? 13; /* NETWORK_EXCEPTION: no answer for it */
            const [first, ...rest] = batches[i]!;
            if (code === 0 || code === DUPLICATE_SEQUENCE_NUMBER) {
              const key = `${topic}/${part.partition}`;
              this.sequences.set(key, ((this.sequences.get(key) ?? 0) + first!.messages.length) & SEQUENCE_MASK);
              for (const m of first!.messages) this.delivered.add(m);
              if (rest.length > 0) left.push({ partition: part.partition, batches: Promise.resolve(rest) });
              continue;
            }
            if (BATCH_TOO_LARGE.has(code) && first!.messages.length > 1) {
              // Not a failure: the same messages go again in smaller batches, in order, in the next turn.
              const limit = Math.max(1, first!.batch.bytes.length >> 1);
              if (limit < (this.batchLimits.get(topic) ?? MAX_BATCH_BYTES)) {
                this.batchLimits.set(topic, limit);
                this.opts.log.warn({ topic, partition: part.partition, refused_bytes: first!.batch.bytes.length, batch_limit_bytes: limit }, 'kafka refused a batch as too large for the topic: sending smaller batches');
              }
              const smaller = this.halves(topic, first!.messages, Date.now()).then((split) => [...split, ...rest]);
              smaller.catch(() => {}); // awaited by the next turn
              left.push({ partition: part.partition, batches: smaller });
              continue;
            }
            left.push(part);
            if (PRODUCER_STATE_LOST.has(code)) {
              // The batches stay as they are: sealed again with the new id and sequence 0.
              this.opts.log.warn({ topic, partition: part.partition, error_code: code }, 'kafka lost this producer\'s state: taking a new producer id');
              this.producerId = undefined;
            }
            failure ??= createErrorFromCode(code);
          }
        } catch (err) {
          left.push(...list);
          failure ??= err as Error;
        }
      }),
    );
    // A lost producer state is recovered by the next attempt (a new id), whatever kafkajs thinks of the code.
    if (failure && this.producerId === undefined) (failure as { retriable?: boolean }).retriable = true;
    return { left, failure };
  }

  /** Messages grouped by partition (murmur2 of the key, as Kafka's default partitioner), each group's batch started. */
  private parts(topic: string, messages: BusMessage[], partitions: number): Part[] {
    const groups = new Map<number, BusMessage[]>();
    for (const m of messages) {
      const p = partitionForKey(m.key, partitions, this.roundRobin++);
      let list = groups.get(p);
      if (!list) groups.set(p, (list = []));
      list.push(m);
    }
    const now = Date.now();
    return [...groups].map(([partition, list]) => {
      const batches = this.batches(topic, list, now);
      batches.catch(() => {});
      return { partition, batches };
    });
  }

  /** `messages` as record batches within the topic's limit (a single message's batch may be larger: the broker decides). */
  private async batches(topic: string, messages: BusMessage[], now: number): Promise<SubBatch[]> {
    const batch = await buildBatch(messages, this.opts.codec, this.opts.gzipLevel, now);
    if (batch.bytes.length <= (this.batchLimits.get(topic) ?? MAX_BATCH_BYTES) || messages.length === 1) return [{ messages, batch }];
    return this.halves(topic, messages, now);
  }

  /** Compressed sizes are known only after compressing: halves, until each fits. */
  private async halves(topic: string, messages: BusMessage[], now: number): Promise<SubBatch[]> {
    const mid = messages.length >> 1;
    const [first, second] = await Promise.all([this.batches(topic, messages.slice(0, mid), now), this.batches(topic, messages.slice(mid), now)]);
    return [...first, ...second];
  }

  private async partitionCount(topic: string): Promise<number> {
    await this.ready();
    await this.addTopic(topic);
    return this.cluster.findTopicPartitionMetadata(topic).length;
  }

  private async addTopic(topic: string): Promise<void> {
    if (this.topics.has(topic)) return;
    await this.cluster.addTargetTopic(topic);
    this.topics.add(topic);
  }

  /** Connected, with a producer id (a new one after the broker lost the old one's state). */
  private async ready(): Promise<void> {
    const connected = (this.connected ??= this.cluster.connect());
    try {
      await connected;
    } catch (err) {
      if (this.connected === connected) this.connected = undefined;
      throw err;
    }
    if (this.producerId !== undefined) return;
    // prepare() and a send may both get here: one InitProducerId for both.
    const init = (this.initializing ??= this.initProducerId().finally(() => (this.initializing = undefined)));
    await init;
  }

  private async initProducerId(): Promise<void> {
    await this.cluster.refreshMetadataIfNecessary();
    const broker = await this.cluster.findControllerBroker();
    const { producerId, producerEpoch } = await broker.initProducerId({ transactionTimeout: 60_000 });
    this.producerId = BigInt(producerId);
    this.producerEpoch = producerEpoch;
    this.sequences.clear();
  }

  private backoff(attempt: number): number {
    const step = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** Math.min(attempt, 20));
    return Math.round(step / 2 + (step / 2) * Math.random());
  }
}
