/**
 * The Kafka sink: batches log records, encodes them as OTLP (core/codec), and publishes them to
 * the logs topic through any Bus. Durability point: `BusProducer.send` resolving (on Kafka,
 * acks from all in-sync replicas); only then are the batches' acknowledgements called, in the
 * order the batches were accepted, so sources move their checkpoints only over delivered data.
 *
 * - Batches close at `max_records`, `max_bytes` (raw line bytes) or `linger_ms` after the first
 *   record waited, whichever comes first; one batch is in flight at a time, which keeps order,
 *   and the next one is encoded meanwhile.
 * - Messages are keyed by `host.name`, so one host's records stay in order in one partition.
 * - A failed send is retried forever with capped, jittered exponential backoff: records are never
 *   dropped. A stop that cannot deliver in time leaves them unacknowledged; they are read again at
 *   the next start (at least once).
 * - `send` waits while the records accepted and not yet acknowledged exceed two batches: the
 *   backpressure that makes file sources stop reading instead of growing memory.
 * - With a disk spool (collector/spool): a batch whose send failed is written to the spool instead
 *   of being retried in place, and its acknowledgements are called once it is fsynced there; while
 *   the spool holds anything, every new batch goes behind it (order is kept), and a replayer sends
 *   the spooled batches oldest first, retrying forever. A full spool holds the loop: sources block
 *   and push endpoints are told to come back later (`accepting`, `retryAfterSeconds`).
 * - A send in progress is never abandoned (the idempotent producer may still land it): a batch is
 *   spooled only once its send has failed, so a recovered broker sees each batch once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MAX_MESSAGE_BYTES, encodeLogBatches, wireHeaders } from '../../core/codec/codec.js';
import { encodeEncodedLogs, type EncodedLogs } from '../../core/codec/encoded-logs.js';
import { PiecedMessage, valueLength, type Bus, type BusMessage, type BusProducer, type PreparedSend } from '../../core/bus/bus.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { PharosError } from '../../core/errors.js';
import type { LogRecord } from '../../core/model/records.js';
import { acksOutstanding, batchSent, componentError, componentRecovered, declareErrors, eventsSent, sendDuration, type ComponentTelemetry } from '../events.js';
import type { DiskSpool } from '../spool/spool.js';

/** Records as objects (push receivers), or already in wire form (file sources: core/codec/encoded-logs.ts). */
export type SinkEntry = {
  /** Raw size, counted against `max_bytes` and the in-flight bound. */
  bytes: number;
  /** Called once the records are acknowledged by the bus; calls follow the order of `send`. */
  ack?: () => void;
} & ({ records: LogRecord[]; encoded?: undefined } | { encoded: EncodedLogs; records?: undefined });

function recordCount(entry: SinkEntry): number {
  return entry.records ? entry.records.length : entry.encoded.ends.length;
}

export interface KafkaSinkOptions {
  bus: Bus;
  topic: string;
  batch: PharosConfig['collector']['batch'];
  telemetry: ComponentTelemetry;
  /** Encoded size at which a batch is split into several messages (Kafka refuses > 1 MB by default). */
  maxMessageBytes?: number;
  /**
   * How many batches' worth of records may be accepted and not yet acknowledged: 2 lets the
   * sources fill the next batch while one is in flight, and bounds memory (each batch is up to
   * `max_records` records held as objects, then encoded).
   */
  maxBatchesOutstanding?: number;
  retry?: { initialMs: number; maxMs: number };
  /** Jitter source; a seeded one makes backoff deterministic in tests. */
  random?: () => number;
  /** Where batches go while Kafka does not take them; without one, failed sends are retried in place. */
  spool?: DiskSpool;
  /**
   * Started after each acknowledgement and awaited before each batch goes out (to Kafka or the
   * spool): the collector saves file checkpoints here, so at most one delivered batch is ever
   * ahead of the saved checkpoints and a crash re-sends at most that one. Calls may overlap.
   */
  beforeDelivery?: () => Promise<void>;
}

const DEFAULT_RETRY = { initialMs: 100, maxMs: 10_000 };
/** Room left in a message for the resource, attributes and framing around one oversized body. */
const RECORD_OVERHEAD_BYTES = 16 * 1024;

interface Queued {
  entry: SinkEntry;
  /** Position in acceptance order; `flush()` waits for an acknowledged position. */
  position: number;
  acceptedAt: number;
}

export class KafkaSink {
  private readonly buffer: Queued[] = [];
  private bufferedRecords = 0;
  private bufferedBytes = 0;
  /** Accepted and not yet acknowledged (buffered or in flight). */
  private outstandingRecords = 0;
  private outstandingBytes = 0;
  private accepted = 0;
  private acknowledged = 0;
  /** Batches up to this position go out without waiting for linger. */
  private flushThrough = 0;
  private readonly flushWaiters: Array<{ through: number; resolve: () => void; reject: (err: Error) => void }> = [];
  private readonly spaceWaiters = new Set<() => void>();
  private wakeLoop: (() => void) | undefined;
  /** Wakes the replayer when a batch was spooled, and the loop when the replayer freed spool room. */
  private wakeReplayer: (() => void) | undefined;
  private wakeSpoolRoom: (() => void) | undefined;
  private producing: Promise<BusProducer> | undefined;
  /** The connected producer, once there is one: batches are prepared on it ahead of their send. */
  private readyProducer: BusProducer | undefined;
  private loopDone: Promise<void> | undefined;
  private replayDone: Promise<void> | undefined;
  private stopping = false;
  /** Aborted when a stop gives up on delivering: retries and waits end. */
  private readonly halt = new AbortController();
  private failure: Error | undefined;
  private failing = false;
  private readonly maxMessageBytes: number;
  /** Bytes of messages per Kafka request; lowered when the broker refuses a request as too large. */
  private sendLimitBytes = Number.POSITIVE_INFINITY;
  private readonly maxOutstandingRecords: number;
  private readonly maxOutstandingBytes: number;
  private readonly retry: { initialMs: number; maxMs: number };
  private readonly random: () => number;
  private readonly t: ComponentTelemetry;

  constructor(private readonly opts: KafkaSinkOptions) {
    this.t = opts.telemetry;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const batches = opts.maxBatchesOutstanding ?? 2;
    this.maxOutstandingRecords = batches * opts.batch.max_records;
    this.maxOutstandingBytes = batches * opts.batch.max_bytes;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.random = opts.random ?? Math.random;
    declareErrors(this.t, [
      { error_type: 'request_failed', stage: 'sending' },
      { error_type: 'encoder_failed', stage: 'processing' },
      { error_type: 'acknowledgement_failed', stage: 'sending' },
      ...(opts.spool ? [{ error_type: 'io_failed' as const, stage: 'sending' as const }] : []),
    ]);
  }

  /** Starts the delivery loop. The producer is created there, with retries: a bus that is down at start is not an error. */
  start(): void {
    this.loopDone ??= this.loop().catch((err: Error) => {
      // Only a broken invariant (an encoder bug) gets here: fail loudly, keep the records unacknowledged.
      this.failure = err;
      componentError(this.t, { error_type: 'encoder_failed', stage: 'processing', error_code: 'internal' }, err, 'kafka sink stopped: records stay unacknowledged and are read again at restart');
      for (const w of this.flushWaiters.splice(0)) w.reject(err);
      for (const w of this.spaceWaiters) w();
    });
    if (this.opts.spool) this.replayDone ??= this.replay();
  }

  /**
   * Whether a push endpoint should take data now: false while stopping, broken, or while Kafka
   * refuses and the spool (if any) is full. A push refused here is answered 503 with Retry-After.
   */
  accepting(): boolean {
    if (this.stopping || this.failure) return false;
    const spool = this.opts.spool;
    if (spool?.full()) return false;
    if (this.failing && !spool) return false;
    return this.outstandingRecords < this.maxOutstandingRecords * 2 && this.outstandingBytes < this.maxOutstandingBytes * 2;
  }

  /** A Retry-After hint (seconds) for pushes refused because `accepting()` is false. */
  retryAfterSeconds(): number {
    return this.failing || this.opts.spool?.full() ? Math.max(1, Math.ceil(this.retry.maxMs / 1000)) : 1;
  }

  /** False while sends fail (the bus is down or refusing) or after the sink broke. */
  healthy(): boolean {
    return !this.failing && this.failure === undefined;
  }

  /**
   * Accepts records for delivery. Waits while too many are outstanding; rejects if `signal`
   * aborts first (the entry is then not accepted) or the sink is stopping.
   */
  async send(entry: SinkEntry, signal?: AbortSignal): Promise<void> {
    while (this.outstandingRecords >= this.maxOutstandingRecords || this.outstandingBytes >= this.maxOutstandingBytes) {
      this.ensureAccepting();
      await this.waitForSpace(signal);
    }
    this.ensureAccepting();
    signal?.throwIfAborted();
    const position = ++this.accepted;
    this.buffer.push({ entry, position, acceptedAt: this.t.now() });
    const count = recordCount(entry);
    this.bufferedRecords += count;
    this.bufferedBytes += entry.bytes;
    this.outstandingRecords += count;
    this.outstandingBytes += entry.bytes;
    acksOutstanding(this.t, this.outstandingRecords);
    this.notify();
  }

  /** Resolves once everything accepted before the call is acknowledged (linger is skipped). */
  async flush(): Promise<void> {
    const through = this.accepted;
    if (this.acknowledged >= through) return;
    if (this.failure) throw this.failure;
    this.flushThrough = Math.max(this.flushThrough, through);
    const done = new Promise<void>((resolve, reject) => this.flushWaiters.push({ through, resolve, reject }));
    this.notify();
    await done;
  }

  /**
   * Flushes, then stops. After `timeoutMs` it gives up on what is still unacknowledged (nothing is
   * lost: sources did not checkpoint it) and closes the producer.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopping = true;
    for (const w of this.spaceWaiters) w();
    let timer: NodeJS.Timeout | undefined;
    const delivered = await Promise.race([
      this.flush().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!delivered && this.outstandingRecords > 0) {
      this.t.log.warn({ unacknowledged_records: this.outstandingRecords, timeout_ms: timeoutMs }, 'stopping with records not acknowledged: they are read again at the next start');
    }
    this.halt.abort();
    this.notify();
    this.wakeReplayer?.();
    this.wakeSpoolRoom?.();
    await this.loopDone;
    await this.replayDone;
    const producer = await this.producing?.catch(() => undefined);
    await producer?.close().catch(() => {});
    this.producing = undefined;
    this.readyProducer = undefined;
  }

  private ensureAccepting(): void {
    if (this.failure) throw this.failure;
    if (this.stopping) throw new PharosError('internal', 'kafka sink is stopping: batch not accepted (it is read again at the next start)');
  }

  private waitForSpace(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.spaceWaiters.delete(wake);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const wake = () => {
        this.spaceWaiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted) return onAbort();
      this.spaceWaiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private notify(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  private idle(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.notify(), Math.max(0, ms));
      this.wakeLoop = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Takes and encodes batches in order, and hands each to `dispatch` once the one before it is
   * acknowledged (or spooled): the next batch is encoded while the previous one is on the wire,
   * so encoding and Kafka's round trip overlap instead of adding up (one send at a time still
   * keeps the order, as the idempotent producer needs).
   */
  private async loop(): Promise<void> {
    const { max_records, max_bytes, linger_ms } = this.opts.batch;
    let inFlight: Promise<boolean> | undefined;
    try {
      while (!this.halt.signal.aborted) {
        const head = this.buffer[0];
        if (!head) {
          if (this.stopping) break;
          await this.idle(undefined);
          continue;
        }
        const lingerLeft = head.acceptedAt + linger_ms - this.t.now();
        const due = this.bufferedRecords >= max_records || this.bufferedBytes >= max_bytes || this.flushThrough >= head.position || this.stopping || lingerLeft <= 0;
        if (!due) {
          await this.idle(lingerLeft);
          continue;
        }
        const batch = this.take(max_records, max_bytes);
        const records = batch.reduce((n, q) => n + recordCount(q.entry), 0);
        const messages = this.encode(batch.map((q) => q.entry));
        // Compression starts now, on the thread pool, while the previous batch is on the wire.
        const prepared = messages.length > 0 ? this.readyProducer?.prepare?.(this.opts.topic, messages) : undefined;
        if (inFlight !== undefined && !(await inFlight)) return; // halted: left unacknowledged
        inFlight = this.dispatch(batch, records, messages, prepared);
        inFlight.catch(() => {}); // awaited (and its failure raised) at the next batch or the end
      }
      if (inFlight !== undefined) await inFlight;
    } finally {
      // A halt ends the loop while a delivery may still be settling: never leave it behind unobserved.
      if (inFlight !== undefined) await inFlight.catch(() => {});
    }
  }

  /** Delivers one encoded batch and acknowledges it; false if halted first (left unacknowledged). */
  private async dispatch(batch: Queued[], records: number, messages: BusMessage[], prepared: PreparedSend | undefined): Promise<boolean> {
    await this.opts.beforeDelivery?.().catch(() => {}); // a failed checkpoint save only widens what a crash re-sends
    const outcome = this.opts.spool ? await this.deliverOrSpool(messages, records, this.opts.spool, prepared) : await this.deliver(messages, false, undefined, prepared);
    if (outcome === undefined) return false;
    // A spooled batch counts as sent when the replayer delivers it.
    this.acknowledge(batch, outcome === 'spooled' ? undefined : outcome);
    return true;
  }

  /** Whole entries from the head, up to the limits (always at least one). */
  private take(maxRecords: number, maxBytes: number): Queued[] {
    const out: Queued[] = [];
    let records = 0;
    let bytes = 0;
    while (this.buffer.length > 0) {
      const q = this.buffer[0]!;
      const count = recordCount(q.entry);
      if (out.length > 0 && (records + count > maxRecords || bytes + q.entry.bytes > maxBytes)) break;
      this.buffer.shift();
      records += count;
      bytes += q.entry.bytes;
      out.push(q);
    }
    this.bufferedRecords -= records;
    this.bufferedBytes -= bytes;
    return out;
  }

  /** Messages keyed by `host.name`, so one host's records stay in order in one partition. */
  private encode(entries: SinkEntry[]): BusMessage[] {
    const byHost = new Map<string, { records: LogRecord[]; encoded: EncodedLogs[] }>();
    const groupOf = (resource: LogRecord['resource']) => {
      const host = resource['host.name'];
      const key = typeof host === 'string' ? host : '';
      let group = byHost.get(key);
      if (!group) byHost.set(key, (group = { records: [], encoded: [] }));
      return group;
    };
    for (const entry of entries) {
      if (entry.encoded) groupOf(entry.encoded.resource).encoded.push(entry.encoded);
      else for (const r of entry.records) groupOf(r.resource).records.push(this.fitted(r));
    }
    const headers = wireHeaders();
    const messages: BusMessage[] = [];
    for (const [host, group] of byHost) {
      const key = host === '' ? null : Buffer.from(host);
      for (const bytes of encodeLogBatches(group.records, this.maxMessageBytes)) {
        messages.push({ key, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers });
      }
      for (const m of encodeEncodedLogs(group.encoded, this.maxMessageBytes)) messages.push(new PiecedMessage(key, m.pieces, m.length, headers));
    }
    return messages;
  }

  /**
   * A record whose body alone exceeds a message would be refused by the broker on every retry and
   * stall the sink forever; it is cut to fit instead and tagged, like a line over max_line_bytes.
   */
  private fitted(r: LogRecord): LogRecord {
    const limit = this.maxMessageBytes - RECORD_OVERHEAD_BYTES;
    if (r.body.length <= limit / 3) return r; // a UTF-16 unit is at most 3 UTF-8 bytes
    const bytes = Buffer.from(r.body, 'utf8');
    if (bytes.length <= limit) return r;
    let cut = limit;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    return { ...r, body: bytes.subarray(0, cut).toString('utf8'), attributes: { ...r.attributes, 'log.truncated': true } };
  }

  /**
   * Delivers a batch to Kafka or, once a send of it failed, to the spool; undefined if halted
   * first. Behind a non-empty spool the batch goes to the spool directly, to keep the order.
   */
  private async deliverOrSpool(messages: BusMessage[], records: number, spool: DiskSpool, prepared: PreparedSend | undefined): Promise<number | 'spooled' | undefined> {
    if (messages.length === 0) return 0;
    const progress: SendProgress = { sent: 0 };
    if (spool.isEmpty()) {
      const sent = await this.deliver(messages, true, progress, prepared);
      if (sent !== 'failed') return sent;
    }
    // Only what Kafka did not acknowledge goes to the spool (a batch sent in halves may be half there).
    return (await this.spoolBatch(spool, { records, messages: messages.slice(progress.sent) })) ? 'spooled' : undefined;
  }

  /** Appends to the spool, waiting for room while it is full; false if halted first. */
  private async spoolBatch(spool: DiskSpool, batch: { records: number; messages: BusMessage[] }): Promise<boolean> {
    for (let attempt = 0; !this.halt.signal.aborted; attempt++) {
      try {
        if (await spool.append(batch)) {
          this.wakeReplayer?.();
          return true;
        }
        await this.spoolRoom(1_000);
      } catch (err) {
        // A disk that refuses writes: the batch stays here (the sources stay blocked) and is tried again.
        componentError(this.t, { error_type: 'io_failed', stage: 'sending' }, err, 'cannot write to the spool: retrying', { attempt: attempt + 1 });
        await sleep(this.backoff(attempt), undefined, { signal: this.halt.signal }).catch(() => {});
      }
    }
    return false;
  }

  private spoolRoom(maxWaitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeSpoolRoom === done) this.wakeSpoolRoom = undefined;
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.wakeSpoolRoom = done;
    });
  }

  /** Sends the spooled batches to Kafka, oldest first, each retried until acknowledged. */
  private async replay(): Promise<void> {
    const spool = this.opts.spool!;
    const signal = this.halt.signal;
    for (let failures = 0; !signal.aborted; ) {
      try {
        const batch = await spool.peek();
        if (!batch) {
          await new Promise<void>((resolve) => {
            this.wakeReplayer = () => {
              this.wakeReplayer = undefined;
              resolve();
            };
          });
          continue;
        }
        const sent = await this.deliver(batch.messages, false);
        if (sent === undefined) return;
        await spool.ack(batch.seq);
        eventsSent(this.t, batch.records, sent);
        this.wakeSpoolRoom?.();
        failures = 0;
      } catch (err) {
        // The spool's disk refused a read or the head write: the replayer must outlive it, or the spool only grows.
        componentError(this.t, { error_type: 'io_failed', stage: 'sending' }, err, 'spool replay failed: retrying', { attempt: failures + 1 });
        await sleep(this.backoff(failures++), undefined, { signal }).catch(() => {});
      }
    }
  }

  private producer(): Promise<BusProducer> {
    const p = (this.producing ??= this.opts.bus.producer());
    p.then(
      (producer) => {
        if (this.producing === p) this.readyProducer = producer;
      },
      // A producer that could not connect is created again at the next attempt.
      () => {
        if (this.producing === p) this.producing = undefined;
      },
    );
    return p;
  }

  /**
   * Sends until acknowledged, returning the encoded bytes; undefined if halted first. With
   * `failFast`, the first failed attempt returns 'failed' (the caller spools the batch).
   */
  private async deliver(messages: BusMessage[], failFast: true, progress?: SendProgress, prepared?: PreparedSend): Promise<number | undefined | 'failed'>;
  private async deliver(messages: BusMessage[], failFast: false, progress?: SendProgress, prepared?: PreparedSend): Promise<number | undefined>;
  private async deliver(messages: BusMessage[], failFast: boolean, progress: SendProgress = { sent: 0 }, prepared?: PreparedSend): Promise<number | undefined | 'failed'> {
    const bytes = messages.reduce((n, m) => n + valueLength(m), 0);
    if (messages.length === 0) return 0;
    const signal = this.halt.signal;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) return undefined;
      const started = performance.now();
      try {
        const producer = await abortable(this.producer(), signal);
        while (progress.sent < messages.length) {
          let to = progress.sent + 1;
          for (let bytes = valueLength(messages[progress.sent]!); to < messages.length && bytes + valueLength(messages[to]!) <= this.sendLimitBytes; to++) bytes += valueLength(messages[to]!);
          await abortable(this.sendFitting(producer, messages, progress.sent, to, progress, prepared), signal);
        }
        sendDuration(this.t, (performance.now() - started) / 1000);
        batchSent(this.t);
        if (this.failing) componentRecovered(this.t, 'kafka sends succeed again', { topic: this.opts.topic, attempts: attempt + 1 });
        this.failing = false;
        return bytes;
      } catch (err) {
        if (signal.aborted) return undefined;
        this.failing = true;
        if (failFast) {
          componentError(this.t, { error_type: 'request_failed', stage: 'sending' }, err, 'send to kafka failed: batch written to the disk spool, replayed when kafka takes it', { topic: this.opts.topic, messages: messages.length });
          return 'failed';
        }
        const delay = this.backoff(attempt);
        componentError(this.t, { error_type: 'request_failed', stage: 'sending' }, err, 'send to kafka failed: retrying', {
          topic: this.opts.topic,
          attempt: attempt + 1,
          retry_in_ms: delay,
          messages: messages.length,
        });
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
  }

  /**
   * Sends messages[from, to) as one request; a record batch the broker finds too large (a batch
   * that compressed worse than usual past message.max.bytes) goes again in halves, in order.
   * `progress.sent` moves past each acknowledged part, so a retry never sends a part twice.
   */
  private async sendFitting(producer: BusProducer, messages: BusMessage[], from: number, to: number, progress: SendProgress, prepared?: PreparedSend): Promise<void> {
    try {
      const whole = from === 0 && to === messages.length;
      await producer.send(this.opts.topic, whole ? messages : messages.slice(from, to), whole ? prepared : undefined);
      progress.sent = to;
    } catch (err) {
      if (to - from < 2 || !isTooLarge(err)) throw err;
      // Learned once: later batches go out in requests of at most half what was refused.
      let bytes = 0;
      for (let i = from; i < to; i++) bytes += valueLength(messages[i]!);
      this.sendLimitBytes = Math.min(this.sendLimitBytes, Math.floor(bytes / 2));
      const mid = from + ((to - from) >> 1);
      await this.sendFitting(producer, messages, from, mid, progress);
      await this.sendFitting(producer, messages, mid, to, progress);
    }
  }

  /** Exponential, capped, with "equal jitter": at least half the step, so retries never bunch at 0. */
  private backoff(attempt: number): number {
    const step = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** Math.min(attempt, 30));
    return Math.round(step / 2 + (step / 2) * this.random());
  }

  /** `sentBytes` undefined: the batch went to the spool (durable, not yet sent). */
  private acknowledge(batch: Queued[], sentBytes: number | undefined): void {
    let records = 0;
    let bytes = 0;
    for (const q of batch) {
      records += recordCount(q.entry);
      bytes += q.entry.bytes;
      try {
        q.entry.ack?.();
      } catch (err) {
        componentError(this.t, { error_type: 'acknowledgement_failed', stage: 'sending', error_code: 'internal' }, err, 'acknowledgement callback failed');
      }
      // Delivered (or in the spool's own copy): nothing reads these bytes again.
      q.entry.encoded?.release?.();
      this.acknowledged = q.position;
    }
    this.outstandingRecords -= records;
    this.outstandingBytes -= bytes;
    acksOutstanding(this.t, this.outstandingRecords);
    // Started now, so the checkpoint write overlaps the next batch's preparation; awaited before its delivery.
    void this.opts.beforeDelivery?.().catch(() => {});
    if (sentBytes !== undefined) eventsSent(this.t, records, sentBytes);
    for (const w of [...this.spaceWaiters]) w();
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const w = this.flushWaiters[i]!;
      if (w.through <= this.acknowledged) {
        this.flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

/** How many of a batch's messages Kafka acknowledged so far. */
interface SendProgress {
  sent: number;
}

/** The broker refused a request for its size: kafkajs's protocol error, possibly wrapped. */
function isTooLarge(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}

/** Stops waiting for `p` when `signal` aborts; `p` itself runs on (its outcome is then ignored). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
