/**
 * Pharos monitors itself through itself: every process publishes its own registry (collector
 * throughput, spool bytes, warehouse inserts, consumer lag, query latencies …) to the metrics
 * topic on an interval, as a shipper would. The real-time store, the stack's default alert rules
 * and the "Pharos itself" dashboard then read `pharos_*` series like any other, with no scrape
 * configuration and no token to hand out (a scrape of /metrics would need one once auth is on).
 */
import type { Bus, BusProducer } from '../bus/bus.js';
import { encodeMetricBatches, wireHeaders } from '../codec/codec.js';
import type { Logger } from '../log.js';
import type { MetricSample, MetricType } from '../model/records.js';
import type { Registry } from './registry.js';

export interface SelfPublisherOptions {
  bus: Bus;
  topic: string;
  registry: Registry;
  /** `instance` label: the node's name. */
  instance: string;
  intervalMs: number;
  log: Logger;
  now?: () => number;
}

export interface JsonMetric {
  name: string;
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>;
}

function sampleType(family: string, metricName: string): MetricType {
  if (family === 'counter') return 'counter';
  if (family === 'gauge') return 'gauge';
  const kind = family === 'histogram' ? 'histogram' : 'summary';
  if (metricName.endsWith('_bucket')) return 'histogram_bucket';
  if (metricName.endsWith('_sum')) return `${kind}_sum`;
  if (metricName.endsWith('_count')) return `${kind}_count`;
  return family === 'summary' ? 'summary' : 'unknown';
}

/** The registry as samples: one per value, labels as strings, `job="pharos"` and `instance` added. */
export async function registrySamples(registry: Registry, instance: string, timestampMs: number): Promise<MetricSample[]> {
  return ((await registry.getMetricsAsJSON()) as unknown as JsonMetric[]).flatMap((m) => metricSamples(m, instance, timestampMs));
}

/** One metric (`registry.getSingleMetric(name).get()`) as samples, labelled as `registrySamples` labels them. */
export function metricSamples(m: JsonMetric, instance: string, timestampMs: number): MetricSample[] {
  const out: MetricSample[] = [];
  for (const v of m.values) {
    if (!Number.isFinite(v.value) && !Number.isNaN(v.value)) continue;
    const name = v.metricName ?? m.name;
    const labels: Record<string, string> = { job: 'pharos', instance };
    for (const [k, x] of Object.entries(v.labels)) if (x !== undefined) labels[k] = String(x);
    out.push({ name, labels, timestampMs, value: v.value, type: sampleType(m.type, name) });
  }
  return out;
}

export function startSelfPublisher(opts: SelfPublisherOptions): { stop(): Promise<void> } {
  const now = opts.now ?? Date.now;
  let producer: BusProducer | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;
  const publish = async () => {
    try {
      const samples = await registrySamples(opts.registry, opts.instance, now());
      producer ??= await opts.bus.producer();
      const messages = encodeMetricBatches(samples).map((value) => ({ key: Buffer.from(`pharos/${opts.instance}`), value: Buffer.from(value), headers: wireHeaders() }));
      await producer.send(opts.topic, messages);
      failures = 0;
    } catch (err) {
      // A missed round is replaced by the next one (the registry is cumulative): log, do not queue.
      if (failures++ % 20 === 0) opts.log.warn({ err: (err as Error).message, failures }, "could not publish this process's own metrics; will try again");
    }
  };
  const timer = setInterval(() => {
    running ??= publish().finally(() => (running = undefined));
  }, opts.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
