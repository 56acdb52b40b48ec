/**
 * Reads `pharos.logs` and `pharos.alerts` off the bus for the live views, so a line reaches its
 * viewers without waiting for the warehouse's insert.
 *
 * On Kafka this is a plain reader, not a member of the pipeline's groups: a group of its own per
 * process that starts at the end and never commits an offset. Kafka deletes a group with no
 * committed offsets once its last member leaves, so restarts do not pile groups up. The
 * in-process bus keeps nothing between runs; there an ordinary consumer does the same.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Bus, ConsumedBatch } from '../../../core/bus/bus.js';
import { KafkaBus } from '../../../core/bus/kafka-bus.js';
import { checkWireHeaders, decodeLogs } from '../../../core/codec/codec.js';
import type { Logger } from '../../../core/log.js';
import type { LogRow } from '../../../core/model/log-search.js';
import { counter, type Registry } from '../../../core/telemetry/registry.js';
import type { AlertHub } from './alert-hub.js';
import type { LogHub } from './log-hub.js';
import { recordToRow } from './log-row.js';

export interface BusFeedOptions {
  bus: Bus;
  logsTopic: string;
  alertsTopic: string;
  logs: LogHub;
  alerts: AlertHub;
  log: Logger;
  registry: Registry;
}

export interface BusFeed {
  readonly groupId: string;
  stop(): Promise<void>;
}

export async function startBusFeed(opts: BusFeedOptions): Promise<BusFeed> {
  const { bus, log } = opts;
  const groupId = `pharos-dashboard-live-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const undecodable = counter(opts.registry, 'pharos_dashboard_live_undecodable_total', 'Bus messages the live hub could not decode (skipped; the warehouse dead-letters them).', ['topic']);
  let lastWarned = 0;

  const onBatch = (batch: ConsumedBatch): void => {
    if (batch.topic === opts.alertsTopic) {
      for (const m of batch.messages) {
        try {
          opts.alerts.publish(JSON.parse(m.value.toString('utf8')));
        } catch {
          undecodable.inc({ topic: batch.topic });
        }
      }
      return;
    }
    const receivedMs = Date.now();
    const rows: LogRow[] = [];
    for (const m of batch.messages) {
      try {
        checkWireHeaders(m.headers);
        const fallbackNano = BigInt(m.timestampMs) * 1_000_000n;
        for (const r of decodeLogs(m.value)) rows.push(recordToRow(r, fallbackNano));
      } catch (err) {
        undecodable.inc({ topic: batch.topic });
        // A stream of bad messages must not become a stream of warnings.
        if (receivedMs - lastWarned > 60_000) {
          lastWarned = receivedMs;
          log.warn({ topic: batch.topic, partition: batch.partition, offset: m.offset, err: (err as Error).message }, 'live tail skipped a message it could not decode');
        }
      }
    }
    opts.logs.publish(rows, receivedMs);
  };

  const topics = [opts.logsTopic, opts.alertsTopic];
  if (bus instanceof KafkaBus) {
    // Where each partition is to be read from next. With no committed offset, a (re)joining
    // member would start at the end and skip what arrived meanwhile without a word: so the first
    // join starts at the ends as of now (nothing lost while the group forms), and a rejoin after a
    // session timeout continues where this reader was.
    const next = await endOffsets(bus, topics, log);
    const consumer = bus.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const offset = next.get(`${topic}/${partition}`);
          if (offset !== undefined) consumer.seek({ topic, partition, offset });
        }
      }
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const last = batch.messages[batch.messages.length - 1];
        if (last) next.set(`${batch.topic}/${batch.partition}`, (BigInt(last.offset) + 1n).toString());
        onBatch({
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value ?? Buffer.alloc(0), headers: stringHeaders(m.headers), offset: m.offset, timestampMs: Number(m.timestamp) })),
        });
      },
    });
    log.info({ group_id: groupId, topics }, 'live hub reading the bus (no offsets committed)');
    return { groupId, stop: once(() => consumer.disconnect()) };
  }
  const consumer = await bus.consumer({ groupId, topics, fromBeginning: false, eachBatch: async (b) => onBatch(b) });
  log.info({ topics }, 'live hub reading the in-process bus');
  return { groupId, stop: once(() => consumer.stop()) };
}

function stringHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

/** Shutdown calls stop from the process wiring and from the hub's close: the second is a no-op. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/**
 * The end of every partition now. Just after the topics were created their leaders may not be
 * known yet (a retriable error): tried a few times, then the reader starts where the group join
 * puts it (the end at that moment) and says so — a live view is not worth failing the process for.
 */
async function endOffsets(bus: KafkaBus, topics: string[], log: Logger): Promise<Map<string, string>> {
  const next = new Map<string, string>();
  let lastError = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const admin = bus.kafka.admin();
    try {
      await admin.connect();
      for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) next.set(`${topic}/${p.partition}`, p.offset);
      return next;
    } catch (err) {
      lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
  log.warn({ err: lastError }, 'live tail: could not read where the topics end; lines sent while its reader joins may not show live (they are in the history)');
  next.clear();
  return next;
}
