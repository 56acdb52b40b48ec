import { describe, expect, test } from 'vitest';
import type { Bus, BusMessage } from '../../core/bus/bus.js';
import { MemoryBus } from '../../core/bus/memory-bus.js';
import { decodeMetrics } from '../../core/codec/codec.js';
import { silentLogger } from '../../core/log.js';
import type { MetricSample } from '../../core/model/records.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { waitFor } from '../../test/harness/wait.js';
import { componentTelemetry } from '../events.js';
import { MetricSender } from './metric-sender.js';

const sample = (i: number): MetricSample => ({ name: 'node_load1', labels: { instance: 'h' }, timestampMs: 1_700_000_000_000 + i * 1000, value: i, type: 'gauge' });

function sender(bus: Bus, maxPendingSamples?: number) {
  const registry = createRegistry();
  const s = new MetricSender({
    bus,
    topic: 'm',
    key: 'h',
    registry,
    telemetry: componentTelemetry(registry, silentLogger(), { kind: 'sink', id: 'kafka_metrics', type: 'kafka' }),
    ...(maxPendingSamples ? { maxPendingSamples } : {}),
  });
  return { s, registry };
}

/** A bus whose sends fail until `healthy` is set, recording what got through. */
function flakyBus(): Bus & { healthy: boolean; sent: BusMessage[]; attempts: number } {
  const fake = {
    kind: 'memory' as const,
    description: 'flaky',
    healthy: false,
    sent: [] as BusMessage[],
    attempts: 0,
    ensureTopics: async () => {},
    consumer: async () => ({ stop: async () => {} }),
    close: async () => {},
    producer: async () => ({
      send: async (_t: string, messages: BusMessage[]) => {
        fake.attempts++;
        if (!fake.healthy) throw new Error('broker unreachable');
        fake.sent.push(...messages);
      },
      close: async () => {},
    }),
  };
  return fake;
}

describe('MetricSender', () => {
  test('publishes samples keyed by host, decodable on the topic', async () => {
    const bus = new MemoryBus(1);
    const got: MetricSample[] = [];
    const consumer = await bus.consumer({
      groupId: 'g',
      topics: ['m'],
      fromBeginning: true,
      eachBatch: async (b) => {
        for (const m of b.messages) {
          expect(m.key?.toString()).toBe('h');
          got.push(...decodeMetrics(m.value));
        }
      },
    });
    const { s } = sender(bus);
    s.start();
    s.enqueue([sample(1), sample(2)]);
    s.enqueue([sample(3)]);
    await waitFor('samples on the topic', () => got.length === 3);
    expect(got.map((g) => g.value)).toEqual([1, 2, 3]);
    await s.stop();
    await consumer.stop();
  });

  test('keeps samples while the bus fails and delivers them, in order, once it recovers', async () => {
    const bus = flakyBus();
    const { s } = sender(bus);
    s.start();
    s.enqueue([sample(1)]);
    s.enqueue([sample(2)]);
    await waitFor('a few failed attempts', () => bus.attempts >= 2);
    expect(s.healthy()).toBe(false);
    bus.healthy = true;
    await waitFor('delivery after recovery', () => bus.sent.length === 2, 10_000);
    expect(bus.sent.flatMap((m) => decodeMetrics(m.value)).map((x) => x.value)).toEqual([1, 2]);
    expect(s.healthy()).toBe(true);
    await s.stop();
  });

  test('past its bound, discards the oldest scrape and counts it', async () => {
    const bus = flakyBus();
    const { s, registry } = sender(bus, 3);
    s.enqueue([sample(1), sample(2)]);
    s.enqueue([sample(3), sample(4)]);
    s.enqueue([sample(5)]);
    const text = await registry.metrics();
    expect(text).toMatch(/pharos_component_discarded_events_total\{[^}]*intentional="false"[^}]*\} 2/);
    bus.healthy = true;
    s.start();
    await waitFor('the kept scrapes delivered', () => bus.sent.length === 2);
    expect(bus.sent.flatMap((m) => decodeMetrics(m.value)).map((x) => x.value)).toEqual([3, 4, 5]);
    await s.stop();
  });
});
