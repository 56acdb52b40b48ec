/**
 * Throughput of the Kafka wire codec on 1,000-record batches: records/s encoded and decoded,
 * bytes per record (raw and gzip). Run: `npx tsx bench/codec.bench.ts` (figures only, no assertions).
 */
import { loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import { decodeLogs, decodeMetrics, encodeLogs, encodeMetrics } from '../core/codec/codec.js';
import type { LogRecord, MetricSample } from '../core/model/records.js';

const BATCH = 1000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

// A seeded generator keeps the batches identical from run to run.
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

function logBatch(seed: number): LogRecord[] {
  const r = rng(seed);
  const paths = ['/api/orders', '/api/cart', '/healthz', '/api/users/42', '/static/app.js'];
  const hosts = Array.from({ length: 4 }, (_, i) => ({ 'service.name': i < 2 ? 'web' : 'api', 'host.name': `node-${i}`, 'os.type': 'linux' }));
  const t0 = 1_700_000_000_000_000_000n;
  return Array.from({ length: BATCH }, (_, i) => {
    const status = r() < 0.9 ? 200 : 500;
    const path = paths[Math.floor(r() * paths.length)] as string;
    const ms = Math.floor(r() * 900);
    const host = hosts[i % hosts.length] as LogRecord['resource'];
    return {
      timeUnixNano: t0 + BigInt(i) * 1_234_567n,
      observedTimeUnixNano: t0 + BigInt(i) * 1_234_567n + 50_000n,
      severityNumber: status === 200 ? 9 : 17,
      severityText: status === 200 ? 'INFO' : 'ERROR',
      body: `10.0.${i % 256}.${(i * 7) % 256} - - [14/Nov/2023:22:13:20 +0000] "GET ${path} HTTP/1.1" ${status} ${Math.floor(r() * 50_000)} "-" "Mozilla/5.0 (X11; Linux x86_64)" ${ms}ms`,
      resource: host,
      attributes: { 'log.file.path': '/var/log/nginx/access.log', 'log.file.name': 'access.log', 'pharos.seq': i, 'http.status_code': status, 'http.route': path },
      traceId: r() < 0.3 ? '4bf92f3577b34da6a3ce929d0e0e4736' : '',
      spanId: r() < 0.3 ? '00f067aa0ba902b7' : '',
      flags: 0,
    } satisfies LogRecord;
  });
}

function metricBatch(seed: number): MetricSample[] {
  const r = rng(seed);
  const out: MetricSample[] = [];
  const ts = 1_700_000_000_000;
  for (let i = 0; out.length < BATCH; i++) {
    const labels = { job: 'node', instance: `node-${i % 8}:9100`, cpu: String(i % 16), mode: ['user', 'system', 'idle'][i % 3] as string };
    out.push({ name: 'node_cpu_seconds_total', labels, timestampMs: ts, value: r() * 1e6, type: 'counter' });
    out.push({ name: 'node_load1', labels: { job: 'node', instance: labels.instance, core: labels.cpu }, timestampMs: ts, value: r() * 4, type: 'gauge' });
    if (i % 10 === 0) {
      const base = { job: 'api', instance: `api-${i % 4}:8080`, handler: `/h${i % 20}` };
      let cum = 0;
      for (const le of ['0.005', '0.01', '0.05', '0.1', '0.5', '1', '+Inf']) {
        cum += Math.floor(r() * 10);
        out.push({ name: 'http_request_duration_seconds_bucket', labels: { ...base, le }, timestampMs: ts, value: cum, type: 'histogram_bucket' });
      }
      out.push({ name: 'http_request_duration_seconds_sum', labels: base, timestampMs: ts, value: r() * 100, type: 'histogram_sum' });
      out.push({ name: 'http_request_duration_seconds_count', labels: base, timestampMs: ts, value: cum, type: 'histogram_count' });
    }
  }
  return out.slice(0, BATCH);
}

/** Best of ten windows: these machines are shared, and the best window is the least disturbed. */
function rate(run: () => void): number {
  for (let i = 0; i < 20; i++) run(); // warm-up for the JIT
  let best = 0;
  for (let w = 0; w < 10; w++) {
    const start = performance.now();
    const end = start + (SECONDS * 1000) / 10;
    let n = 0;
    while (performance.now() < end) {
      run();
      n++;
    }
    best = Math.max(best, (n * BATCH) / ((performance.now() - start) / 1000));
  }
  return best;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const logs = logBatch(1);
const logBytes = encodeLogs(logs);
const logEncode = rate(() => encodeLogs(logs));
const logDecode = rate(() => decodeLogs(logBytes));
console.log(
  `logs    (1,000-record batches): encode ${fmt(logEncode)} records/s, decode ${fmt(logDecode)} records/s, ` +
    `${(logBytes.length / BATCH).toFixed(0)} bytes/record (gzip ${(gzipSync(logBytes).length / BATCH).toFixed(0)})`,
);

const samples = metricBatch(2);
const metricBytes = encodeMetrics(samples);
const metricEncode = rate(() => encodeMetrics(samples));
const metricDecode = rate(() => decodeMetrics(metricBytes));
console.log(
  `metrics (1,000-sample batches): encode ${fmt(metricEncode)} samples/s, decode ${fmt(metricDecode)} samples/s, ` +
    `${(metricBytes.length / BATCH).toFixed(0)} bytes/sample (gzip ${(gzipSync(metricBytes).length / BATCH).toFixed(0)})`,
);
console.log(`(load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}: figures from a busy machine are low)`);
