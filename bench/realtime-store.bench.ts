/**
 * The real-time store's figures: ingest rate into the head (samples/s, straight appends and
 * through the Kafka wire codec), bytes per sample on counter shapes, select latency over
 * 1,000 counter series × 2 h at 10 s, and the dashboard's PromQL range queries beside
 * VictoriaMetrics (cached and nocache) and Prometheus loaded with the same samples.
 * Run: `npm run bench:realtime` (figures only).
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import express from 'express';
import { promApiRouter } from '../pipeline/realtime/api/prom-api.js';
import { decodeMetrics, encodeMetricBatches } from '../core/codec/codec.js';
import type { MetricSample } from '../core/model/records.js';
import { XorChunk } from '../pipeline/realtime/chunk/xor-chunk.js';
import type { LabelMatcher } from '../pipeline/realtime/storage.js';
import { Head } from '../pipeline/realtime/tsdb/head.js';
import { HeadQuerier } from '../pipeline/realtime/tsdb/querier.js';
import { Engine } from '../pipeline/realtime/promql/engine.js';
import { machine } from './lib/machine.js';
import { percentile } from './lib/percentile.js';
import { startPrometheus, startVictoriaMetrics, type PeerTsdb } from './lib/peer-tsdb.js';
import { writeResults } from './lib/results.js';

const SERIES = 1000;
const STEP_MS = 10_000;
const STEPS = 720; // 2 h
const T0 = 1_700_000_000_000;

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

/** Samples in time order, as a scrape loop produces them: every series at one step, then the next step. */
function counterSamples(increment: (r: () => number) => number): MetricSample[] {
  const r = rng(7);
  const labels = Array.from({ length: SERIES }, (_, s) => ({
    job: 'api',
    instance: `host-${s % 50}:8080`,
    method: ['GET', 'POST', 'PUT', 'DELETE'][Math.floor(s / 50) % 4]!,
    code: ['200', '404', '500', '503', '302'][Math.floor(s / 200)]!,
  }));
  const values = Array.from({ length: SERIES }, () => Math.floor(r() * 1e6));
  const out: MetricSample[] = [];
  for (let i = 0; i < STEPS; i++) {
    for (let s = 0; s < SERIES; s++) {
      out.push({ name: 'http_requests_total', labels: labels[s]!, timestampMs: T0 + i * STEP_MS, value: values[s]!, type: 'counter' });
      values[s]! += increment(r);
    }
  }
  return out;
}


function stats(wall: number[], cpu: number[]): string {
  return `median ${percentile(wall, 50).toFixed(2)} ms (CPU ${percentile(cpu, 50).toFixed(2)} ms), p99 ${percentile(wall, 99).toFixed(2)} ms, ${wall.length} runs`;
}

function time<T>(fn: () => T): [T, number, number] {
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  const out = fn();
  const used = process.cpuUsage(cpu);
  return [out, Number(process.hrtime.bigint() - t) / 1e6, (used.user + used.system) / 1000];
}

const cpu = cpus();
console.log(
  `machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ` +
    `load average ${loadavg()[0]!.toFixed(1)} (figures from a loaded machine are noisy: CPU time is printed beside wall time)`,
);
console.log(`data: ${SERIES} counter series × ${STEPS} samples (2 h at 10 s) = ${SERIES * STEPS} samples\n`);

// Ingest: straight into the head.
const samples = counterSamples((r) => Math.floor(r() * 11));
const head = new Head();
const [, appendMs, appendCpuMs] = time(() => {
  for (const s of samples) head.append(s);
});
const mem = head.memory();
console.log(
  `ingest, head.append: ${Math.round(samples.length / (appendMs / 1000)).toLocaleString('en')} samples/s wall, ` +
    `${Math.round(samples.length / (appendCpuMs / 1000)).toLocaleString('en')} per CPU second`,
);

// Ingest through the wire codec, as the Kafka consumer does (decode + append).
const batches = encodeMetricBatches(samples.slice(0, 200_000));
const head2 = new Head();
const [, decodeMs, decodeCpuMs] = time(() => {
  for (const b of batches) for (const s of decodeMetrics(b)) head2.append(s);
});
console.log(
  `ingest, decodeMetrics + append: ${Math.round(200_000 / (decodeMs / 1000)).toLocaleString('en')} samples/s wall, ` +
    `${Math.round(200_000 / (decodeCpuMs / 1000)).toLocaleString('en')} per CPU second (${batches.length} messages)`,
);
console.log(
  `memory: ${mem.bytesPerSample.toFixed(3)} bytes/sample of chunk payload, ${(mem.chunkBytes / mem.numSamples).toFixed(3)} allocated; ` +
    `index estimate ${(mem.indexBytes / 1024).toFixed(0)} KiB; total ${(mem.totalBytes / 2 ** 20).toFixed(1)} MiB`,
);

// Bytes per sample by counter shape (XOR chunks of 120 samples, header included).
const shapes: Array<[string, (r: () => number, v: number) => number]> = [
  ['request counter, +0..10 per scrape', (r, v) => v + Math.floor(r() * 11)],
  ['request counter, +0..100 per scrape', (r, v) => v + Math.floor(r() * 101)],
  ['busy counter, +900..1100 per scrape', (r, v) => v + 900 + Math.floor(r() * 201)],
  ['idle counter, +0..3 per scrape', (r, v) => v + Math.floor(r() * 4)],
  ['constant', (_r, v) => v],
  ['CPU seconds (fractional)', (r, v) => v + 9.5 + r()],
];
console.log('\nbytes per sample by shape (120-sample chunks):');
for (const [name, next] of shapes) {
  let bytes = 0;
  let n = 0;
  for (let s = 0; s < 200; s++) {
    const r = rng(s);
    let v = Math.floor(r() * 1e6);
    for (let c = 0; c < 6; c++) {
      const ch = new XorChunk();
      for (let i = 0; i < 120; i++) {
        ch.append(T0 + (c * 120 + i) * STEP_MS, v);
        v = next(r, v);
      }
      bytes += ch.seal().length;
      n += 120;
    }
  }
  console.log(`  ${name.padEnd(40)} ${(bytes / n).toFixed(3)}`);
}

// Select latency.
const q = new HeadQuerier(head);
const end = T0 + (STEPS - 1) * STEP_MS;
const name: LabelMatcher = { name: '__name__', type: '=', value: 'http_requests_total' };
const cases: Array<[string, LabelMatcher[], number, number]> = [
  ['all 1,000 series, 2 h (720k samples)', [name], T0, end],
  ['all 1,000 series, last 5 m', [name], end - 300_000, end],
  ['method="GET" (250 series), 2 h', [name, { name: 'method', type: '=', value: 'GET' }], T0, end],
  ['code=~"5.." (400 series), last 1 h', [name, { name: 'code', type: '=~', value: '5..' }], end - 3600_000, end],
  ['one series, 2 h', [name, { name: 'instance', type: '=', value: 'host-7:8080' }, { name: 'method', type: '=', value: 'GET' }, { name: 'code', type: '=', value: '200' }], T0, end],
];
console.log('\nselect latency:');
for (const [label, matchers, minT, maxT] of cases) {
  for (let i = 0; i < 3; i++) q.select(matchers, minT, maxT); // warm up
  const runs: number[] = [];
  const cpuRuns: number[] = [];
  let got = 0;
  const budget = Date.now() + 3000;
  while (runs.length < 200 && Date.now() < budget) {
    const [res, ms, cpuMs] = time(() => q.select(matchers, minT, maxT));
    got = res.reduce((a, s) => a + s.timestamps.length, 0);
    runs.push(ms);
    cpuRuns.push(cpuMs);
  }
  console.log(`  ${label.padEnd(40)} ${stats(runs, cpuRuns)}, ${got.toLocaleString('en')} samples`);
}

// The dashboard queries, through the PromQL engine over the head, 2 h at a 15 s step.
// Peers on this machine class (from the issue): VictoriaMetrics ~20 ms and ~4 ms, Prometheus 2.42 91 ms and 16 ms.
const buckets = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
const histHead = new Head();
const histSamples: MetricSample[] = [];
{
  const r = rng(7);
  for (let s = 0; s < 100; s++) {
    const le = buckets[s % buckets.length]!;
    const instance = `host-${Math.floor(s / buckets.length)}:8080`;
    let v = 0;
    for (let i = 0; i < STEPS; i++) {
      // Cumulative buckets: a larger `le` counts at least what a smaller one does.
      v += Math.floor(r() * 5) * (buckets.indexOf(le) + 1);
      const sample: MetricSample = { name: 'http_request_duration_seconds_bucket', labels: { instance, le }, timestampMs: T0 + i * STEP_MS, value: v, type: 'histogram_bucket' };
      histHead.append(sample);
      histSamples.push(sample);
    }
  }
}
// Three figures per query: "no result cache" evaluates every step (decoded chunks kept between
// runs, as VictoriaMetrics keeps its block caches) and is the one to set beside VM's nocache and
// Prometheus; "cold" also clears the decoded-chunk cache before each run (every chunk decoded);
// "result cache" answers from the range-result cache (result-cache.ts), as VM does by default.
const engine = new Engine({ resultCacheBytes: 0 });
const cachedEngine = new Engine();
const queries: Array<[string, HeadQuerier, string, Head]> = [
  ['sum by (method) (rate(...[5m])), 1,000 series', q, 'sum by (method) (rate(http_requests_total[5m]))', head],
  ['histogram_quantile(0.99, ...), 100 buckets', new HeadQuerier(histHead), 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))', histHead],
];
type Figure = { median_ms: number; p99_ms: number };
function measure(run: () => void, before?: () => void): [Figure, string] {
  for (let i = 0; i < 3; i++) {
    before?.();
    run();
  }
  const runs: number[] = [];
  const cpuRuns: number[] = [];
  const budget = Date.now() + 5000;
  while (runs.length < 100 && Date.now() < budget) {
    before?.();
    const [, ms, cpuMs] = time(run);
    runs.push(ms);
    cpuRuns.push(cpuMs);
  }
  return [{ median_ms: percentile(runs, 50), p99_ms: percentile(runs, 99) }, stats(runs, cpuRuns)];
}
console.log('\nPromQL range queries, 2 h at a 15 s step:');
const promql: Record<string, Figure> = {};
const promqlCold: Record<string, Figure> = {};
const promqlCached: Record<string, Figure> = {};
for (const [label, querier, expr, h] of queries) {
  const [warm, warmLine] = measure(() => engine.rangeQuery(querier, expr, T0, end, 15_000));
  const [cold, coldLine] = measure(() => engine.rangeQuery(querier, expr, T0, end, 15_000), () => h.decoded.clear());
  const [cached, cachedLine] = measure(() => cachedEngine.rangeQuery(querier, expr, T0, end, 15_000));
  promql[label] = warm;
  promqlCold[label] = cold;
  promqlCached[label] = cached;
  console.log(`  ${label.padEnd(48)} no result cache: ${warmLine}`);
  console.log(`  ${''.padEnd(48)} cold (chunk cache cleared each run): ${coldLine}`);
  console.log(`  ${''.padEnd(48)} result cache: ${cachedLine}`);
}
// What the speed costs in memory: decoded chunks (16 bytes a sample, timestamps shared by series
// scraped together) against the chunks' own ~1 byte a sample, and the cached results.
{
  const decoded = head.decoded.bytes + histHead.decoded.bytes;
  const chunks = head.memory().chunkBytes + histHead.memory().chunkBytes;
  console.log(
    `  memory: decoded-chunk caches ${(decoded / 2 ** 20).toFixed(1)} MiB (chunks themselves ${(chunks / 2 ** 20).toFixed(1)} MiB), ` +
      `result cache ${(cachedEngine.resultCache!.bytes / 1024).toFixed(0)} KiB`,
  );
}

// The same queries on the peers, loaded with the same samples in this run, over HTTP. Pharos is
// asked the same way too, through its Prometheus API (result cache on, as it serves), though its
// server shares this process and its one thread with the client making the requests.
const peers: Record<string, Record<string, { median_ms: number; p99_ms: number }>> = {};
console.log('\nover HTTP, same data, same queries (Pharos above is in-process: no HTTP, no JSON):');
const allSamples = [...samples, ...histSamples];
const pharosHttp = await servePharos([['http_requests_total', q], ['http_request_duration_seconds_bucket', new HeadQuerier(histHead)]]);
const started: PeerTsdb[] = [pharosHttp];
const vm = await startVictoriaMetrics(allSamples);
if (typeof vm === 'string') console.log(`  ${vm}`);
else started.push(vm.peer, vm.uncached);
const prom = await startPrometheus(allSamples);
if (typeof prom === 'string') console.log(`  ${prom}`);
else started.push(prom);
for (const peer of started) {
  peers[peer.name] = {};
  for (const [label, , expr] of queries) {
    for (let i = 0; i < 3; i++) await peer.queryRange(expr, T0, end, 15_000);
    const runs: number[] = [];
    const budget = Date.now() + 5000;
    while (runs.length < 50 && Date.now() < budget) {
      const t = performance.now();
      await peer.queryRange(expr, T0, end, 15_000);
      runs.push(performance.now() - t);
    }
    const median = percentile(runs, 50);
    peers[peer.name]![label] = { median_ms: median, p99_ms: percentile(runs, 99) };
    const figure = `  ${peer.name.padEnd(26)} ${label.padEnd(48)} median ${median.toFixed(2)} ms, p99 ${percentile(runs, 99).toFixed(2)} ms`;
    if (peer === pharosHttp) {
      console.log(figure);
      continue;
    }
    // VictoriaMetrics by default answers from its rollup result cache: set beside Pharos's result
    // cache, in process and over HTTP; nocache and Prometheus beside Pharos evaluating every step.
    const withCache = peer.name === 'VictoriaMetrics';
    const ours = (withCache ? promqlCached : promql)[label]!.median_ms;
    const overHttp = withCache ? `, over HTTP ${(peers[pharosHttp.name]![label]!.median_ms / median).toFixed(2)}×` : '';
    console.log(`${figure} — Pharos (${withCache ? 'result cache' : 'no result cache'}) takes ${(ours / median).toFixed(2)}× its time${overHttp}`);
  }
}
for (const peer of started) await peer.stop();
/** Pharos's Prometheus API on loopback, one server per head, each query sent to its metric's. */
async function servePharos(heads: Array<[string, HeadQuerier]>): Promise<PeerTsdb> {
  const servers: Server[] = [];
  const bases = new Map<string, string>();
  for (const [metric, querier] of heads) {
    const app = express();
    app.use(promApiRouter({ querier: () => querier }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    bases.set(metric, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  return {
    name: 'Pharos (HTTP API)',
    queryRange: async (expr, startMs, endMs, stepMs) => {
      const base = [...bases].find(([metric]) => expr.includes(metric))![1];
      const url = `${base}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${startMs / 1000}&end=${endMs / 1000}&step=${stepMs / 1000}`;
      const body = (await (await fetch(url)).json()) as { status: string; error?: string; data?: { result: unknown[] } };
      if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? 'failed'}`);
      return body.data!.result.length;
    },
    stop: async () => {
      for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    },
  };
}

writeResults('realtime', { machine: machine(), bytes_per_sample: mem.bytesPerSample, promql, promql_cold: promqlCold, promql_result_cache: promqlCached, peers });
