/** The live hub reads the real bus: the harness's Kafka broker (no offsets committed) and the in-process bus. */
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import type { Bus } from '../../../core/bus/bus.js';
import { KafkaBus } from '../../../core/bus/kafka-bus.js';
import { MemoryBus } from '../../../core/bus/memory-bus.js';
import { encodeLogs, wireHeaders } from '../../../core/codec/codec.js';
import { silentLogger } from '../../../core/log.js';
import type { LogRecord } from '../../../core/model/records.js';
import { createRegistry } from '../../../core/telemetry/registry.js';
import { createTopics, testBrokers, uniqueTopic } from '../../../test/harness/kafka-helpers.js';
import { waitFor } from '../../../test/harness/wait.js';
import { AlertHub } from './alert-hub.js';
import { startBusFeed } from './bus-feed.js';
import { compileLogFilter } from './log-filter.js';
import { LogHub } from './log-hub.js';

function record(body: string, service: string): LogRecord {
  const t = BigInt(Date.now()) * 1_000_000n;
  return {
    timeUnixNano: t,
    observedTimeUnixNano: t,
    severityNumber: 17,
    severityText: 'ERROR',
    body,
    resource: { 'service.name': service, 'host.name': 'pi-1' },
    attributes: { 'log.file.path': '/var/log/app.log', attempt: 3 },
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

async function feedAndWatch(bus: Bus, logsTopic: string, alertsTopic: string) {
  const hub = new LogHub(1000);
  const alerts = new AlertHub();
  const seen: string[] = [];
  const alertEvents: unknown[] = [];
  hub.subscribe(compileLogFilter({ service: 'api' }), { deliver: (es) => seen.push(...es.map((e) => e.row.body)) }, 0);
  alerts.subscribe({ deliver: (e) => alertEvents.push(e) });
  const producer = await bus.producer();
  await producer.send(logsTopic, [{ key: Buffer.from('pi-1'), value: Buffer.from(encodeLogs([record('before the reader', 'api')])), headers: wireHeaders() }]);
  const feed = await startBusFeed({ bus, logsTopic, alertsTopic, logs: hub, alerts, log: silentLogger(), registry: createRegistry() });
  // Sent at once, while the reader's group is still forming: it must not be skipped.
  await producer.send(logsTopic, [{ key: Buffer.from('pi-1'), value: Buffer.from(encodeLogs([record('warm-up', 'api')])), headers: wireHeaders() }]);
  await waitFor('the reader to receive a line', () => seen.length > 0, 60_000);
  await producer.send(logsTopic, [
    { key: Buffer.from('pi-1'), value: Buffer.from(encodeLogs([record('payment failed', 'api'), record('other service', 'web')])), headers: wireHeaders() },
    { key: Buffer.from('pi-1'), value: Buffer.from('not protobuf at all'), headers: wireHeaders() },
  ]);
  await producer.send(alertsTopic, [{ key: Buffer.from('fp'), value: Buffer.from(JSON.stringify({ rule: 'HighLoad', from: 'pending', to: 'firing' })) }]);
  await waitFor('the line and the alert', () => seen.includes('payment failed') && alertEvents.length > 0);
  await producer.close();
  return { hub, seen, alertEvents, feed };
}

describe('startBusFeed', () => {
  test('on Kafka: lines reach the hub decoded as the warehouse would answer them, alerts too, and no offset is committed', async () => {
    const brokers = testBrokers();
    const logsTopic = uniqueTopic('live-logs');
    const alertsTopic = uniqueTopic('live-alerts');
    await createTopics(brokers, [logsTopic, alertsTopic], 2);
    const kafka = new Kafka({ clientId: 'live-test', brokers, logLevel: logLevel.NOTHING });
    const bus = new KafkaBus(kafka, brokers, silentLogger());
    const { hub, seen, alertEvents, feed } = await feedAndWatch(bus, logsTopic, alertsTopic);
    try {
      // From where the topic ended when the reader started: not the older line, every newer one.
      expect(seen).toEqual(['warm-up', 'payment failed']);
      expect(alertEvents).toEqual([{ rule: 'HighLoad', from: 'pending', to: 'firing' }]);
      const entry = hub.ring.after(0).entries.find((e) => e.row.body === 'payment failed')!;
      expect(entry.row).toMatchObject({ serviceName: 'api', hostName: 'pi-1', severityNumber: 17, severityText: 'ERROR', logAttributes: { 'log.file.path': '/var/log/app.log', attempt: '3' } });

    } finally {
      await feed.stop();
      await bus.close();
    }
    // Stopped: nothing was committed, so Kafka keeps no trace of the reader's group.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId: feed.groupId, topics: [logsTopic, alertsTopic] });
      for (const t of offsets) for (const p of t.partitions) expect(p.offset).toBe('-1');
      const { groups } = await admin.describeGroups([feed.groupId]);
      expect(['Dead', 'Empty']).toContain(groups[0]!.state);
      expect(groups[0]!.members).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  test('on the in-process bus: the same', async () => {
    const bus = new MemoryBus(1);
    await bus.ensureTopics(['pharos.logs', 'pharos.alerts'], 1);
    const { seen, alertEvents, feed } = await feedAndWatch(bus, 'pharos.logs', 'pharos.alerts');
    expect(seen).toEqual(['warm-up', 'payment failed']);
    expect(alertEvents).toHaveLength(1);
    await feed.stop();
    await bus.close();
  });
});
