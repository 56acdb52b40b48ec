/**
 * Chooses the bus of a process, as DESIGN.md fixes it: Kafka at the configured brokers; else,
 * where allowed, a local single-node broker the project provisions itself (Java 17+); else the
 * in-process hand-off. Says which in one log line, with the reason.
 */
import type { Registry } from '../telemetry/registry.js';
import { resolve } from 'node:path';
import type { PharosConfig } from '../config/schema.js';
import { PharosError } from '../errors.js';
import type { Logger } from '../log.js';
import { createKafka } from '../kafka/client.js';
import { defaultKafkaCacheDir, javaMajorVersion, LocalBroker } from '../kafka/local-broker.js';
import type { Bus } from './bus.js';
import { KafkaBus } from './kafka-bus.js';
import { MemoryBus } from './memory-bus.js';

export interface SelectedBus {
  bus: Bus;
  reason: string;
  /** The broker this process started, stopped with it. */
  localBroker?: LocalBroker;
}

export type BusPolicy = 'kafka-only' | 'all-in-one';

/** What selectBus will try, said before the (slower) broker start so the first lines of the log tell. */
export function describeBusPlan(config: PharosConfig, policy: BusPolicy): string {
  const { brokers, local } = config.kafka;
  if (brokers.length > 0) return `kafka at ${brokers.join(',')} (kafka.brokers is configured)`;
  if (policy === 'kafka-only') return 'none: kafka.brokers is required';
  const java = javaMajorVersion();
  if (local.enabled !== 'never' && java !== null && java >= 17) {
    return `a local Kafka ${local.version} broker on 127.0.0.1:${local.port} (no kafka.brokers configured, Java ${java} found; in-process hand-off if it cannot start)`;
  }
  return 'in-process hand-off (no kafka.brokers configured and no local broker)';
}

/** @param registry where the Kafka bus reports consumer lag (`pharos_kafka_consumer_lag`). */
export async function selectBus(config: PharosConfig, log: Logger, policy: BusPolicy, registry?: Registry): Promise<SelectedBus> {
  const selected = await choose(config, log, policy, registry);
  await selected.bus.ensureTopics(Object.values(config.kafka.topics), selected.bus.kind === 'kafka' ? config.kafka.partitions : 1);
  log.info({ bus: selected.bus.kind, reason: selected.reason }, `bus: ${selected.bus.description} (${selected.reason})`);
  return selected;
}

async function choose(config: PharosConfig, log: Logger, policy: BusPolicy, registry?: Registry): Promise<SelectedBus> {
  const { brokers, local } = config.kafka;
  if (brokers.length > 0) {
    return { bus: new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log, registry, { compression: config.kafka.compression, compressionLevel: config.kafka.compression_level }), reason: 'kafka.brokers is configured' };
  }
  if (policy === 'kafka-only') {
    throw new PharosError('invalid_config', 'kafka.brokers is required: set it in the config file or PHAROS_KAFKA__BROKERS (e.g. 127.0.0.1:9092)');
  }
  if (local.enabled !== 'never') {
    const java = javaMajorVersion();
    if (java !== null && java >= 17) {
      try {
        const broker = await LocalBroker.start({
          version: local.version,
          port: local.port,
          controllerPort: local.controller_port,
          cacheDir: local.cache_dir ?? defaultKafkaCacheDir(),
          dataDir: resolve(config.data_dir, 'kafka'),
          log: log.child({ component_kind: 'service', component_id: 'local-kafka' }),
        });
        return {
          bus: new KafkaBus(createKafka(config.kafka, log, broker.brokers), broker.brokers, log, registry, { compression: config.kafka.compression, compressionLevel: config.kafka.compression_level }),
          reason: `no kafka.brokers configured: started a local Kafka ${local.version} broker (Java ${java})`,
          localBroker: broker,
        };
      } catch (err) {
        if (local.enabled === 'always') throw err;
        log.warn({ err: (err as Error).message }, 'could not start a local Kafka broker; falling back to the in-process bus');
        return { bus: new MemoryBus(), reason: `no kafka.brokers configured and the local broker failed: ${(err as Error).message.split('\n')[0]}` };
      }
    }
    if (local.enabled === 'always') {
      throw new PharosError('kafka_start_failed', `kafka.local.enabled is 'always' but Java 17+ was not found (found: ${java ?? 'none'})`);
    }
    return { bus: new MemoryBus(), reason: `no kafka.brokers configured and no Java 17+ for a local broker (found: ${java ?? 'none'})` };
  }
  return { bus: new MemoryBus(), reason: 'no kafka.brokers configured and kafka.local.enabled is never' };
}
