/**
 * What the chaos run feeds the stack: numbered log lines appended to a file the collector tails,
 * and numbered metric samples produced to Kafka as a shipper would. Both number what they make,
 * so the end check can say exactly which line or sample is missing or repeated.
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { encodeMetrics, wireHeaders } from '../../core/codec/codec.js';
import type { MetricSample } from '../../core/model/records.js';

/** The line's own text: `chaos run=<run> seq=<n>`, padded to ~200 bytes like a real log line. */
export function chaosLine(run: string, seq: number): string {
  const head = `chaos run=${run} seq=${seq}`;
  return head + ' ' + 'x'.repeat(Math.max(0, 190 - head.length));
}

export class LineGenerator {
  written = 0;
  rotations = 0;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(
    readonly file: string,
    private readonly run: string,
    private linesPerSecond: number,
  ) {
    writeFileSync(file, '');
  }

  private writtenAtStart = 0;

  /** Appends in 50 ms steps, catching up from the start time so a slow step does not lower the rate. */
  start(): void {
    this.startedAt = Date.now();
    this.writtenAtStart = 0;
    this.timer = setInterval(() => this.step(), 50);
  }

  /** Changes the rate from now on (a burst, and back). */
  setRate(linesPerSecond: number): void {
    this.step();
    this.linesPerSecond = linesPerSecond;
    this.startedAt = Date.now();
    this.writtenAtStart = this.written;
  }

  stop(): void {
    clearInterval(this.timer);
    this.step();
    this.timer = undefined;
  }

  /** Rename-and-create, as logrotate does by default: the collector must finish the old file and pick up the new one. */
  rotate(): void {
    this.rotations++;
    renameSync(this.file, `${this.file}.${this.rotations}`);
    writeFileSync(this.file, '');
  }

  private step(): void {
    if (!this.timer) return;
    const due = this.writtenAtStart + Math.floor(((Date.now() - this.startedAt) / 1000) * this.linesPerSecond);
    if (due <= this.written) return;
    const lines: string[] = [];
    for (let seq = this.written + 1; seq <= due; seq++) lines.push(chaosLine(this.run, seq));
    appendFileSync(this.file, lines.join('\n') + '\n');
    this.written = due;
  }
}

export const SEQ_METRIC = 'chaos_seq';
export const SIGNAL_METRIC = 'chaos_alert_signal';

/**
 * One sample per second for each `chaos_seq{run, series}` and the `chaos_alert_signal{run}` the
 * chaos rule watches. Samples wait in an in-memory queue while the broker is down and are sent in
 * order once it is back (the idempotent producer keeps retries from repeating them): like a
 * shipper with a buffer, it must not be the one losing data.
 */
export class MetricGenerator {
  /** Ticks generated; each made `series` samples of chaos_seq. */
  ticks = 0;
  sentMessages = 0;
  private readonly queue: Array<{ tick: number; value: Buffer }> = [];
  /**
   * Ticks whose send failed after it may have reached the broker (the broker was killed under
   * it): sent again, they can be in Kafka twice through no fault of Pharos. The end check
   * reports repeats of these ticks apart from the stack's own.
   */
  readonly ambiguousTicks = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private producer: Producer | undefined;
  private stopped = false;
  signalHigh = false;
  firstTickMs = 0;
  lastTickMs = 0;

  constructor(
    private readonly brokers: string[],
    private readonly topic: string,
    private readonly run: string,
    private readonly series: number,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => this.tick(), 1000);
    this.tick();
  }

  /** Stops ticking and resolves once every queued sample is in Kafka (or `timeoutMs` passed). */
  async stop(timeoutMs = 60_000): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      this.kick();
      await this.sending;
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
    this.stopped = true;
    await this.producer?.disconnect().catch(() => undefined);
    if (this.queue.length > 0) throw new Error(`${this.queue.length} metric messages could not be produced in ${timeoutMs} ms`);
  }

  private tick(): void {
    const ts = Math.floor(Date.now() / 1000) * 1000;
    if (ts <= this.lastTickMs) return;
    this.ticks++;
    if (this.firstTickMs === 0) this.firstTickMs = ts;
    this.lastTickMs = ts;
    const samples: MetricSample[] = [];
    for (let s = 0; s < this.series; s++) {
      samples.push({ name: SEQ_METRIC, labels: { run: this.run, series: `s${s}` }, timestampMs: ts, value: this.ticks, type: 'gauge' });
    }
    samples.push({ name: SIGNAL_METRIC, labels: { run: this.run }, timestampMs: ts, value: this.signalHigh ? 1 : 0, type: 'gauge' });
    this.queue.push({ tick: this.ticks, value: Buffer.from(encodeMetrics(samples)) });
    this.kick();
  }

  private kick(): void {
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      try {
        this.producer ??= await this.connect();
        const batch = this.queue.slice(0, 50);
        try {
          await this.producer.send({ topic: this.topic, acks: -1, messages: batch.map((m) => ({ key: 'chaos', value: m.value, headers: wireHeaders() })) });
        } catch (err) {
          for (const m of batch) this.ambiguousTicks.add(m.tick);
          throw err;
        }
        this.queue.splice(0, batch.length);
        this.sentMessages += batch.length;
      } catch {
        // The broker is down (a fault of the scenario): keep the samples and try again.
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = undefined;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async connect(): Promise<Producer> {
    const kafka = new Kafka({ clientId: 'pharos-chaos-metrics', brokers: this.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 200 } });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    return producer;
  }
}
