/**
 * Done-when of issue 11: a broker stopped in the middle of a stream of numbered lines, then started
 * again: every line arrives, none twice. The broker is this file's own (the shared one serves other
 * tests); the outage lasts the 30 s (PHAROS_TEST_BROKER_OUTAGE_S sets another length).
 *
 * The product's kafkajs client retries a send for about 20 s before it reports a failure (and the
 * sink spools); here the client gives up after about a second, so the outage goes
 * through the disk spool and its replay against the real broker.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, test } from 'vitest';
import { startCollector } from '../../collector/collector.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { validateConfig } from '../../core/config/load.js';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, LocalBroker } from '../../core/kafka/local-broker.js';
import { silentLogger } from '../../core/log.js';
import { RegistryClass, type Registry } from '../../core/telemetry/registry.js';
import { createTopics, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';
import { numberedLines, readTopic, tally } from './collector-harness.js';

const OUTAGE_MS = Number(process.env.PHAROS_TEST_BROKER_OUTAGE_S ?? 30) * 1000;
const LINES_PER_TICK = 20;
const TICK_MS = 20;
const log = silentLogger();
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function sent(registry: Registry): Promise<number> {
  const m = registry.getSingleMetric('pharos_component_sent_events_total');
  return m ? (await m.get()).values.filter((v) => v.labels.component_id === 'kafka_logs').reduce((n, v) => n + v.value, 0) : 0;
}

async function metricSum(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  return m ? (await m.get()).values.reduce((n, v) => n + v.value, 0) : 0;
}

test(`a broker stopped for ${OUTAGE_MS / 1000} s mid-stream, then started again: every line arrives, none twice`, { timeout: OUTAGE_MS + 100_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-outage-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const brokerDir = join(dir, 'kafka');
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const brokerOpts = { version: DEFAULT_KAFKA_VERSION, port, controllerPort, cacheDir: defaultKafkaCacheDir(), dataDir: brokerDir, log, heapMb: 256 };
  let broker = await LocalBroker.start(brokerOpts);
  cleanups.push(() => broker.stop());
  const topic = uniqueTopic('outage.logs');
  await createTopics(broker.brokers, [topic], 1);

  const file = join(dir, 'app.log');
  writeFileSync(file, '');
  const config = validateConfig({
    node_name: 'outage-host',
    data_dir: join(dir, 'data'),
    kafka: { brokers: broker.brokers, topics: { logs: topic } },
    collector: {
      files: [{ include: [file], service: 'app', start_at: 'beginning' }],
      poll_ms: 20,
      batch: { max_records: 500, linger_ms: 20 },
      host_metrics: { enabled: false },
    },
  });
  const kafka = new Kafka({ clientId: 'outage-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, retry: { initialRetryTime: 100, retries: 2, maxRetryTime: 500 } });
  const bus = new KafkaBus(kafka, broker.brokers, log);
  cleanups.push(() => bus.close());
  const registry = new RegistryClass();
  const collector = await startCollector({ config, bus, log, registry });
  cleanups.push(() => collector.stop());

  // A steady stream, like an application's, that goes on through the outage.
  let written = 0;
  const writer = setInterval(() => {
    appendFileSync(file, numberedLines(written, written + LINES_PER_TICK));
    written += LINES_PER_TICK;
  }, TICK_MS);
  cleanups.push(async () => clearInterval(writer));

  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await waitFor('1,000 lines delivered before the outage', async () => (await sent(registry)) >= 1000, 30_000);
  phase('streaming');
  await broker.stop();
  phase('broker stopped');
  const atStop = written;
  await sleep(OUTAGE_MS); // the outage itself: a duration, not a condition
  const duringOutage = written - atStop;
  const spooledDuringOutage = await metricSum(registry, 'pharos_collector_spool_batches_written_total');
  broker = await LocalBroker.start(brokerOpts);
  phase('broker started');
  const afterRestart = written;
  await waitFor('1,000 more lines after the restart', () => written >= afterRestart + 1000, 30_000);
  clearInterval(writer);
  const total = written;

  await waitFor(`all ${total} lines acknowledged`, async () => (await sent(registry)) >= total, 60_000, 200);
  phase('all acknowledged');
  expect(collector.ready()).toBe(true);
  const reader = await readTopic(broker.brokers, topic);
  cleanups.push(() => reader.stop());
  await waitFor(`all ${total} lines on the topic`, () => tally(reader.records, total).distinct >= total, 30_000, 200);
  const t = tally(reader.records, total);
  console.info(`outage ${OUTAGE_MS / 1000} s: ${total} lines, ${duringOutage} written during the outage, ${spooledDuringOutage} batches spooled meanwhile, duplicates ${t.duplicates}; ${phases.join(', ')}`);
  expect(duringOutage).toBeGreaterThan(0);
  expect(spooledDuringOutage).toBeGreaterThan(0);
  expect(t.missing).toEqual([]);
  expect(t.distinct).toBe(total);
  expect(t.duplicates).toBe(0);
  expect(t.repeatedSeqs).toBe(0);
  expect(await metricSum(registry, 'pharos_collector_spool_bytes')).toBe(0);
});
