/**
 * vitest globalSetup: one local Kafka broker for the whole test run, shared by every test file
 * (starting a JVM per file would cost seconds each). Tests reach it through `testBrokers()` in
 * kafka-helpers.ts. Set PHAROS_TEST_KAFKA_BROKERS to run against a broker of your own instead.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, LocalBroker } from '../../core/kafka/local-broker.js';
import { createLogger } from '../../core/log.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

export default async function setup({ provide }: Pick<TestProject, 'provide'>): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.PHAROS_TEST_KAFKA_BROKERS?.trim();
  if (given) {
    provide('kafkaBrokers', given.split(',').map((b) => b.trim()).filter(Boolean));
    return undefined;
  }

  // stderr, so the one "ready" line (and the download notice on a cold cache) does not mix with reporter output.
  const log = createLogger({ level: 'info', destination: process.stderr }).child({ component_kind: 'service', component_id: 'test-kafka' });
  const dataDir = await mkdtemp(join(tmpdir(), 'pharos-test-kafka-'));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  let broker: LocalBroker;
  try {
    broker = await LocalBroker.start({
      version: process.env.PHAROS_TEST_KAFKA_VERSION || DEFAULT_KAFKA_VERSION,
      port,
      controllerPort,
      cacheDir: defaultKafkaCacheDir(),
      dataDir,
      log,
    });
  } catch (err) {
    // The data directory stays behind on failure: its server.log is the evidence.
    throw new Error(`the test Kafka broker did not start (its files are in ${dataDir}): ${(err as Error).message}`, { cause: err });
  }
  provide('kafkaBrokers', broker.brokers);
  // Workers are forked after globalSetup, so they inherit this too (for code that reads the environment).
  process.env.PHAROS_TEST_KAFKA_BROKERS = broker.brokers.join(',');

  return async () => {
    await broker.stop();
    delete process.env.PHAROS_TEST_KAFKA_BROKERS;
    await rm(dataDir, { recursive: true, force: true });
  };
}
