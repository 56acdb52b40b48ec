/**
 * `npm run bench:alerts`: how fast Pharos pages. A Kafka broker of its own (or PHAROS_BENCH_KAFKA_BROKERS),
 * a spawned `pharos alerts` with one rule (`bench_disk_used_ratio > 0.9`, `for: 0`) routed with
 * `group_wait: 0` and `group_interval: 0` to a loopback webhook. Each iteration produces a sample
 * crossing the threshold to the metrics topic and times until the page arrives, then a clearing
 * sample and times until the resolve arrives. Prints p50/p99 of both and writes
 * bench/results/alerts.json.
 *
 *   npm run bench:alerts [-- --iterations 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertsEnv, gauge, MetricProducer, startHookServer, type ReceivedPage } from '../alerts/testing/incident-harness.js';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../core/log.js';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, LocalBroker } from '../core/kafka/local-broker.js';
import { spawnPharos } from '../test/harness/pharos-process.js';
import { machine, printMachine } from './lib/machine.js';
import { percentile } from './lib/percentile.js';
import { writeResults } from './lib/results.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ITERATIONS = arg('iterations', 100);
const WARMUP = 5;
const PAGE_TIMEOUT_MS = 10_000;
const TARGET_P99_MS = 250;

const RULES = `groups:
  - name: bench
    interval: 1h
    rules:
      - alert: BenchDiskFull
        expr: bench_disk_used_ratio > 0.9
        for: 0s
        labels: { severity: page }
`;


async function main(): Promise<void> {
  const m = machine();
  printMachine(m);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const work = mkdtempSync(join(tmpdir(), 'pharos-bench-alerts-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  try {
    let brokers = process.env.PHAROS_BENCH_KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
    if (brokers.length === 0) {
      const port = await freePort();
      let controllerPort = await freePort();
      while (controllerPort === port) controllerPort = await freePort();
      const log = createLogger({ level: 'warn', destination: process.stderr });
      const broker = await LocalBroker.start({ version: DEFAULT_KAFKA_VERSION, port, controllerPort, cacheDir: defaultKafkaCacheDir(), dataDir: join(work, 'kafka'), log });
      cleanups.push(() => broker.stop());
      brokers = broker.brokers;
    }
    const hook = await startHookServer();
    cleanups.push(() => hook.close());
    const prefix = `bench-alerts-${Date.now().toString(36)}`;
    const listen = `127.0.0.1:${await freePort()}`;
    const { env, metricsTopic } = alertsEnv({
      brokers,
      prefix,
      rules: RULES,
      listen,
      dataDir: join(work, 'data'),
      notify: {
        route: { receiver: 'hook', group_by: ['alertname', 'instance'], group_wait: '0s', group_interval: '0s', repeat_interval: '4h' },
        receivers: [{ name: 'hook', webhook_configs: [{ url: hook.url('/hook') }] }],
      },
      extra: { PHAROS_LOG__LEVEL: 'warn' },
    });
    const admin = new Kafka({ clientId: 'pharos-bench', brokers, logLevel: logLevel.ERROR }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: metricsTopic, numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();
    const producer = await MetricProducer.connect(brokers, metricsTopic);
    cleanups.push(() => producer.close());

    const proc = spawnPharos(['alerts'], { ...env, PHAROS_LOG__LEVEL: 'info' });
    cleanups.push(() => proc.stop());
    await proc.waitForOutput(/alerts active/, 120_000);
    await proc.waitForOutput(/real-time store caught up/, 60_000);

    let waiting: { status: string; resolve: (p: ReceivedPage) => void } | undefined;
    hook.onPage = (p) => {
      const a = p.body.alerts.find((x) => x.labels.alertname === 'BenchDiskFull');
      if (a && waiting && a.status === waiting.status) {
        const w = waiting;
        waiting = undefined;
        w.resolve(p);
      }
    };
    const timeUntil = async (status: 'firing' | 'resolved', value: number): Promise<number> => {
      const arrived = new Promise<ReceivedPage>((resolve, reject) => {
        waiting = { status, resolve };
        setTimeout(() => reject(new Error(`no ${status} page within ${PAGE_TIMEOUT_MS} ms`)), PAGE_TIMEOUT_MS).unref();
      });
      const t0 = performance.now();
      await producer.send([gauge('bench_disk_used_ratio', { instance: 'bench-host', mountpoint: '/' }, value)]);
      const page = await arrived;
      return page.at - t0;
    };

    const page: number[] = [];
    const resolve: number[] = [];
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const p = await timeUntil('firing', 0.95);
      const r = await timeUntil('resolved', 0.5);
      if (i >= WARMUP) {
        page.push(p);
        resolve.push(r);
      }
    }
    const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
    console.log(`alerts: ${ITERATIONS} iterations (after ${WARMUP} warm-up), for: 0, group_wait: 0, group_interval: 0`);
    console.log(`  sample produced → page at the webhook:    ${fmt(page)}`);
    console.log(`  clearing sample → resolve at the webhook: ${fmt(resolve)}`);
    const ok = percentile(page, 99) < TARGET_P99_MS && percentile(resolve, 99) < TARGET_P99_MS;
    console.log(`  target p99 < ${TARGET_P99_MS} ms for both: ${ok ? 'met' : 'NOT met'}`);
    const summary = (xs: number[]) => ({ p50_ms: round(percentile(xs, 50)), p99_ms: round(percentile(xs, 99)), max_ms: round(Math.max(...xs)), runs_ms: xs.map(round) });
    const out = writeResults('alerts', { machine: m, iterations: ITERATIONS, warmup: WARMUP, settings: { for: '0s', group_wait: '0s', group_interval: '0s' }, page: summary(page), resolve: summary(resolve), target_p99_ms: TARGET_P99_MS, target_met: ok });
    console.log(`results written to ${out}`);
  } finally {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        console.error(`bench cleanup: ${(err as Error).message}`);
      }
    }
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
