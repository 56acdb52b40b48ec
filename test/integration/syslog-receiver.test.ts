/**
 * Syslog over real sockets on loopback: RFC 5424 and RFC 3164 messages over UDP and over TCP
 * (octet counting and newline framing, mixed in one connection) become log records that reach
 * the logs topic of the harness's broker with their host, app, severity and structured data.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCollector } from '../../collector/collector.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { decodeLogs } from '../../core/codec/codec.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { freePort } from '../../core/kafka/local-broker.js';
import { silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';

describe('syslog over UDP and TCP → Kafka', () => {
  const log = silentLogger();
  const brokers = testBrokers();
  const topic = uniqueTopic('syslog-logs');
  const received: LogRecord[] = [];
  const stops: Array<() => Promise<void>> = [];
  let udpPort = 0;
  let tcpPort = 0;

  beforeAll(async () => {
    udpPort = await freePort();
    tcpPort = await freePort();
    const config = validateConfig({
      node_name: 'syslog-collector',
      data_dir: mkdtempSync(join(tmpdir(), 'pharos-syslog-')),
      kafka: { brokers, topics: { logs: topic, metrics: uniqueTopic('syslog-metrics') } },
      collector: {
        self_logs: false,
        host_metrics: { enabled: false },
        batch: { linger_ms: 20 },
        receivers: { syslog: { udp: `127.0.0.1:${udpPort}`, tcp: `127.0.0.1:${tcpPort}` } },
      },
    });
    const bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
    stops.push(() => bus.close());
    await bus.ensureTopics([topic, config.kafka.topics.metrics], 1);
    const collector = await startCollector({ config, bus, log, registry: createRegistry() });
    stops.unshift(() => collector.stop());
    const consumer = new Kafka({ clientId: 'syslog-test', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueTopic('syslog-test') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(...decodeLogs(message.value!)) });
    stops.unshift(() => consumer.disconnect());
  });

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {});
  });

  test('UDP datagrams and TCP streams in both framings arrive, parsed, stamped per source', async () => {
    const udp = createSocket('udp4');
    const datagrams = ['<165>1 2026-12-05T07:00:00.5Z web-1 nginx 812 ACCESS [req@1 path="/a" status="200"] GET /a', '<34>Dec  5 07:00:01 db-1 postgres[99]: checkpoint starting'];
    for (const d of datagrams) await new Promise<void>((r, j) => udp.send(d, udpPort, '127.0.0.1', (e) => (e ? j(e) : r())));
    udp.close();

    const tcp = connect(tcpPort, '127.0.0.1');
    await new Promise<void>((r) => tcp.once('connect', () => r()));
    const framed = (m: string) => `${Buffer.byteLength(m)} ${m}`;
    const m1 = '<11>1 2026-12-05T07:00:02Z api-1 billing - - - charge failed\nwith a newline inside';
    // Octet-counted (a newline inside the message is kept), then newline-framed, split across writes.
    tcp.write(framed(m1) + framed('<14>1 - api-1 billing - - - second'));
    tcp.write('<13>Dec  5 07:00:03 api-1 cron: third\n<13>Dec  5 07:00');
    tcp.end(':04 api-1 cron: fourth\n');

    await waitFor('6 syslog records in Kafka', () => received.length >= 6);
    expect(received).toHaveLength(6);
    const by = (body: string) => received.find((r) => r.body === body)!;
    expect(by('GET /a')).toMatchObject({ severityText: 'notice', resource: { 'host.name': 'web-1', 'service.name': 'nginx' }, timeUnixNano: 1796454000500000000n });
    expect(by('GET /a').attributes).toMatchObject({ 'syslog.sd.req@1.path': '/a', 'syslog.sd.req@1.status': '200', 'syslog.procid': '812', 'syslog.msgid': 'ACCESS', 'syslog.facility': 20 });
    expect(by('checkpoint starting')).toMatchObject({ severityText: 'crit', resource: { 'host.name': 'db-1', 'service.name': 'postgres' } });
    expect(by('charge failed\nwith a newline inside')).toMatchObject({ severityText: 'err', severityNumber: 17, resource: { 'host.name': 'api-1', 'service.name': 'billing' } });
    expect(by('second').resource['host.name']).toBe('api-1');
    expect(by('third').resource['service.name']).toBe('cron');
    expect(by('fourth').resource['service.name']).toBe('cron');

    // Delivery accounting: one stream per transport and host, seqs from 0 without a gap.
    const udpSources = new Set(received.filter((r) => String(r.attributes['pharos.source']).startsWith('syslog_udp#')).map((r) => r.resource['host.name']));
    expect(udpSources).toEqual(new Set(['web-1', 'db-1']));
    const api = received.filter((r) => r.resource['host.name'] === 'api-1').map((r) => r.attributes['pharos.seq']);
    expect(api).toEqual([0, 1, 2, 3]);
  });
});
