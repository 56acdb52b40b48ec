import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/bus/memory-bus.js';
import { encodeMetrics, wireHeaders } from '../../core/codec/codec.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry, type Registry } from '../../core/telemetry/registry.js';
import { waitFor } from '../../test/harness/wait.js';
import { startRealtimeIngest } from './ingest.js';
import { Head } from './tsdb/head.js';

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

describe('real-time ingest on the in-process bus', () => {
  it('is ready once its consumer runs, stores stale markers and counts what it refuses, by reason', async () => {
    const bus = new MemoryBus(2);
    const topic = 'metrics';
    await bus.ensureTopics([topic], 2);
    const now = 1_800_000_000_000;
    const head = new Head({ maxSeriesPerMetric: 1 });
    const registry = createRegistry();
    const ingest = await startRealtimeIngest({ bus, head, topic, log: silentLogger(), registry, node: 'n1', now: () => now });
    try {
      expect(ingest.caughtUp()).toBe(true);
      const producer = await bus.producer();
      const send = (value: Uint8Array, headers = wireHeaders()) => producer.send(topic, [{ key: Buffer.from('h'), value: Buffer.from(value), headers }]);
      await send(
        encodeMetrics([
          { name: 'up', labels: { job: 'a' }, timestampMs: now - 30_000, value: 1, type: 'gauge' },
          { name: 'up', labels: { job: 'a' }, timestampMs: now - 15_000, value: NaN, type: 'gauge', stale: true },
          { name: 'up', labels: { job: 'a' }, timestampMs: now - 15_000, value: 1, type: 'gauge' },
          { name: 'up', labels: { job: 'a' }, timestampMs: now - 60_000, value: 1, type: 'gauge' },
          { name: 'up', labels: { job: 'b' }, timestampMs: now, value: 1, type: 'gauge' },
          { name: 'up', labels: { job: 'a' }, timestampMs: now - 3 * 3600_000, value: 1, type: 'gauge' },
        ]),
      );
      await send(new Uint8Array([0xff, 0xff, 0xff]));
      await send(encodeMetrics([{ name: 'up', labels: { job: 'a' }, timestampMs: now, value: 0, type: 'gauge' }]), { 'pharos-wire': 'otlp_json/9' });
      await waitFor('all messages consumed', async () => (await metricValue(registry, 'pharos_realtime_messages_consumed_total')) === 3, 10_000, 10);

      const [up] = ingest.querier.select([{ name: 'job', type: '=', value: 'a' }], now - 3600_000, now);
      expect(Array.from(up!.timestamps)).toEqual([now - 30_000, now - 15_000]);
      expect([...up!.staleAt!]).toEqual([now - 15_000]);
      expect(await metricValue(registry, 'pharos_realtime_samples_appended_total')).toBe(2);
      for (const [reason, n] of Object.entries({ duplicate: 1, out_of_order: 1, series_limit: 1, too_old: 1, invalid: 0 })) {
        expect(await metricValue(registry, 'pharos_realtime_samples_rejected_total', { reason }), reason).toBe(n);
      }
      expect(await metricValue(registry, 'pharos_realtime_messages_undecodable_total')).toBe(2);
      expect(await metricValue(registry, 'pharos_realtime_series')).toBe(1);
    } finally {
      await ingest.stop();
      await bus.close();
    }
  });
});
