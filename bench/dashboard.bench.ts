/**
 * `npm run bench:dashboard`: the dashboard's live tail under load, on loopback.
 *
 * A Kafka broker of its own (LocalBroker; or PHAROS_BENCH_KAFKA_BROKERS), the dashboard's live
 * path in a child process (this file with `--serve`: the live WebSocket hub reading the logs topic
 * off Kafka, no warehouse), 200 WebSocket clients — half sharing one filter, the rest over four
 * others — and a producer writing 2,000 lines/s as the collector does (OTLP batches keyed by host)
 * for 20 s. Each line carries its send time; clients take produce → receive latency from it.
 * Prints p50/p99 latency, the server's RSS and heap, rows delivered and dropped, and the gzipped
 * size of the built app (dashboard/web/dist/assets/*.js), and writes bench/results/dashboard.json.
 *
 *   npm run bench:dashboard [-- --clients 200 --rate 2000 --seconds 20]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import { KafkaBus } from '../core/bus/kafka-bus.js';
import { encodeLogs, wireHeaders } from '../core/codec/codec.js';
import { configSchema } from '../core/config/schema.js';
import { Authenticator } from '../core/http/auth.js';
import { createKafka } from '../core/kafka/client.js';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, LocalBroker } from '../core/kafka/local-broker.js';
import { createLogger, silentLogger } from '../core/log.js';
import type { LogRecord } from '../core/model/records.js';
import { createRegistry } from '../core/telemetry/registry.js';
import { startDashboard } from '../dashboard/server/dashboard-server.js';
import { machine, printMachine } from './lib/machine.js';
import { percentile } from './lib/percentile.js';
import { writeResults } from './lib/results.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CLIENTS = arg('clients', 200);
const RATE = arg('rate', 2000);
const SECONDS = arg('seconds', 20);
const SERVICES = ['checkout', 'billing', 'search', 'auth', 'mailer'];
/** Half the clients watch checkout; the rest are spread over these. */
const OTHER_FILTERS = [{ service: 'billing' }, { service: 'search' }, { minSeverity: 17 }, { text: 'timeout' }];
const TICK_MS = 10;


/** The server side, in its own process so its memory is its own. */
async function serve(): Promise<void> {
  const brokers = process.env.BENCH_BROKERS!.split(',');
  const config = configSchema.parse({
    dashboard: { listen: '127.0.0.1:0', live: { backfill_rows: 0 } },
    kafka: { brokers, topics: { logs: process.env.BENCH_LOGS_TOPIC!, alerts: process.env.BENCH_ALERTS_TOPIC! } },
  });
  const log = createLogger({ level: 'warn', destination: process.stderr });
  const registry = createRegistry();
  const dashboard = await startDashboard({ config, log, registry, auth: new Authenticator(config.auth), logs: { search: async () => [] }, ready: () => true, staticDir: tmpdir() });
  const bus = new KafkaBus(createKafka(config.kafka, silentLogger(), brokers), brokers, log);
  const feed = await dashboard.live.attachBus(bus, { logs: config.kafka.topics.logs, alerts: config.kafka.topics.alerts });
  const report = () => {
    const m = process.memoryUsage();
    process.stdout.write(`MEM ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed })}\n`);
  };
  setInterval(report, 500).unref();
  report();
  process.stdout.write(`READY ${dashboard.address}\n`);
  process.on('SIGTERM', () => {
    void (async () => {
      await feed.stop();
      await dashboard.close();
      await bus.close();
      process.exit(0);
    })();
  });
}

function record(seq: number, sentMs: number): LogRecord {
  const service = SERVICES[seq % SERVICES.length]!;
  const error = seq % 10 === 0;
  const t = BigInt(sentMs) * 1_000_000n;
  return {
    timeUnixNano: t,
    observedTimeUnixNano: t,
    severityNumber: error ? 17 : 9,
    severityText: error ? 'ERROR' : 'INFO',
    body: `${error ? 'ERROR' : 'INFO'} request ${seq} ${seq % 4 === 0 ? 'upstream timeout' : 'served'} in 12 ms sent=${sentMs}`,
    resource: { 'service.name': service, 'host.name': `bench-host-${seq % 8}` },
    attributes: { 'log.file.path': `/var/log/${service}.log` },
    traceId: '',
    spanId: '',
    flags: 0,
  };
}

function bundleSizes(): { files: Array<{ file: string; bytes: number; gzip: number }>; total_gzip: number; initial_gzip: number } {
  const dist = join(import.meta.dirname, '..', 'dashboard', 'web', 'dist');
  const dir = join(dist, 'assets');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.js'));
  } catch {
    // Not built: said in the output.
  }
  const files = names.map((file) => {
    const bytes = readFileSync(join(dir, file));
    return { file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
  // What the first page load fetches: the scripts index.html names (entry and preloads); pages load the rest lazily.
  let html = '';
  try {
    html = readFileSync(join(dist, 'index.html'), 'utf8');
  } catch {
    // Not built.
  }
  const initial = new Set([...html.matchAll(/assets\/([^"']+\.js)/g)].map((m) => m[1]!));
  return {
    files: files.sort((a, b) => b.gzip - a.gzip),
    total_gzip: files.reduce((n, f) => n + f.gzip, 0),
    initial_gzip: files.filter((f) => initial.has(f.file)).reduce((n, f) => n + f.gzip, 0),
  };
}

async function main(): Promise<void> {
  const m = machine();
  printMachine(m);
  console.log(`${CLIENTS} WebSocket clients, ${RATE} lines/s for ${SECONDS} s, Kafka bus`);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const work = mkdtempSync(join(tmpdir(), 'pharos-bench-dashboard-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  try {
    let brokers = process.env.PHAROS_BENCH_KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
    if (brokers.length === 0) {
      const port = await freePort();
      let controllerPort = await freePort();
      while (controllerPort === port) controllerPort = await freePort();
      const broker = await LocalBroker.start({ version: DEFAULT_KAFKA_VERSION, port, controllerPort, cacheDir: defaultKafkaCacheDir(), dataDir: join(work, 'kafka'), log: createLogger({ level: 'warn', destination: process.stderr }) });
      cleanups.push(() => broker.stop());
      brokers = broker.brokers;
    }
    const prefix = `bench-dashboard-${Date.now().toString(36)}`;
    const logsTopic = `${prefix}-logs`;
    const alertsTopic = `${prefix}-alerts`;
    const kafka = new Kafka({ clientId: 'pharos-bench', brokers, logLevel: logLevel.ERROR });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [logsTopic, alertsTopic].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })) });
    await admin.disconnect();

    // The server.
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--serve'], {
      env: { ...process.env, BENCH_BROKERS: brokers.join(','), BENCH_LOGS_TOPIC: logsTopic, BENCH_ALERTS_TOPIC: alertsTopic },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    );
    let memory = { rss: 0, heapUsed: 0 };
    let peak = { rss: 0, heapUsed: 0 };
    let measuring = false;
    const address = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.startsWith('READY ')) resolve(line.slice(6));
        if (line.startsWith('MEM ')) {
          memory = JSON.parse(line.slice(4)) as typeof memory;
          if (measuring) peak = { rss: Math.max(peak.rss, memory.rss), heapUsed: Math.max(peak.heapUsed, memory.heapUsed) };
        }
      });
    });
    const idle = { ...memory };

    // The clients.
    const latencies = new Float64Array(CLIENTS * RATE * SECONDS);
    let received = 0;
    let dropped = 0;
    let warm = false;
    const sentRe = /sent=(\d+)/g;
    const sockets: WebSocket[] = [];
    cleanups.push(() => sockets.forEach((s) => s.terminate()));
    await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => {
        const filter = i < CLIENTS / 2 ? { service: 'checkout' } : OTHER_FILTERS[i % OTHER_FILTERS.length]!;
        return new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`ws://${address}/api/live`);
          sockets.push(ws);
          ws.on('error', reject);
          ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 'tail', channel: 'logs', filter, history: 0 })));
          ws.on('message', (data) => {
            const text = data.toString();
            if (text.startsWith('{"type":"subscribed"')) return resolve();
            if (text.startsWith('{"type":"dropped"')) {
              dropped += (JSON.parse(text) as { count: number }).count;
              return;
            }
            if (!text.startsWith('{"type":"logs"')) return;
            const now = Date.now();
            warm = true;
            if (!measuring) return;
            for (const match of text.matchAll(sentRe)) latencies[received++ % latencies.length] = now - Number(match[1]);
          });
        });
      }),
    );
    console.log(`${CLIENTS} clients subscribed`);

    // The producer: a batch every 10 ms, as a collector flushes.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let seq = 0;
    const produce = async (lines: number) => {
      const sentMs = Date.now();
      const records = Array.from({ length: lines }, () => record(seq++, sentMs));
      await producer.send({ topic: logsTopic, acks: -1, messages: [{ key: Buffer.from(`bench-host-${seq % 8}`), value: Buffer.from(encodeLogs(records)), headers: wireHeaders() }] });
    };
    // Warm-up: the server's reader joins its group in the background; wait until lines flow.
    const warmDeadline = Date.now() + 60_000;
    while (!warm) {
      if (Date.now() > warmDeadline) throw new Error('no line reached the clients within 60 s');
      await produce(10);
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log('lines flow; measuring');
    measuring = true;
    const perTick = (RATE * TICK_MS) / 1000;
    const start = Date.now();
    let produced = 0;
    let inflight = 0;
    while (Date.now() - start < SECONDS * 1000) {
      // Keep to the rate by the clock: a slow send is made up for, not lost.
      const due = Math.floor(((Date.now() - start) / 1000) * RATE) - produced;
      if (due > 0 && inflight < 8) {
        const n = Math.min(due, perTick * 10);
        produced += n;
        inflight++;
        void produce(n).finally(() => inflight--);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    const elapsed = (Date.now() - start) / 1000;
    // Let the last lines arrive.
    const expected = received;
    await new Promise((r) => setTimeout(r, 2000));
    measuring = false;
    await producer.disconnect();

    const metricsText = await (await fetch(`http://${address}/metrics`)).text();
    const metric = (re: RegExp) => Number(re.exec(metricsText)?.[1] ?? NaN);
    const serverDropped = metric(/^pharos_dashboard_live_dropped_total (\S+)$/m);
    const upstreams = metric(/^pharos_dashboard_live_upstream_subscriptions\{channel="logs"\} (\S+)$/m);
    const sent = metric(/^pharos_dashboard_live_rows_sent_total (\S+)$/m);

    const n = Math.min(received, latencies.length);
    const sorted = latencies.slice(0, n).sort();
    const p50 = n ? percentile(sorted, 50) : NaN;
    const p99 = n ? percentile(sorted, 99) : NaN;
    const max = n ? sorted[n - 1]! : NaN;
    const bundle = bundleSizes();
    const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

    console.log(`produced ${produced} lines in ${elapsed.toFixed(1)} s (${Math.round(produced / elapsed)} lines/s); ${upstreams} upstream filters for ${CLIENTS} clients`);
    console.log(`delivered ${received} rows to clients (${Math.round(received / elapsed)} rows/s; ${received - expected} in the 2 s drain), dropped ${dropped} (server counter ${serverDropped}), rows written by the server ${sent}`);
    console.log(`latency produce → client: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`);
    console.log(`server memory: RSS ${mib(idle.rss)} MiB idle → ${mib(peak.rss)} MiB peak, heap used ${mib(idle.heapUsed)} → ${mib(peak.heapUsed)} MiB peak`);
    if (bundle.files.length === 0) console.log('app bundle: not built (npm run build:web)');
    else console.log(`app bundle: ${Math.round(bundle.initial_gzip / 1024)} KiB gzipped on first load (index.html's scripts); ${bundle.files.length} JS files, ${Math.round(bundle.total_gzip / 1024)} KiB gzipped in all (${bundle.files.map((f) => `${f.file} ${Math.round(f.gzip / 1024)} KiB`).join(', ')})`);

    const path = writeResults('dashboard', {
      machine: m,
      clients: CLIENTS,
      filters: { shared_by_half: { service: 'checkout' }, others: OTHER_FILTERS },
      rate_lines_per_s: RATE,
      seconds: SECONDS,
      produced,
      delivered_rows: received,
      dropped,
      upstream_filters: upstreams,
      latency_ms: { p50, p99, max },
      server_memory_bytes: { idle_rss: idle.rss, peak_rss: peak.rss, idle_heap_used: idle.heapUsed, peak_heap_used: peak.heapUsed },
      bundle_gzip_bytes: { initial: bundle.initial_gzip, total: bundle.total_gzip, files: bundle.files },
    });
    console.log(`results: ${path}`);
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

if (process.argv.includes('--serve')) {
  serve().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
