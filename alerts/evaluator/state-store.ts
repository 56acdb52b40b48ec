/**
 * Alert state kept in a compacted topic, so a restarted (or standby) evaluator continues where
 * the last one stopped: a firing alert stays firing with its `activeAt`/`firedAt`, a pending one
 * keeps counting its `for`. Key = group/rule/fingerprint; value = the alert as JSON; an empty
 * value marks an alert that is gone (the Bus contract carries no null value, so it is not a
 * Kafka tombstone, but compaction still keeps only the latest value per key).
 */
import { randomUUID } from 'node:crypto';
import type { Bus, BusConsumer, BusProducer, ConsumedBatch } from '../../core/bus/bus.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { PharosError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { silentLogger } from '../../core/log.js';
import type { ActiveAlert, Fingerprint } from './alert-state.js';
import { ruleKey, type PersistedAlert } from './group.js';
import type { AlertStateStoreLike } from './evaluator.js';

export const DEFAULT_STATE_TOPIC = 'pharos.alerts.state';

export interface AlertStateStoreOptions {
  bus: Bus;
  /** A compacted topic with one partition. Default `pharos.alerts.state`. */
  topic?: string;
  /** How long restore may take before start-up fails. Default 60 s. */
  restoreTimeoutMs?: number;
  log?: Logger;
}

export class AlertStateStore implements AlertStateStoreLike {
  readonly topic: string;
  private producer?: BusProducer;
  private readonly log: Logger;

  constructor(private readonly opts: AlertStateStoreOptions) {
    this.topic = opts.topic ?? DEFAULT_STATE_TOPIC;
    this.log = opts.log ?? silentLogger();
  }

  /** Creates the topic (compacted on Kafka) if missing. */
  async ensureTopic(): Promise<void> {
    const bus = this.opts.bus;
    if (!(bus instanceof KafkaBus)) return bus.ensureTopics([this.topic], 1);
    const admin = bus.kafka.admin();
    await admin.connect();
    try {
      if ((await admin.listTopics()).includes(this.topic)) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: this.topic, numPartitions: 1, replicationFactor: -1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      });
    } finally {
      await admin.disconnect();
    }
  }

  async save(entries: PersistedAlert[]): Promise<void> {
    if (entries.length === 0) return;
    this.producer ??= await this.opts.bus.producer();
    await this.producer.send(
      this.topic,
      entries.map((e) => ({
        key: Buffer.from(`${ruleKey(e.group, e.rule)}/${e.fingerprint}`),
        value: e.alert ? Buffer.from(JSON.stringify({ group: e.group, rule: e.rule, fingerprint: e.fingerprint, alert: e.alert })) : Buffer.alloc(0),
      })),
    );
  }

  /** Reads the topic to the end seen at start; returns alerts by `ruleKey(group, rule)`. */
  async restore(): Promise<Map<string, Map<Fingerprint, ActiveAlert>>> {
    const latest = new Map<string, PersistedAlert | undefined>();
    const apply = (batch: ConsumedBatch): void => {
      for (const m of batch.messages) {
        const key = m.key?.toString() ?? '';
        if (m.value.length === 0) {
          latest.set(key, undefined);
          continue;
        }
        try {
          latest.set(key, JSON.parse(m.value.toString()) as PersistedAlert);
        } catch {
          this.log.warn({ topic: this.topic, offset: m.offset }, 'unreadable alert state record skipped');
        }
      }
    };
    const bus = this.opts.bus;
    if (bus instanceof KafkaBus) await this.readKafkaToEnd(bus, apply);
    else await this.readMemoryToEnd(bus, apply);
    const out = new Map<string, Map<Fingerprint, ActiveAlert>>();
    for (const e of latest.values()) {
      if (!e?.alert) continue;
      const k = ruleKey(e.group, e.rule);
      let m = out.get(k);
      if (!m) out.set(k, (m = new Map()));
      m.set(e.fingerprint, e.alert);
    }
    if (!(bus instanceof KafkaBus)) {
      // The in-process bus drops what every group has read; writing the state back keeps it for the next restore.
      await this.save([...latest.values()].filter((e): e is PersistedAlert => e?.alert !== undefined));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.producer?.close();
  }

  private async readKafkaToEnd(bus: KafkaBus, apply: (b: ConsumedBatch) => void): Promise<void> {
    const admin = bus.kafka.admin();
    await admin.connect();
    const groupId = `pharos-alert-state-restore-${randomUUID()}`;
    let consumer: BusConsumer | undefined;
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      // Last offset to reach per partition; partitions already at their start have nothing to read.
      const remaining = new Map<number, bigint>();
      for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high) - 1n);
      if (remaining.size === 0) return;
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      consumer = await bus.consumer({
        groupId,
        topics: [this.topic],
        fromBeginning: true,
        eachBatch: async (batch) => {
          const target = remaining.get(batch.partition);
          if (target === undefined) return;
          apply({ ...batch, messages: batch.messages.filter((m) => BigInt(m.offset) <= target) });
          const last = batch.messages[batch.messages.length - 1];
          if (last && BigInt(last.offset) >= target) {
            remaining.delete(batch.partition);
            if (remaining.size === 0) done();
          }
        },
      });
      await this.withTimeout(finished);
    } finally {
      await consumer?.stop();
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
    }
  }

  private async readMemoryToEnd(bus: Bus, apply: (b: ConsumedBatch) => void): Promise<void> {
    let batches = 0;
    const consumer = await bus.consumer({
      groupId: `pharos-alert-state-restore-${randomUUID()}`,
      topics: [this.topic],
      fromBeginning: true,
      eachBatch: async (b) => {
        batches++;
        apply(b);
      },
    });
    // The in-process bus hands over everything it holds within a few turns of the event loop; two
    // turns without a batch means the end was reached.
    let seen = -1;
    while (seen !== batches) {
      seen = batches;
      await new Promise<void>((r) => setImmediate(r));
      await new Promise<void>((r) => setImmediate(r));
    }
    await consumer.stop();
  }

  private async withTimeout(p: Promise<void>): Promise<void> {
    const ms = this.opts.restoreTimeoutMs ?? 60_000;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(
        () => reject(new PharosError('broker_unreachable', `alert state topic ${this.topic} not read to its end within ${ms} ms: evaluator not started`, true)),
        ms,
      );
    });
    try {
      await Promise.race([p, timeout]);
    } finally {
      clearTimeout(t);
    }
  }
}
