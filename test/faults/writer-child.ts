/**
 * The warehouse writer as a process of its own, for test/faults/warehouse-faults.test.ts: a
 * SIGKILL must take down the real thing (consumer, chDB connection, in-flight commit), which an
 * in-process writer cannot show.
 *
 * Env: BROKERS, LOGS_TOPIC, METRICS_TOPIC, DLQ_TOPIC, GROUP, DATA_DIR, DATABASE, and
 * PHAROS_FAULT_KILL_AFTER_INSERT=1 (table-handler.ts) for the run that is to die. Without it the
 * process runs until its group has no lag, then prints `RESULT <json>` (row count and the
 * delivery report of the records' seqs) and exits 0.
 */
import { Kafka, logLevel, type ConsumerConfig } from 'kafkajs';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { createLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { deliveryReporter } from '../../pipeline/warehouse/delivery.js';
import { startWarehouseWriter } from '../../pipeline/warehouse/writer.js';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const brokers = env('BROKERS').split(',');
const group = env('GROUP');
const database = env('DATABASE');
const topics = { logs: env('LOGS_TOPIC'), metrics: env('METRICS_TOPIC'), deadletter: env('DLQ_TOPIC') };
const config = validateConfig({ data_dir: env('DATA_DIR'), kafka: { brokers, topics, partitions: 1 }, clickhouse: { database }, pipeline: { warehouse: { group_id: group } } });
const log = createLogger({ level: 'warn', destination: process.stderr });

const admin = createClickHouse(config, log, 'admin');
await migrate(admin, { database, logsTtlDays: 3650, log });
const ingest = createClickHouse(config, log, 'ingest');

const kafka = createKafka(config.kafka, log, brokers);
// A killed member holds its partitions until its session expires (kafkajs default 30 s): the
// broker's minimum (6 s) lets the restart take over within the test's time bound.
const consumer = kafka.consumer.bind(kafka);
kafka.consumer = (c: ConsumerConfig) => consumer({ ...c, sessionTimeout: 6_000, heartbeatInterval: 500 });
const bus = new KafkaBus(kafka, brokers, log);
const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config, log, registry: createRegistry() });
process.stdout.write('READY\n');

if (process.env.PHAROS_FAULT_KILL_AFTER_INSERT !== '1') {
  const kadmin = new Kafka({ clientId: 'fault-child-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await kadmin.connect();
  const deadline = Date.now() + 40_000;
  for (;;) {
    const ends = await kadmin.fetchTopicOffsets(topics.logs);
    const [committed] = await kadmin.fetchOffsets({ groupId: group, topics: [topics.logs] });
    const lag = ends.reduce((sum, e) => sum + Number(e.high) - Math.max(0, Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1')), 0);
    if (lag === 0) break;
    if (Date.now() > deadline) throw new Error(`still ${lag} messages behind`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await kadmin.disconnect();
  await writer.stop();
  await bus.close();
  const rs = await admin.query({ query: `SELECT count() AS n FROM \`${database}\`.otel_logs`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: string }>();
  const delivery = await deliveryReporter(admin, database)({ fromNs: 0n, toNs: BigInt(Date.now() + 3_600_000) * 1_000_000n });
  process.stdout.write(`RESULT ${JSON.stringify({ rows: Number(row!.n), delivery })}\n`);
  await Promise.all([admin.close(), ingest.close()]);
  process.exit(0);
}
