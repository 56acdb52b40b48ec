/** A collector in this process on the shared test broker, with one file input: for the rotation and bad-input fault tests. */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector, type RunningCollector } from '../../collector/collector.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { validateConfig } from '../../core/config/load.js';
import type { FileInputConfig } from '../../core/config/schema.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import { RegistryClass, type Registry } from '../../core/telemetry/registry.js';
import { createTopics, testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { readTopic, type TopicReader } from './collector-harness.js';

export interface CollectorRig {
  dir: string;
  collector: RunningCollector;
  registry: Registry;
  reader: TopicReader;
  /** Sum of a metric's series whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startCollectorRig(name: string, input: (dir: string) => Partial<FileInputConfig> & { include: string[] }): Promise<CollectorRig> {
  const log = silentLogger();
  const brokers = testBrokers();
  const dir = mkdtempSync(join(tmpdir(), `pharos-${name}-`));
  const topic = uniqueTopic(`${name}.logs`);
  await createTopics(brokers, [topic], 1);
  const config = validateConfig({
    node_name: `${name}-host`,
    data_dir: join(dir, 'data'),
    kafka: { brokers, topics: { logs: topic } },
    collector: {
      files: [{ service: 'app', start_at: 'beginning', ...input(dir) }],
      poll_ms: 20,
      batch: { max_records: 200, linger_ms: 10 },
      host_metrics: { enabled: false },
    },
  });
  const bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
  const registry = new RegistryClass();
  const collector = await startCollector({ config, bus, log, registry });
  const reader = await readTopic(brokers, topic);
  return {
    dir,
    collector,
    registry,
    reader,
    metric: async (metricName, labels = {}) => {
      const m = registry.getSingleMetric(metricName);
      if (!m) return 0;
      return (await m.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
    },
    close: async () => {
      await collector.stop();
      await reader.stop().catch(() => {});
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
