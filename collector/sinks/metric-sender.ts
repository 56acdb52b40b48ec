/**
 * Publishes metric samples (host metrics, later scrapes) to the metrics topic. Unlike log lines,
 * samples have no file behind them to re-read: while the bus is down they wait in a bounded
 * queue, and past its bound the oldest scrape is discarded — counted and logged, never silently.
 */
import type { Bus, BusProducer } from '../../core/bus/bus.js';
import { encodeMetricBatches, wireHeaders } from '../../core/codec/codec.js';
import type { MetricSample } from '../../core/model/records.js';
import { counter, type Registry } from '../../core/telemetry/registry.js';
import { componentError, componentRecovered, declareErrors, eventsSent, type ComponentTelemetry } from '../events.js';

const BACKOFF_MS = [200, 500, 1000, 2000, 5000];

export interface MetricSenderOptions {
  bus: Bus;
  topic: string;
  /** Kafka key: the host, so a host's samples stay in order inside one partition. */
  key: string;
  telemetry: ComponentTelemetry;
  registry: Registry;
  maxPendingSamples?: number;
}

export class MetricSender {
  private readonly queue: MetricSample[][] = [];
  private pending = 0;
  private producer: BusProducer | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private readonly discarded;
  private readonly max: number;

  constructor(private readonly opts: MetricSenderOptions) {
    this.max = opts.maxPendingSamples ?? 100_000;
    const t = opts.telemetry;
    this.discarded = counter(opts.registry, 'pharos_component_discarded_events_total', 'Events a component discarded, intentionally (filters) or not (buffer full).', [
      'component_kind',
      'component_id',
      'component_type',
      'intentional',
    ]).labels({ component_kind: t.kind, component_id: t.id, component_type: t.type, intentional: 'false' });
    declareErrors(t, [{ error_type: 'request_failed', stage: 'sending' }]);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Queues one scrape's samples; never blocks the caller. */
  enqueue(samples: MetricSample[]): void {
    if (samples.length === 0 || this.stopped) return;
    this.queue.push(samples);
    this.pending += samples.length;
    while (this.pending > this.max && this.queue.length > 1) {
      const dropped = this.queue.shift()!;
      this.pending -= dropped.length;
      this.discarded.inc(dropped.length);
      this.opts.telemetry.log.warn({ dropped: dropped.length, pending: this.pending, max_pending_samples: this.max }, 'metric queue full while the bus is unavailable: oldest scrape discarded');
    }
    this.wake?.();
  }

  healthy(): boolean {
    return !this.failing;
  }

  /** Sends what is queued (bounded wait), then stops. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.race([this.running, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (this.queue.length === 0) {
        if (this.stopped) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      const batch = this.queue[0]!;
      try {
        this.producer ??= await this.opts.bus.producer();
        const messages = encodeMetricBatches(batch).map((bytes) => ({ key: Buffer.from(this.opts.key), value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: wireHeaders() }));
        await this.producer.send(this.opts.topic, messages);
        if (this.queue[0] === batch) {
          this.queue.shift();
          this.pending -= batch.length;
        }
        eventsSent(this.opts.telemetry, batch.length, messages.reduce((n, m) => n + m.value.length, 0));
        if (this.failing) componentRecovered(this.opts.telemetry, 'metrics delivered again', { topic: this.opts.topic });
        this.failing = false;
        attempt = 0;
      } catch (err) {
        this.failing = true;
        componentError(this.opts.telemetry, { error_type: 'request_failed', stage: 'sending', error_code: 'broker_unreachable' }, err, 'sending metrics failed; will retry', { topic: this.opts.topic, pending: this.pending });
        if (this.stopped) return;
        const delay = BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)]!;
        await new Promise<void>((r) => {
          const timer = setTimeout(r, delay);
          this.wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        this.wake = undefined;
      }
    }
  }
}
