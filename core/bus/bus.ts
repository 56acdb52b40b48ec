/**
 * The bus between collectors and consumers. In production it is Kafka; `pharos all` without a
 * broker hands records over in process (as Jaeger's all-in-one does). Both keep the contract the
 * pipeline relies on: per-partition order, keyed partitioning, and offsets committed only after
 * a batch handler resolved (at-least-once; the warehouse's dedup tokens make it exactly-once).
 */
export interface BusMessage {
  key: Buffer | null;
  value: Buffer;
  headers?: Record<string, string>;
  /**
   * The value as consecutive pieces, when its writer built it that way (PiecedMessage): a
   * producer that writes pieces skips joining them. `value` is their concatenation.
   */
  readonly valuePieces?: readonly Buffer[];
}

/**
 * A message whose value is `valuePieces`, joined only if something reads `value` (the memory
 * bus, the spool). The collector's log batches are framed around the records where they were
 * written; joining them cost a copy of every batch (`npm run bench:collector`), and Kafka's
 * producer copies the pieces into its record batch anyway.
 */
export class PiecedMessage implements BusMessage {
  private joined: Buffer | undefined;

  constructor(
    readonly key: Buffer | null,
    readonly valuePieces: readonly Buffer[],
    readonly valueLength: number,
    readonly headers?: Record<string, string>,
  ) {}

  get value(): Buffer {
    return (this.joined ??= Buffer.concat(this.valuePieces, this.valueLength));
  }
}

/** Bytes of `m`'s value, without joining its pieces. */
export function valueLength(m: BusMessage): number {
  return m instanceof PiecedMessage ? m.valueLength : m.value.length;
}

export interface ConsumedMessage {
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
  /** Offset within its partition (a decimal string, as Kafka gives it). */
  offset: string;
  /** Broker or producer timestamp, ms since the epoch. */
  timestampMs: number;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /**
   * Rejects when this consumer may no longer own the partition: a rebalance gave it to another
   * member, or the group dropped this one after it stalled past its session. A handler awaits it
   * right before a side effect it cannot take back (an insert), so a member that woke up late
   * never writes what its successor already wrote. Absent: ownership cannot change (one process).
   */
  stillOwned?: () => Promise<void>;
}

export interface BusProducer {
  /**
   * Resolves once every message is acknowledged (acks from all in-sync replicas on Kafka).
   * `prepared`: what `prepare` returned for the same topic and array.
   */
  send(topic: string, messages: BusMessage[], prepared?: PreparedSend): Promise<void>;
  /**
   * Optional: starts the costly part of a send of `messages` (encoding, compression) now, so it
   * overlaps whatever runs before the send (the collector's sink: the previous batch's round trip).
   */
  prepare?(topic: string, messages: BusMessage[]): PreparedSend;
  close(): Promise<void>;
}

/** A send's work done ahead (BusProducer.prepare); opaque to callers. */
export interface PreparedSend {
  readonly topic: string;
  readonly messages: readonly BusMessage[];
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. */
  fromBeginning: boolean;
  /**
   * Called with the messages of one partition, in order. Offsets up to the batch's last message
   * are committed only after it resolves; a rejection is retried (with backoff) from the same offset.
   */
  eachBatch: (batch: ConsumedBatch) => Promise<void>;
  /** Batches of this many partitions handled at once (each partition's still in order); default 1. */
  partitionsAtOnce?: number;
  /** Most bytes fetched per partition in one request (kafkajs default 1 MiB): bigger batches. */
  fetchBytesPerPartition?: number;
}

export interface BusConsumer {
  stop(): Promise<void>;
}

export interface Bus {
  readonly kind: 'kafka' | 'memory';
  /** For the log line that says which bus was chosen. */
  readonly description: string;
  /** Creates the topics Pharos needs if they do not exist. */
  ensureTopics(topics: string[], partitions: number): Promise<void>;
  producer(): Promise<BusProducer>;
  consumer(opts: ConsumerOptions): Promise<BusConsumer>;
  close(): Promise<void>;
}

/** Partition of a key: murmur2 as Kafka's default partitioner, so both buses place a host alike. */
export function partitionForKey(key: Buffer | null, partitions: number, roundRobin: number): number {
  if (key === null) return roundRobin % partitions;
  return (murmur2(key) & 0x7fffffff) % partitions;
}

// Kafka's Java murmur2 (org.apache.kafka.common.utils.Utils.murmur2), seed 0x9747b28c.
function murmur2(data: Buffer): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const idx = length4 << 2;
  switch (length % 4) {
    case 3:
      h ^= (data[idx + 2]! & 0xff) << 16;
    // falls through
    case 2:
      h ^= (data[idx + 1]! & 0xff) << 8;
    // falls through
    case 1:
      h ^= data[idx]! & 0xff;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
