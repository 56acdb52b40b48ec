/**
 * Kafka → ClickHouse (chDB) ingestion of logs through the warehouse writer, end to end on this
 * machine. Run: `npm run bench:warehouse` (figures only, no assertions).
 *
 * Starts a Kafka broker of its own (free ports, temp dir) and chDB in a temp dir, then:
 * 1. drain: N log records (BENCH_RECORDS, default 500,000), encoded and keyed by host as the
 *    collector's Kafka sink does, are produced first; the writer then starts and the time until
 *    the last row is queryable gives the sustained rows/s — the writer's capacity, not the
 *    producer's;
 * 2. live: with the writer caught up, records are produced at a steady rate (BENCH_LIVE_RPS,
 *    default 50,000/s, for BENCH_LIVE_SECONDS, default 15; encoded beforehand, so the producer
 *    takes little of the writer's CPU), and a marker record every 100 ms; a
 *    poller on a query connection notes when each marker becomes queryable. Freshness = that
 *    moment − when the marker was handed to the producer;
 * 3. search: a rare token and a phrase with separators (`ERR_CODE_7f3a`) planted in a few
 *    records, searched through ClickHouseLogSearch over every row stored.
 *
 * BENCH_WRITER_MODULE names another module exporting `startWarehouseWriter` (an older writer
 * copied aside, say), to compare writer versions under the same conditions.
 *
 * Everything it started is stopped and removed at the end, also on failure or when the overall
 * deadline (BENCH_TIMEOUT_SECONDS, default 900) passes. Results: bench/results/warehouse.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BusMessage } from '../core/bus/bus.js';
import { KafkaBus } from '../core/bus/kafka-bus.js';
import { createClickHouse, type ClickHouseClient } from '../core/clickhouse/client.js';
import { migrate } from '../core/clickhouse/migrate.js';
import { encodeLogBatches, wireHeaders } from '../core/codec/codec.js';
import { validateConfig } from '../core/config/load.js';
import { createKafka } from '../core/kafka/client.js';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, LocalBroker } from '../core/kafka/local-broker.js';
import { createLogger, silentLogger } from '../core/log.js';
import type { LogRecord } from '../core/model/records.js';
import { createRegistry } from '../core/telemetry/registry.js';
import { ClickHouseLogSearch } from '../pipeline/warehouse/log-search.js';
import { rawInserter } from '../pipeline/warehouse/raw-insert.js';
import { startWarehouseWriter as currentWriter } from '../pipeline/warehouse/writer.js';
import { percentile } from './lib/percentile.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000);
const LIVE_RPS = Number(process.env.BENCH_LIVE_RPS ?? 50_000);
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 15);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 900);
/** The collector's default batch: 1,000 records a message at most. */
const RECORDS_PER_MESSAGE = 1000;
const HOSTS = 8;
const MARKER_EVERY_MS = 100;
const POLL_MS = 50;
const RARE_TOKEN = 'zqxv7f3aRareToken';
const PHRASE = 'ERR_CODE_7f3a';
const DATABASE = 'bench';

const log = process.env.BENCH_DEBUG ? createLogger({ level: 'debug', destination: process.stderr }) : silentLogger();
const here = dirname(fileURLToPath(import.meta.url));

// A seeded generator keeps runs comparable.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const resources = Array.from({ length: HOSTS }, (_, i) => Object.freeze({ 'service.name': ['web', 'api', 'worker', 'db'][i % 4]!, 'host.name': `node-${i}`, 'os.type': 'linux' }));
const PATHS = ['/api/orders', '/api/cart', '/healthz', '/api/users/42', '/static/app.js', '/api/search?q=shoes'];

/** Access-log and application lines; every `plantEvery`-th record carries the rare token and the phrase. */
function makeRecords(count: number, seed: number, host: number, seqBase: number, plantEvery = 0): LogRecord[] {
  const r = rng(seed);
  const now = BigInt(Date.now()) * 1_000_000n;
  const resource = resources[host % HOSTS]!;
  return Array.from({ length: count }, (_, i) => {
    const seq = seqBase + i;
    const status = r() < 0.9 ? 200 : 500;
    const path = PATHS[Math.floor(r() * PATHS.length)]!;
    const planted = plantEvery > 0 && seq % plantEvery === plantEvery - 1;
    const body = planted
      ? `payment failed: gateway said ${PHRASE} for order ${seq} (${RARE_TOKEN})`
      : r() < 0.7
        ? `10.0.${seq % 256}.${(seq * 7) % 256} - - "GET ${path} HTTP/1.1" ${status} ${Math.floor(r() * 50_000)} "-" "Mozilla/5.0 (X11; Linux x86_64)" ${Math.floor(r() * 900)}ms`
        : `level=${status === 200 ? 'info' : 'error'} msg="handled request" route=${path} user_id=${Math.floor(r() * 1e6)} duration_ms=${(r() * 900).toFixed(1)} request_id=${Math.floor(r() * 2 ** 48).toString(16)}`;
    return {
      timeUnixNano: now + BigInt(i) * 1000n,
      observedTimeUnixNano: now + BigInt(i) * 1000n + 50_000n,
      severityNumber: status === 200 ? 9 : 17,
      severityText: status === 200 ? 'INFO' : 'ERROR',
      body,
      resource,
      attributes: { 'log.file.path': '/var/log/app/current.log', 'pharos.source': `file:${host}`, 'pharos.seq': seq, 'http.status_code': status },
      traceId: r() < 0.3 ? '4bf92f3577b34da6a3ce929d0e0e4736' : '',
      spanId: r() < 0.3 ? '00f067aa0ba902b7' : '',
      flags: 0,
    } satisfies LogRecord;
  });
}

/** As the collector's Kafka sink: records grouped by host, key = host, at most ~900 KiB a message. */
function messagesOf(records: LogRecord[], host: number): BusMessage[] {
  const key = Buffer.from(`node-${host % HOSTS}`);
  return encodeLogBatches(records).map((bytes) => ({ key, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: wireHeaders() }));
}


async function count(client: ClickHouseClient): Promise<number> {
  const rs = await client.query({ query: `SELECT count() AS n FROM ${DATABASE}.otel_logs`, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const work = mkdtempSync(join(tmpdir(), 'pharos-bench-warehouse-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const deadline = setTimeout(() => {
    console.error(`bench: overall deadline of ${TIMEOUT_S} s passed; stopping`);
    void runCleanups(cleanups).finally(() => process.exit(2));
  }, TIMEOUT_S * 1000);
  deadline.unref();

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version };
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GB memory, Node ${machine.node}`);

  try {
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    const started = performance.now();
    const broker = await LocalBroker.start({ version: DEFAULT_KAFKA_VERSION, port, controllerPort, cacheDir: defaultKafkaCacheDir(), dataDir: join(work, 'kafka'), log, heapMb: 1024 });
    cleanups.push(() => broker.stop());
    console.log(`kafka ${DEFAULT_KAFKA_VERSION} at ${broker.brokers[0]} in ${Math.round(performance.now() - started)} ms`);

    const topics = { logs: 'bench.logs', metrics: 'bench.metrics', deadletter: 'bench.deadletter' };
    const config = validateConfig({
      data_dir: join(work, 'data'),
      kafka: { brokers: broker.brokers, topics, partitions: PARTITIONS },
      clickhouse: { database: DATABASE },
    });
    const admin = createClickHouse(config, log, 'admin');
    const ingest = createClickHouse(config, log, 'ingest');
    const query = createClickHouse(config, log, 'query');
    cleanups.push(() => Promise.all([admin.close(), ingest.close(), query.close()]));
    await migrate(admin, { database: DATABASE, logsTtlDays: 30, log });
    const insertPath = process.env.BENCH_WRITER_MODULE ? `as ${process.env.BENCH_WRITER_MODULE} inserts` : `TabSeparated via ${rawInserter(ingest).path}`;

    const bus = new KafkaBus(createKafka(config.kafka, log, broker.brokers), broker.brokers, log);
    cleanups.push(() => bus.close());
    await bus.ensureTopics([topics.logs, topics.metrics, topics.deadletter], PARTITIONS);
    const producer = await bus.producer();

    // 1. drain ---------------------------------------------------------------------------------
    let t = performance.now();
    const backlog: BusMessage[] = [];
    let bytes = 0;
    for (let seq = 0, m = 0; seq < RECORDS; seq += RECORDS_PER_MESSAGE, m++) {
      const n = Math.min(RECORDS_PER_MESSAGE, RECORDS - seq);
      // One planted record per 100,000 (at least one): rare enough to need the index.
      for (const msg of messagesOf(makeRecords(n, m + 1, m, seq, Math.min(100_000, RECORDS)), m)) {
        backlog.push(msg);
        bytes += msg.value.length;
      }
    }
    const encodeS = (performance.now() - t) / 1000;
    t = performance.now();
    for (let i = 0; i < backlog.length; i += 50) await producer.send(topics.logs, backlog.slice(i, i + 50));
    const produceS = (performance.now() - t) / 1000;
    backlog.length = 0;
    console.log(`produced ${RECORDS.toLocaleString('en')} records in ${Math.ceil(RECORDS / RECORDS_PER_MESSAGE)}+ messages (${(bytes / 2 ** 20).toFixed(1)} MiB protobuf) — encode ${encodeS.toFixed(1)} s, produce ${produceS.toFixed(1)} s`);

    const startWarehouseWriter: typeof currentWriter = process.env.BENCH_WRITER_MODULE
      ? ((await import(process.env.BENCH_WRITER_MODULE)) as { startWarehouseWriter: typeof currentWriter }).startWarehouseWriter
      : currentWriter;
    const registry = createRegistry();
    // CPU of this process (writer, chDB's threads, the count poller; not the broker): on a shared
    // machine the rows/s follow the load, CPU per row much less.
    const cpuAtStart = process.cpuUsage();
    const loadAtStart = loadavg()[0]!;
    const writerStart = performance.now();
    const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config, log, registry });
    let writerStopped = false;
    const stopWriter = async () => {
      if (!writerStopped) {
        writerStopped = true;
        await writer.stop();
      }
    };
    cleanups.push(stopWriter);
    let firstRowAt = 0;
    const progress: Array<{ s: number; rows: number }> = [];
    for (;;) {
      const n = await count(query);
      const now = performance.now();
      if (n > 0 && firstRowAt === 0) firstRowAt = now;
      progress.push({ s: (now - writerStart) / 1000, rows: n });
      if (n >= RECORDS) break;
      await sleep(POLL_MS);
    }
    const drainEnd = performance.now();
    const drainCpu = process.cpuUsage(cpuAtStart);
    const cpuUsPerRow = (drainCpu.user + drainCpu.system) / RECORDS;
    const drainS = (drainEnd - writerStart) / 1000;
    const sustained = RECORDS / drainS;
    const steadyS = (drainEnd - firstRowAt) / 1000;
    console.log(
      `drain: ${RECORDS.toLocaleString('en')} rows in ${drainS.toFixed(2)} s from writer start = ${Math.round(sustained).toLocaleString('en')} rows/s ` +
        `(first row to last: ${steadyS.toFixed(2)} s = ${Math.round(RECORDS / steadyS).toLocaleString('en')} rows/s; insert path ${insertPath}; ` +
        `process CPU ${cpuUsPerRow.toFixed(1)} µs/row, ${((drainCpu.user + drainCpu.system) / 1e6 / drainS).toFixed(2)} cores on average; machine load average ${loadAtStart.toFixed(1)})`,
    );

    // 2. live ----------------------------------------------------------------------------------
    const sentAt = new Map<number, number>();
    const seenAfter = new Map<number, number>();
    let polling = true;
    let liveEnd = Number.POSITIVE_INFINITY;
    const poller = (async () => {
      while (polling || seenAfter.size < sentAt.size) {
        const rs = await query.query({
          query: `SELECT toUInt32(LogAttributes['bench.marker']) AS id FROM ${DATABASE}.otel_logs WHERE ServiceName = 'bench-marker' AND hasToken(Body, 'benchmarker')`,
          format: 'JSONEachRow',
        });
        const now = performance.now();
        for (const { id } of await rs.json<{ id: number }>()) {
          const at = sentAt.get(id);
          if (at !== undefined && !seenAfter.has(id)) seenAfter.set(id, now - at);
        }
        if (!polling && performance.now() - liveEnd > 30_000) break;
        await sleep(POLL_MS);
      }
    })();
    const markerResource = Object.freeze({ 'service.name': 'bench-marker', 'host.name': 'marker' });
    const tickMs = MARKER_EVERY_MS;
    const perTick = Math.max(0, Math.round((LIVE_RPS * tickMs) / 1000));
    const ticks = Math.ceil((LIVE_SECONDS * 1000) / tickMs);
    // Encoded before the clock starts: making records here would take the writer's CPU (same process).
    const load: BusMessage[][] = [];
    let liveRecords = 0;
    for (let tick = 0; tick < ticks; tick++) {
      const msgs: BusMessage[] = [];
      // Spread over the hosts as collectors would send it, in messages of up to 1,000 records.
      for (let left = perTick, h = tick; left > 0; left -= RECORDS_PER_MESSAGE, h++) {
        const n = Math.min(RECORDS_PER_MESSAGE, left);
        msgs.push(...messagesOf(makeRecords(n, 1_000_000 + tick * 97 + h, h, RECORDS + liveRecords), h));
        liveRecords += n;
      }
      load.push(msgs);
    }
    const liveStart = performance.now();
    const sends: Promise<void>[] = [];
    for (let tick = 0; tick < ticks; tick++) {
      const id = tick;
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const marker: LogRecord = {
        timeUnixNano: nowNs,
        observedTimeUnixNano: nowNs,
        severityNumber: 9,
        severityText: 'INFO',
        body: `benchmarker ${id}`,
        resource: markerResource,
        attributes: { 'bench.marker': id },
        traceId: '',
        spanId: '',
        flags: 0,
      };
      sentAt.set(id, performance.now());
      sends.push(producer.send(topics.logs, [...messagesOf([marker], HOSTS + (id % PARTITIONS)), ...load[tick]!]));
      load[tick] = [];
      const wait = liveStart + (tick + 1) * tickMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(sends);
    const liveS = (performance.now() - liveStart) / 1000;
    polling = false;
    liveEnd = performance.now();
    await poller;
    const fresh = [...seenAfter.values()].sort((a, b) => a - b);
    const lost = sentAt.size - seenAfter.size;
    const p50 = percentile(fresh, 50);
    const p99 = percentile(fresh, 99);
    console.log(
      `live: ${liveRecords.toLocaleString('en')} records + ${sentAt.size} markers in ${liveS.toFixed(1)} s = ${Math.round(liveRecords / liveS).toLocaleString('en')} rows/s offered; ` +
        `freshness (produce → queryable) p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms, max ${Math.round(fresh[fresh.length - 1] ?? Number.NaN)} ms${lost > 0 ? `, ${lost} markers not seen within 30 s` : ''}`,
    );
    await stopWriter();
    await producer.close();

    // 3. search --------------------------------------------------------------------------------
    const total = await count(query);
    const search = new ClickHouseLogSearch(query, DATABASE);
    const range = { fromNs: 0n, toNs: BigInt(Date.now() + 60_000) * 1_000_000n, limit: 100 };
    const timed = async (text: string) => {
      const runs: number[] = [];
      let hits = 0;
      for (let i = 0; i < 5; i++) {
        const s = performance.now();
        hits = (await search.search({ ...range, text })).length;
        runs.push(performance.now() - s);
      }
      // The first run is the cold one (caches empty): reported apart from the median.
      return { text, hits, first_ms: Math.round(runs[0]!), median_ms: Math.round(percentile(runs, 50)), runs_ms: runs.map((r) => Math.round(r)) };
    };
    const rare = await timed(RARE_TOKEN);
    const phrase = await timed(`"${PHRASE}"`);
    console.log(`search over ${total.toLocaleString('en')} rows: rare token ${rare.hits} hits, median ${rare.median_ms} ms; phrase "${PHRASE}" ${phrase.hits} hits, median ${phrase.median_ms} ms`);

    const result = {
      at: new Date().toISOString(),
      machine,
      config: { records: RECORDS, live_rps: LIVE_RPS, live_seconds: LIVE_SECONDS, partitions: PARTITIONS, records_per_message: RECORDS_PER_MESSAGE, batch_rows: config.pipeline.warehouse.batch_rows, partitions_at_once: config.pipeline.warehouse.partitions_at_once, fetch_bytes_per_partition: config.pipeline.warehouse.fetch_bytes_per_partition, insert_path: insertPath },
      drain: { rows: RECORDS, seconds: round(drainS), rows_per_s: Math.round(sustained), first_to_last_rows_per_s: Math.round(RECORDS / steadyS), process_cpu_us_per_row: round(cpuUsPerRow), load_average_at_start: round(loadAtStart), progress: progress.filter((_, i) => i % 10 === 0).map((p) => ({ s: round(p.s), rows: p.rows })) },
      live: { records: liveRecords, seconds: round(liveS), offered_rows_per_s: Math.round(liveRecords / liveS), markers: sentAt.size, markers_lost: lost, freshness_ms: { p50: Math.round(p50), p99: Math.round(p99), max: Math.round(fresh[fresh.length - 1] ?? Number.NaN) } },
      search: { rows: total, rare_token: rare, phrase },
    };
    const out = join(here, 'results', 'warehouse.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results written to ${out}`);
  } finally {
    clearTimeout(deadline);
    await runCleanups(cleanups);
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

async function runCleanups(cleanups: Array<() => Promise<unknown> | unknown>): Promise<void> {
  // Last started, first stopped: the writer before the bus, the bus before the broker.
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch (err) {
      console.error(`bench cleanup: ${(err as Error).message}`);
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
