/**
 * Feeds the real-time store from the metrics topic. Each instance reads every partition under a
 * group of its own (replicas never split the data, so a query needs no fan-out); it has no
 * persistence, so on start it replays the window from Kafka and reports caught up once it has
 * read up to the high watermarks seen at start — what `/readyz` waits for.
 *
 * Undecodable messages are counted and skipped here: the warehouse writer dead-letters them.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Bus, BusConsumer, ConsumedBatch } from '../../core/bus/bus.js';
import { checkWireHeaders, decodeMetricsDetailed, type DecodeMetricsOptions } from '../../core/codec/codec.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/telemetry/registry.js';
import { realtimeMetrics } from './events.js';
import type { OffsetsHook } from './kafka-offsets.js';
import type { Querier } from './storage.js';
import type { Head } from './tsdb/head.js';
import { HeadQuerier } from './tsdb/querier.js';

export interface RealtimeIngestConfig {
  /** How often chunks older than the window are dropped. Default 60 s. */
  truncateIntervalMs?: number;
  decode?: DecodeMetricsOptions;
}

export interface RealtimeIngestOptions {
  bus: Bus;
  head: Head;
  topic: string;
  /** Default `pharos-realtime-<node>-<random>`: a fresh group per instance and per start. */
  groupId?: string;
  node?: string;
  log: Logger;
  registry: Registry;
  /** How far back to replay on start. Default the head's window. */
  windowMs?: number;
  config?: RealtimeIngestConfig;
  /**
   * Kafka only (`kafkaOffsets(kafka)`): seek to the window's start by timestamp and know the high
   * watermarks. Without it the group reads from the beginning (samples older than the window
   * are refused as too old) and counts as caught up once its consumer runs.
   */
  offsets?: OffsetsHook;
  now?: () => number;
  /** Called after a batch appended samples: alert rules are evaluated on arrival, not only on their interval. */
  onAppended?: (count: number) => void;
}

export interface RealtimeIngest {
  readonly groupId: string;
  readonly querier: Querier;
  caughtUp(): boolean;
  whenCaughtUp(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRealtimeIngest(opts: RealtimeIngestOptions): Promise<RealtimeIngest> {
  const { bus, head, topic, log, registry } = opts;
  const now = opts.now ?? Date.now;
  const windowMs = opts.windowMs ?? head.windowMs;
  const groupId = opts.groupId ?? `pharos-realtime-${opts.node ?? hostname()}-${randomBytes(4).toString('hex')}`;
  const metrics = realtimeMetrics(registry, log, head, now);
  const decodeOptions = opts.config?.decode ?? {};

  // Set the window's start first, so a replay refuses what truncation would drop anyway.
  head.truncate(now());

  /** Partition → offset that must be read for it to count as caught up. */
  const pending = new Map<number, bigint>();
  let caughtUp = false;
  let markCaughtUp!: () => void;
  const caughtUpPromise = new Promise<void>((resolve) => (markCaughtUp = resolve));
  const checkCaughtUp = (): void => {
    if (!caughtUp && pending.size === 0) {
      caughtUp = true;
      log.info({ group_id: groupId, series: head.numSeries }, 'real-time store caught up');
      markCaughtUp();
    }
  };

  if (opts.offsets) {
    const ranges = await opts.offsets.position(groupId, topic, now() - windowMs);
    for (const r of ranges) if (r.start < r.high) pending.set(r.partition, r.high);
    log.info({ group_id: groupId, topic, ranges: ranges.map((r) => ({ partition: r.partition, start: r.start.toString(), high: r.high.toString() })) }, 'replaying window');
  }

  const onBatch = async (batch: ConsumedBatch): Promise<void> => {
    let appended = 0;
    const rejected = new Map<string, { n: number; message: string }>();
    const reject = (reason: string, n: number, message: string): void => {
      const r = rejected.get(reason);
      if (r) r.n += n;
      else rejected.set(reason, { n, message });
    };
    for (const m of batch.messages) {
      let decoded;
      try {
        checkWireHeaders(m.headers);
        decoded = decodeMetricsDetailed(m.value, decodeOptions);
      } catch (err) {
        metrics.decodeFailed(batch.partition, m.offset, err as Error);
        continue;
      }
      for (const d of decoded.dropped) reject(d.reason, d.count, `data points dropped by the decoder: ${d.reason}`);
      for (const s of decoded.samples) {
        const res = head.append(s);
        if (res.ok) appended++;
        else reject(res.reason, 1, res.message);
      }
    }
    metrics.appended(appended);
    if (appended > 0) opts.onAppended?.(appended);
    metrics.replayed(batch.partition, batch.messages.length);
    for (const [reason, r] of rejected) metrics.rejected(reason, r.n, r.message);
    const last = batch.messages[batch.messages.length - 1];
    const want = pending.get(batch.partition);
    if (last && want !== undefined && BigInt(last.offset) + 1n >= want) {
      pending.delete(batch.partition);
      checkCaughtUp();
    }
  };

  const consumer: BusConsumer = await bus.consumer({ groupId, topics: [topic], fromBeginning: true, eachBatch: onBatch });
  // Nothing to replay (a new or empty topic, or no offsets hook): caught up at once.
  checkCaughtUp();

  const interval = opts.config?.truncateIntervalMs ?? 60_000;
  const timer = setInterval(() => {
    const res = head.truncate(now());
    if (res.removedChunks > 0) log.debug({ ...res, series: head.numSeries }, 'dropped chunks past the window');
  }, interval);
  timer.unref();

  return {
    groupId,
    querier: new HeadQuerier(head),
    caughtUp: () => caughtUp,
    whenCaughtUp: () => caughtUpPromise,
    async stop() {
      clearInterval(timer);
      await consumer.stop();
      await opts.offsets?.release?.(groupId).catch((err: unknown) => log.warn({ group_id: groupId, err: (err as Error).message }, 'could not delete the consumer group; Kafka expires it after offsets.retention.minutes'));
    },
  };
}
