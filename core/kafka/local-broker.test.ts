import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, expect, test } from 'vitest';
import { PharosError } from '../errors.js';
import { silentLogger } from '../log.js';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, javaMajorVersion, LocalBroker } from './local-broker.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

test('javaMajorVersion reads the installed Java', () => {
  expect(javaMajorVersion()).toBeGreaterThanOrEqual(17);
});

test('starts a broker, carries one message, stops', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pharos-local-broker-'));
  dirs.push(dataDir);
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const broker = await LocalBroker.start({
    version: DEFAULT_KAFKA_VERSION,
    port,
    controllerPort,
    cacheDir: defaultKafkaCacheDir(),
    dataDir,
    log: silentLogger(),
  });
  try {
    expect(broker.brokers).toEqual([`127.0.0.1:${port}`]);

    // A second broker on the same port must be refused with a message naming the one already there.
    const second = LocalBroker.start({ version: DEFAULT_KAFKA_VERSION, port, controllerPort: await freePort(), cacheDir: defaultKafkaCacheDir(), dataDir, log: silentLogger() });
    await expect(second).rejects.toThrow(PharosError);
    await expect(second).rejects.toThrow(/already answers/);

    const kafka = new Kafka({ clientId: 'local-broker-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'smoke', numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: 'smoke', acks: -1, messages: [{ key: 'k', value: 'hello pharos' }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'local-broker-test' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'smoke', fromBeginning: true });
    const received = new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
    });
    expect(await received).toBe('hello pharos');
    await consumer.disconnect();
  } finally {
    await broker.stop();
  }
  expect(broker.running).toBe(false);
  const exit = await broker.exited;
  expect(exit.code !== null || exit.signal !== null).toBe(true);
  expect(() => process.kill(broker.pid!, 0)).toThrow();
});
