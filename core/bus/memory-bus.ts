/**
 * The in-process bus of `pharos all` when no broker is available. Bounded: each partition keeps
 * its messages only until every group that reads the topic has committed past them, and a
 * producer waits while a partition holds more than `maxPending` uncommitted messages — the same
 * backpressure a slow Kafka consumer gives (lag grows), without unbounded memory.
 */
import type { Bus, BusConsumer, BusMessage, BusProducer, ConsumedMessage, ConsumerOptions } from './bus.js';
import { partitionForKey } from './bus.js';

interface Partition {
  /** Offset of messages[0]. */
  base: number;
  messages: ConsumedMessage[];
  waiters: Array<() => void>;
}

interface Topic {
  partitions: Partition[];
  /** groupId → committed offset per partition. */
  groups: Map<string, number[]>;
}

const RETRY_MS = [100, 200, 500, 1000, 2000, 5000];

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly description = 'in-process hand-off (no Kafka broker)';
  private readonly topics = new Map<string, Topic>();
  private roundRobin = 0;
  private readonly spaceWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly defaultPartitions = 1,
    private readonly maxPending = 10_000,
  ) {}

  async ensureTopics(topics: string[], partitions: number): Promise<void> {
    for (const t of topics) this.topic(t, partitions);
  }

  private topic(name: string, partitions = this.defaultPartitions): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = { partitions: Array.from({ length: partitions }, () => ({ base: 0, messages: [], waiters: [] })), groups: new Map() };
      this.topics.set(name, t);
    }
    return t;
  }

  async producer(): Promise<BusProducer> {
    return {
      send: async (topicName: string, messages: BusMessage[]) => {
        const t = this.topic(topicName);
        for (const m of messages) {
          const p = t.partitions[partitionForKey(m.key, t.partitions.length, this.roundRobin++)]!;
          while (!this.closed && t.groups.size > 0 && p.messages.length >= this.maxPending) {
            await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
          }
          p.messages.push({ key: m.key, value: m.value, headers: m.headers ?? {}, offset: String(p.base + p.messages.length), timestampMs: Date.now() });
          for (const w of p.waiters.splice(0)) w();
        }
      },
      close: async () => {},
    };
  }

  async consumer(opts: ConsumerOptions): Promise<BusConsumer> {
    let running = true;
    const loops: Promise<void>[] = [];
    for (const name of opts.topics) {
      const t = this.topic(name);
      const committed = t.groups.get(opts.groupId) ?? t.partitions.map((p) => (opts.fromBeginning ? p.base : p.base + p.messages.length));
      t.groups.set(opts.groupId, committed);
      t.partitions.forEach((p, index) => {
        loops.push(
          (async () => {
            let failures = 0;
            while (running && !this.closed) {
              const start = committed[index]! - p.base;
              if (start >= p.messages.length) {
                await new Promise<void>((resolve) => p.waiters.push(resolve));
                continue;
              }
              const messages = p.messages.slice(start, start + 5000);
              try {
                await opts.eachBatch({ topic: name, partition: index, messages });
                failures = 0;
              } catch {
                // At-least-once: the batch is offered again from the same offset after a backoff.
                await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]));
                continue;
              }
              committed[index] = Number(messages[messages.length - 1]!.offset) + 1;
              this.trim(t, index);
            }
          })(),
        );
      });
    }
    return {
      stop: async () => {
        running = false;
        // Waking every waiter is harmless: other groups' loops find nothing new and wait again.
        for (const name of opts.topics) for (const p of this.topic(name).partitions) for (const w of p.waiters.splice(0)) w();
        await Promise.all(loops);
      },
    };
  }

  /** Drops messages every group has committed, and wakes producers waiting for room. */
  private trim(t: Topic, index: number): void {
    const p = t.partitions[index]!;
    let min = Infinity;
    for (const offsets of t.groups.values()) min = Math.min(min, offsets[index]!);
    const drop = Math.min(min - p.base, p.messages.length);
    if (drop > 0) {
      p.messages.splice(0, drop);
      p.base += drop;
      for (const w of this.spaceWaiters.splice(0)) w();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.topics.values()) for (const p of t.partitions) for (const w of p.waiters.splice(0)) w();
    for (const w of this.spaceWaiters.splice(0)) w();
  }
}
