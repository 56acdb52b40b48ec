/**
 * `npm run bench:e2e`: the whole path at a sustained rate. A real local Kafka broker and
 * `pharos all` (collector, pipeline with chDB, dashboard) as separate processes; lines appended
 * to a tailed file at a fixed rate, with a marker line every 250 ms whose arrival in the
 * dashboard's log search (ClickHouse) and in the live WebSocket tail is timed. Prints
 * throughput, freshness p50/p99 for both paths, and CPU seconds and peak memory of each process.
 * Loopback only; bounded by BENCH_E2E_SECONDS (default 30) and BENCH_E2E_RATE (default 5000/s).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, LocalBroker } from '../core/kafka/local-broker.js';
import { createLogger } from '../core/log.js';
import { machine, printMachine } from './lib/machine.js';
import { percentile } from './lib/percentile.js';
import { writeResults } from './lib/results.js';

const SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 30);
const RATE = Number(process.env.BENCH_E2E_RATE ?? 5000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** CPU seconds (user + system) and peak resident memory of a live process, from /proc. */
function procUsage(pid: number): { cpu_s: number; peak_rss_mb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu_s: ticks / 100, peak_rss_mb: Math.round(Number(hwm?.[1] ?? 0) / 1024) };
}

const m = machine();
printMachine(m);
const dir = mkdtempSync(join(tmpdir(), 'pharos-bench-e2e-'));
const log = createLogger({ level: 'warn', destination: process.stderr });
const broker = await LocalBroker.start({ version: DEFAULT_KAFKA_VERSION, port: await freePort(), controllerPort: await freePort(), cacheDir: defaultKafkaCacheDir(), dataDir: join(dir, 'kafka'), log, heapMb: 768 });
const appLog = join(dir, 'app.log');
writeFileSync(appLog, '');
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const cli = join(import.meta.dirname, '..', 'bin', 'pharos.js');
const pharos = spawn(process.execPath, [cli, 'all'], {
  env: {
    ...process.env,
    PHAROS_DATA_DIR: join(dir, 'data'),
    PHAROS_NODE_NAME: 'bench-host',
    PHAROS_LOG__LEVEL: 'warn',
    PHAROS_KAFKA__BROKERS: broker.brokers.join(','),
    PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
    PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
    PHAROS_COLLECTOR__SELF_LOGS: 'false',
    PHAROS_COLLECTOR__FILES: `[{include: ["${appLog}"], service: bench, start_at: beginning}]`,
    PHAROS_COLLECTOR__POLL_MS: '100',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const stopAll = async () => {
  if (pharos.exitCode === null) {
    pharos.kill('SIGTERM');
    await new Promise((r) => pharos.once('exit', r));
  }
  await broker.stop();
  // The broker's log, the warehouse and the input file: gone with the run.
  rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok) break;
    if (i > 600) throw new Error('pharos all did not become ready in 60 s');
    await sleep(100);
  }

  // The live tail: a WebSocket on the dashboard's live channel; marker lines are timed when they arrive.
  const liveArrivals = new Map<string, number>();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/live`);
  ws.on('message', (data) => {
    const text = data.toString();
    for (const match of text.matchAll(/e2emark_(\d+)_\d+/g)) if (!liveArrivals.has(match[0])) liveArrivals.set(match[0], Date.now());
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'subscribe', id: 'bench', channel: 'logs', filter: { text: 'e2emark' }, history: 0 }));

  // Freshness in the warehouse: the log search is polled for the markers (bounded).
  const searchLatency: number[] = [];
  const found = new Set<string>();
  const searchMs: number[] = [];
  const markers: Array<{ token: string; at: number }> = [];
  let generating = true;
  // Polled while lines are written: freshness is measured under the load, not after it.
  const searching = (async () => {
    let deadline = Infinity;
    while (generating || (found.size < markers.length && Date.now() < deadline)) {
      if (!generating && deadline === Infinity) deadline = Date.now() + 120_000;
      const asked = Date.now();
      const res = await fetch(`${base}/api/logs?q=e2emark&from=now-1h&limit=1000`);
      const now = Date.now();
      searchMs.push(now - asked);
      if (res.ok) {
        const body = (await res.json()) as { data: { rows: Array<{ body: string }> } };
        for (const row of body.data.rows) {
          const token = /e2emark_\d+_\d+/.exec(row.body)?.[0];
          if (!token || found.has(token)) continue;
          found.add(token);
          const marker = markers.find((mk) => mk.token === token);
          if (marker) searchLatency.push(now - marker.at);
        }
      }
      await sleep(100);
    }
  })();
  const filler = 'x'.repeat(160);
  const started = Date.now();
  let written = 0;
  let nextMarker = started;
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE);
    if (due > written) {
      const lines: string[] = [];
      for (let i = written; i < due; i++) lines.push(`INFO bench line ${i} ${filler}`);
      if (Date.now() >= nextMarker) {
        const token = `e2emark_${markers.length}_${Date.now()}`;
        lines.push(`INFO marker ${token}`);
        markers.push({ token, at: Date.now() });
        nextMarker += 250;
      }
      appendFileSync(appLog, lines.join('\n') + '\n');
      written = due;
    }
    await sleep(20);
  }
  const genSeconds = (Date.now() - started) / 1000;
  generating = false;
  await searching;
  const drainSeconds = (Date.now() - started) / 1000;
  const liveLatency = markers.filter((mk) => liveArrivals.has(mk.token)).map((mk) => liveArrivals.get(mk.token)! - mk.at);
  ws.close();
  const metricsText = await (await fetch(`${base}/metrics`)).text();
  const inserted = [...metricsText.matchAll(/^pharos_warehouse_rows_inserted_total\{[^}]*table="otel_logs"[^}]*\} (\d+)/gm)].reduce((s, x) => s + Number(x[1]), 0);
  const usage = { pharos_all: procUsage(pharos.pid!), kafka: procUsage(broker.pid!) };

  const result = {
    machine: m,
    rate_offered_lines_per_s: RATE,
    seconds: Math.round(genSeconds),
    lines_written: written + markers.length,
    rows_inserted: inserted,
    throughput_rows_per_s: Math.round(inserted / drainSeconds),
    search_freshness_ms: { p50: percentile(searchLatency, 50), p99: percentile(searchLatency, 99), markers: markers.length, found: searchLatency.length },
    live_tail_latency_ms: { p50: percentile(liveLatency, 50), p99: percentile(liveLatency, 99), received: liveLatency.length },
    processes: usage,
  };
  console.log(`offered ${RATE} lines/s for ${Math.round(genSeconds)} s; ${inserted.toLocaleString('en')} rows stored, ${result.throughput_rows_per_s.toLocaleString('en')} rows/s until the last marker was searchable`);
  console.log(`file → searchable (ClickHouse): p50 ${result.search_freshness_ms.p50} ms, p99 ${result.search_freshness_ms.p99} ms (${searchLatency.length}/${markers.length} markers)`);
  console.log(`  (one search took p50 ${percentile(searchMs, 50)} ms, p99 ${percentile(searchMs, 99)} ms: freshness includes it)`);
  console.log(`file → live tail (WebSocket):   p50 ${result.live_tail_latency_ms.p50} ms, p99 ${result.live_tail_latency_ms.p99} ms (${liveLatency.length}/${markers.length} markers)`);
  console.log(`pharos all: CPU ${usage.pharos_all.cpu_s.toFixed(1)} s, peak RSS ${usage.pharos_all.peak_rss_mb} MB; kafka: CPU ${usage.kafka.cpu_s.toFixed(1)} s, peak RSS ${usage.kafka.peak_rss_mb} MB`);
  console.log(`results: ${writeResults('end-to-end', result)}`);
} finally {
  await stopAll();
}
process.exit(0);
