/**
 * The real-time store's telemetry: each happening is one function that counts and, where a
 * person should know, logs (rate-limited to one line per reason per 10 s with a suppressed
 * count). Metrics are created once, labelled children pre-created so counters start at 0.
 */
import type { Logger } from '../../core/log.js';
import { counter, gauge, type Registry } from '../../core/telemetry/registry.js';
import type { Head } from './tsdb/head.js';
import { REJECT_REASONS } from './tsdb/head.js';

const LOG_EVERY_MS = 10_000;

export interface RealtimeMetrics {
  appended(n: number): void;
  rejected(reason: string, n: number, message: string): void;
  decodeFailed(partition: number, offset: string, err: Error): void;
  replayed(partition: number, messages: number): void;
}

export function realtimeMetrics(registry: Registry, log: Logger, head: Head, now: () => number = Date.now): RealtimeMetrics {
  const appended = counter(registry, 'pharos_realtime_samples_appended_total', 'Samples appended to the real-time store.');
  const rejected = counter(registry, 'pharos_realtime_samples_rejected_total', 'Samples the real-time store refused, by reason.', ['reason']);
  const decodeErrors = counter(registry, 'pharos_realtime_messages_undecodable_total', 'Kafka messages the real-time store could not decode and skipped (the warehouse dead-letters them).');
  const messages = counter(registry, 'pharos_realtime_messages_consumed_total', 'Kafka messages consumed by the real-time store.');
  for (const r of REJECT_REASONS) rejected.labels(r).inc(0);
  gauge(registry, 'pharos_realtime_series', 'Series in the real-time store.', [], function collect() {
    this.set(head.numSeries);
  });
  gauge(registry, 'pharos_realtime_memory_bytes', 'Memory of the real-time store: chunks and index estimate.', ['kind'], function collect() {
    const m = head.memory();
    this.labels('chunks').set(m.chunkBytes);
    this.labels('index').set(m.indexBytes);
  });
  gauge(registry, 'pharos_realtime_bytes_per_sample', 'Encoded chunk bytes per stored sample.', [], function collect() {
    const b = head.memory().bytesPerSample;
    this.set(Number.isFinite(b) ? b : 0);
  });

  const lastLog = new Map<string, { at: number; suppressed: number }>();
  const limited = (key: string, write: (suppressed: number) => void): void => {
    const t = now();
    const prev = lastLog.get(key);
    if (prev && t - prev.at < LOG_EVERY_MS) {
      prev.suppressed++;
      return;
    }
    write(prev?.suppressed ?? 0);
    lastLog.set(key, { at: t, suppressed: 0 });
  };

  return {
    appended(n) {
      if (n > 0) appended.inc(n);
    },
    rejected(reason, n, message) {
      if (n <= 0) return;
      rejected.labels(reason).inc(n);
      // Duplicates are routine (Kafka redelivers after a consumer restart or rebalance): counted, never logged.
      if (reason !== 'duplicate') limited(`rejected:${reason}`, (suppressed) => log.warn({ reason, count: n, suppressed }, message));
    },
    decodeFailed(partition, offset, err) {
      decodeErrors.inc();
      limited('decode', (suppressed) => log.warn({ partition, offset, err: err.message, suppressed }, 'undecodable metrics message skipped'));
    },
    replayed(_partition, n) {
      messages.inc(n);
    },
  };
}
