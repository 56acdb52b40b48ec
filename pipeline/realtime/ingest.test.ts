import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { encodeMetrics, wireHeaders } from '../../core/codec/codec.js';
import { silentLogger } from '../../core/log.js';
import type { MetricSample } from '../../core/model/records.js';
import { createRegistry, type Registry } from '../../core/telemetry/registry.js';
import { testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import { waitFor } from '../../test/harness/wait.js';
import { startRealtimeIngest, type RealtimeIngest } from './ingest.js';
import { kafkaOffsets } from './kafka-offsets.js';
import { Head } from './tsdb/head.js';

const log = silentLogger();
const HOUR = 3600_000;

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** Counter series sampled every 10 s: `hosts` hosts × 2 methods, `points` points ending at `endMs`. */
function counters(hosts: number, points: number, endMs: number): MetricSample[] {
  const out: MetricSample[] = [];
  for (let h = 0; h < hosts; h++) {
    for (const method of ['GET', 'POST']) {
      for (let i = 0; i < points; i++) {
        out.push({
          name: 'http_requests_total',
          labels: { job: 'api', instance: `host-${h}:8080`, method },
          timestampMs: endMs - (points - 1 - i) * 10_000,
          value: h * 1000 + i * (method === 'GET' ? 3 : 0.5),
          type: 'counter',
        });
      }
    }
  }
  return out;
}

describe('real-time ingest through Kafka', () => {
  const brokers = testBrokers();
  const kafka = new Kafka({ clientId: 'realtime-ingest-test', brokers, logLevel: logLevel.NOTHING });
  const bus = new KafkaBus(kafka, brokers, log);
  const stops: Array<() => Promise<void>> = [];

  afterAll(async () => {
    // In parallel: each consumer's leave waits out a fetch in flight.
    await Promise.all(stops.map((s) => s().catch(() => {})));
    await bus.close();
  });

  async function start(topic: string, head: Head, registry: Registry): Promise<RealtimeIngest> {
    const ingest = await startRealtimeIngest({ bus, head, topic, log, registry, offsets: kafkaOffsets(kafka), node: 'test' });
    stops.push(() => ingest.stop());
    return ingest;
  }

  it('replays the topic, reports caught up, answers queries exactly and keeps following new samples', async () => {
    const topic = uniqueTopic('realtime-metrics');
    await bus.ensureTopics([topic], 3);
    const producer = await bus.producer();
    stops.push(() => producer.close());
    const end = Date.now() - 60_000;
    const samples = counters(5, 100, end);
    // One host per message and key, as collectors publish: per-host order is kept in a partition.
    for (let h = 0; h < 5; h++) {
      const mine = samples.filter((s) => s.labels.instance === `host-${h}:8080`);
      await producer.send(topic, [{ key: Buffer.from(`host-${h}`), value: Buffer.from(encodeMetrics(mine.slice(0, 100))), headers: wireHeaders() }]);
      await producer.send(topic, [{ key: Buffer.from(`host-${h}`), value: Buffer.from(encodeMetrics(mine.slice(100))), headers: wireHeaders() }]);
    }
    await producer.send(topic, [{ key: Buffer.from('bad'), value: Buffer.from('not protobuf at all \xff\xff'), headers: wireHeaders() }]);
    await producer.send(topic, [
      {
        key: Buffer.from('host-0'),
        value: Buffer.from(encodeMetrics([{ name: 'old_gauge', labels: { job: 'api' }, timestampMs: end - 5 * HOUR, value: 1, type: 'gauge' }])),
        headers: wireHeaders(),
      },
    ]);

    const head = new Head();
    const registry = createRegistry();
    const ingest = await start(topic, head, registry);
    expect(ingest.groupId).toMatch(/^pharos-realtime-test-[0-9a-f]{8}$/);
    await waitFor('caught up', () => ingest.caughtUp(), 30_000, 20);

    const got = ingest.querier.select([{ name: '__name__', type: '=', value: 'http_requests_total' }], end - HOUR, end);
    expect(got).toHaveLength(10);
    for (const series of got) {
      const want = samples.filter((s) => s.labels.instance === series.labels.instance && s.labels.method === series.labels.method);
      expect(series.labels).toEqual({ __name__: 'http_requests_total', ...want[0]!.labels });
      expect(Array.from(series.timestamps)).toEqual(want.map((s) => s.timestampMs));
      expect(Array.from(series.values)).toEqual(want.map((s) => s.value));
    }
    expect(await metricValue(registry, 'pharos_realtime_samples_appended_total')).toBe(1000);
    expect(await metricValue(registry, 'pharos_realtime_samples_rejected_total', { reason: 'too_old' })).toBe(1);
    expect(await metricValue(registry, 'pharos_realtime_messages_undecodable_total')).toBe(1);
    expect(await metricValue(registry, 'pharos_realtime_series')).toBe(10);
    expect(await metricValue(registry, 'pharos_realtime_memory_bytes')).toBeGreaterThan(0);

    // Live: a sample produced after catching up shows up.
    await producer.send(topic, [
      { key: Buffer.from('host-0'), value: Buffer.from(encodeMetrics([{ name: 'live_gauge', labels: { job: 'api' }, timestampMs: end + 1000, value: 7, type: 'gauge' }])), headers: wireHeaders() },
    ]);
    const live = await waitFor('live sample', () => ingest.querier.select([{ name: '__name__', type: '=', value: 'live_gauge' }], end, end + 1000)[0], 30_000, 20);
    expect(Array.from(live.values)).toEqual([7]);
  });

  it('starts its replay at the window start by message time, and a restart answers as before', async () => {
    const topic = uniqueTopic('realtime-seek');
    await bus.ensureTopics([topic], 2);
    const now = Date.now();
    // Broker timestamps are the producer's CreateTime: set them to put messages before the window.
    const raw = kafka.producer();
    await raw.connect();
    stops.push(() => raw.disconnect());
    const old = counters(2, 10, now - 3 * HOUR);
    const fresh = counters(2, 30, now - 10_000);
    await raw.send({
      topic,
      messages: [
        { key: 'host-0', value: Buffer.from(encodeMetrics(old)), timestamp: String(now - 3 * HOUR), headers: wireHeaders() },
        { key: 'host-0', value: Buffer.from(encodeMetrics(fresh)), timestamp: String(now - 10_000), headers: wireHeaders() },
      ],
    });

    const registry = createRegistry();
    const first = await start(topic, new Head(), registry);
    await waitFor('caught up', () => first.caughtUp(), 30_000, 20);
    // Only the message inside the window was read: the old one was skipped by offset, not refused.
    expect(await metricValue(registry, 'pharos_realtime_messages_consumed_total')).toBe(1);
    expect(await metricValue(registry, 'pharos_realtime_samples_rejected_total')).toBe(0);
    const query = () => first.querier.select([{ name: 'method', type: '=~', value: 'GET|POST' }], now - HOUR, now);
    const before = query();
    expect(before.map((s) => s.values.length)).toEqual([30, 30, 30, 30]);
    // The first instance keeps running while the second replays on its own group, as a replica would; stopping it first (a restart) changes nothing for the second.

    const second = await start(topic, new Head(), createRegistry());
    await second.whenCaughtUp();
    const after = second.querier.select([{ name: 'method', type: '=~', value: 'GET|POST' }], now - HOUR, now);
    expect(after.map((s) => ({ labels: s.labels, t: Array.from(s.timestamps), v: Array.from(s.values) }))).toEqual(
      before.map((s) => ({ labels: s.labels, t: Array.from(s.timestamps), v: Array.from(s.values) })),
    );
    // A clean stop deletes the group it positioned: restarts do not pile groups up in Kafka.
    const groups = async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return (await admin.listGroups()).groups.map((g) => g.groupId);
      } finally {
        await admin.disconnect();
      }
    };
    expect(await groups()).toContain(first.groupId);
    await first.stop();
    expect(await groups()).not.toContain(first.groupId);
  });
});
