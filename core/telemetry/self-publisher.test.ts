import { describe, expect, test } from 'vitest';
import { MemoryBus } from '../bus/memory-bus.js';
import { decodeMetrics, encodeMetrics } from '../codec/codec.js';
import { silentLogger } from '../log.js';
import { counter, createRegistry, gauge } from './registry.js';
import { registrySamples, startSelfPublisher } from './self-publisher.js';
import client from 'prom-client';
import { waitFor } from '../../test/harness/wait.js';

function registryWithFigures() {
  const registry = createRegistry({ component: 'test' });
  counter(registry, 'pharos_test_events_total', 'events', ['kind']).inc({ kind: 'a' }, 3);
  gauge(registry, 'pharos_test_spool_bytes', 'bytes').set(4096);
  const h = new client.Histogram({ name: 'pharos_test_latency_seconds', help: 'latency', buckets: [0.1, 1], registers: [registry] });
  h.observe(0.05);
  h.observe(0.5);
  return registry;
}

describe('publishing the process’s own metrics', () => {
  test('the registry becomes samples that survive the wire codec with their names, labels and types', async () => {
    const samples = await registrySamples(registryWithFigures(), 'node-1', 1_700_000_000_000);
    const back = decodeMetrics(encodeMetrics(samples));
    const find = (name: string, labels: Record<string, string> = {}) =>
      back.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(find('pharos_test_events_total', { kind: 'a' })).toMatchObject({ value: 3, type: 'counter', labels: { job: 'pharos', instance: 'node-1', component: 'test', kind: 'a' } });
    expect(find('pharos_test_spool_bytes')).toMatchObject({ value: 4096, type: 'gauge' });
    expect(find('pharos_test_latency_seconds_bucket', { le: '0.1' })).toMatchObject({ value: 1 });
    expect(find('pharos_test_latency_seconds_bucket', { le: '+Inf' })).toMatchObject({ value: 2 });
    expect(find('pharos_test_latency_seconds_count')).toMatchObject({ value: 2 });
    // Process metrics come along (prom-client's defaults): the stack's own CPU and memory.
    expect(back.some((s) => s.name.startsWith('pharos_process_'))).toBe(true);
  });

  test('publishes on its interval to the metrics topic', async () => {
    const bus = new MemoryBus();
    const got: string[] = [];
    await bus.consumer({ groupId: 'g', topics: ['metrics'], fromBeginning: true, eachBatch: async (b) => void got.push(...b.messages.flatMap((m) => decodeMetrics(m.value).map((s) => s.name))) });
    const publisher = startSelfPublisher({ bus, topic: 'metrics', registry: registryWithFigures(), instance: 'n', intervalMs: 20, log: silentLogger() });
    await waitFor('a published round', () => got.includes('pharos_test_spool_bytes'), 5000, 10);
    await publisher.stop();
    await bus.close();
    expect(got).toContain('pharos_test_spool_bytes');
  });
});
