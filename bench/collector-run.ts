/**
 * One collector run for bench/collector.bench.ts, in its own process so its CPU and peak memory
 * are its own: tails FILE from the beginning into TOPIC until LINES records are acknowledged.
 * Prints one JSON line with the figures.
 *
 * With WARMUP_FILE and WARMUP_LINES, a first collector tails that file into the same topic until
 * its lines are acknowledged, and stops, before the clock starts: the measured collector then
 * runs on code V8 has already compiled, as a collector that has been running does. (V8 compiled
 * ~70 functions with TurboFan in a cold run, ~340 ms of its background threads' CPU, in a run of
 * 0.35 s: one-time work that kcat, compiled ahead of time, never does.) Its figures are printed too.
 *
 * BENCH_BUS=null: the same collector into a bus that builds each batch (records, compression:
 * the producer's work before the wire) and acknowledges it at once. What is left without the
 * broker and the network is the collector's own ceiling; `BENCH_COMPARE="BENCH_BUS=null"` runs
 * it beside the real one.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../collector/collector.js';
import type { Bus, BusProducer } from '../core/bus/bus.js';
import { KafkaBus } from '../core/bus/kafka-bus.js';
import { validateConfig } from '../core/config/load.js';
import { createKafka } from '../core/kafka/client.js';
import { buildBatch, type BatchCodec } from '../core/kafka/record-batch.js';
import { createLogger } from '../core/log.js';
import { createRegistry, type Registry } from '../core/telemetry/registry.js';
import { producerOnlyBus } from '../test/harness/producer-only-bus.js';

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

const [broker, topic, file, linesArg, warmupFile, warmupLinesArg] = process.argv.slice(2);
const lines = Number(linesArg);
const warmupLines = Number(warmupLinesArg ?? 0);
const log = createLogger({ level: 'warn' });
const dataDir = mkdtempSync(join(tmpdir(), 'pharos-bench-collector-'));
/** The collector's configuration for tailing `path` with its state in `dir`. */
const configFor = (path: string, dir: string) =>
  validateConfig({
    data_dir: dir,
    node_name: 'bench-host',
    kafka: { brokers: [broker], topics: { logs: topic }, ...(process.env.BENCH_COMPRESSION ? { compression: process.env.BENCH_COMPRESSION } : {}) },
    collector: { files: [{ include: [path], service: 'bench', start_at: 'beginning' }], host_metrics: { enabled: false }, self_logs: false, poll_ms: 50, ...(process.env.BENCH_BATCH ? { batch: { max_records: Number(process.env.BENCH_BATCH), ...(process.env.BENCH_BATCH_BYTES ? { max_bytes: Number(process.env.BENCH_BATCH_BYTES) } : {}) } } : {}) },
  });
const config = configFor(file!, dataDir);
const bus: Bus =
  process.env.BENCH_BUS === 'null'
    ? acknowledgingBus(config.kafka.compression, config.kafka.compression_level)
    : new KafkaBus(createKafka(config.kafka, log, config.kafka.brokers), config.kafka.brokers, log, undefined, { compression: config.kafka.compression, compressionLevel: config.kafka.compression_level });
const registry = createRegistry();

/** A bus whose producer builds every batch as the Kafka producer would, and acknowledges it at once. */
function acknowledgingBus(codec: BatchCodec, gzipLevel: number): Bus {
  const producer: BusProducer = {
    send: async (_topic, messages) => void (await buildBatch(messages, codec, gzipLevel, Date.now())),
    close: async () => {},
  };
  return producerOnlyBus(producer, 'a bus that acknowledges at once (bench)');
}
/** Records the collector's Kafka sink has had acknowledged. */
async function sentBy(registry: Registry): Promise<number> {
  const m = (await registry.getSingleMetric('pharos_component_sent_events_total')?.get())?.values ?? [];
  return m.filter((v) => v.labels.component_id === 'kafka_logs').reduce((n, v) => n + v.value, 0);
}

/** The V8 profiler of this process, through the inspector protocol (what `node --cpu-prof` uses for the whole process). */
async function startProfiler(): Promise<{ stopInto(dir: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stopInto(dir: string) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `collector-run.${process.pid}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function untilSent(registry: Registry, count: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await sentBy(registry)) < count) {
    if (Date.now() > deadline) throw new Error(`timed out: ${await sentBy(registry)} of ${count} acknowledged`);
    // A short poll: the run's end is measured to within 2 ms (kcat's is its exit).
    await new Promise((r) => setTimeout(r, 2));
  }
}

const producer = await bus.producer(); // connect before the clock starts, as kcat's startup is tiny
let warmup: { lines: number; seconds: number; cpu_seconds: number } | undefined;
if (warmupFile && warmupLines > 0) {
  const warmDir = mkdtempSync(join(tmpdir(), 'pharos-bench-warmup-'));
  const warmConfig = configFor(warmupFile, warmDir);
  const warmRegistry = createRegistry();
  const cpu = process.cpuUsage();
  const t = performance.now();
  const warm = await startCollector({ config: warmConfig, bus, log, registry: warmRegistry });
  await untilSent(warmRegistry, warmupLines);
  warmup = { lines: warmupLines, seconds: (performance.now() - t) / 1000, cpu_seconds: cpuSeconds(process.cpuUsage(cpu)) };
  await warm.stop();
  rmSync(warmDir, { recursive: true, force: true });
}
// BENCH_CPU_PROF=DIR: a CPU profile of the measured run alone (the warm-up and the process's start left out).
const profiler = process.env.BENCH_CPU_PROF ? await startProfiler() : undefined;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const collector = await startCollector({ config, bus, log, registry });
await untilSent(registry, lines);
const seconds = (performance.now() - t0) / 1000;
if (profiler) await profiler.stopInto(process.env.BENCH_CPU_PROF!);
// Time the sink spent waiting for Kafka's acknowledgements, and in how many sends: where the wall time went.
const sendHistogram = ((await registry.getSingleMetric('pharos_collector_send_duration_seconds')?.get())?.values ?? []) as Array<{ value: number; metricName?: string }>;
const sendSeconds = sendHistogram.filter((v) => v.metricName?.endsWith('_sum')).reduce((n, v) => n + v.value, 0);
const sends = sendHistogram.filter((v) => v.metricName?.endsWith('_count')).reduce((n, v) => n + v.value, 0);
const cpu = process.cpuUsage(cpu0);
const maxRssMb = process.resourceUsage().maxRSS / 1024;
if (process.env.BENCH_MEMORY) console.error(JSON.stringify(Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1e6)]))));
await collector.stop();
await producer.close();
await bus.close();
rmSync(dataDir, { recursive: true, force: true });
console.log(JSON.stringify({ seconds, cpu_seconds: cpuSeconds(cpu), max_rss_mb: maxRssMb, sent: await sentBy(registry), send_seconds: sendSeconds, sends, warmup }));
process.exit(0);
