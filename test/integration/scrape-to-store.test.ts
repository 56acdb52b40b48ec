/**
 * Prometheus scrape end to end: a tiny local HTTP server serves exposition text; the collector
 * scrapes it, publishes to the metrics topic of the harness's broker, and the real-time store
 * answers PromQL over the scraped series, `up` for both the healthy and the dead target, and the
 * per-metric series budget refuses the exploding family.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCollector } from '../../collector/collector.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { freePort } from '../../core/kafka/local-broker.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { startRealtime, type RealtimeService } from '../../pipeline/realtime/realtime-service.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';

const EXPOSITION = (n: number) => `# TYPE app_requests_total counter
app_requests_total{method="GET"} ${100 + n}
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{le="0.1"} 5
app_latency_seconds_bucket{le="+Inf"} 8
app_latency_seconds_sum 1.5
app_latency_seconds_count 8
# TYPE per_session gauge
${Array.from({ length: 6 }, (_, i) => `per_session{session="s${i}"} ${i}`).join('\n')}
`;

describe('Prometheus scrape → Kafka → real-time store', () => {
  const log = silentLogger();
  const brokers = testBrokers();
  const registry = createRegistry();
  const stops: Array<() => Promise<void>> = [];
  let app: Server;
  let scrapes = 0;
  let target = '';
  let dead = '';
  let realtime: RealtimeService;

  beforeAll(async () => {
    app = createServer((_req, res) => res.end(EXPOSITION(scrapes++)));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    target = `127.0.0.1:${(app.address() as { port: number }).port}`;
    dead = `127.0.0.1:${await freePort()}`;
    const config = validateConfig({
      node_name: 'scraper',
      data_dir: mkdtempSync(join(tmpdir(), 'pharos-scrape-')),
      kafka: { brokers, topics: { logs: uniqueTopic('scrape-logs'), metrics: uniqueTopic('scrape-metrics') } },
      collector: {
        self_logs: false,
        host_metrics: { enabled: false },
        scrape: {
          targets: [
            { url: `http://${target}/metrics`, job: 'app', interval_ms: 1000, timeout_ms: 500 },
            { url: `http://${dead}/metrics`, job: 'gone', interval_ms: 1000, timeout_ms: 500 },
          ],
        },
        metrics: { max_series_per_metric: 4 },
      },
    });
    const bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
    stops.push(() => bus.close());
    await bus.ensureTopics([config.kafka.topics.logs, config.kafka.topics.metrics], 1);
    realtime = await startRealtime({ bus, config, log, registry });
    stops.unshift(() => realtime.stop());
    const collector = await startCollector({ config, bus, log, registry });
    stops.unshift(() => collector.stop());
  });

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {});
    app.closeAllConnections();
    app.close();
  });

  const latest = (name: string, match: Record<string, string> = {}) => {
    const now = Date.now();
    return realtime.ingest.querier
      .select([{ name: '__name__', type: '=', value: name }, ...Object.entries(match).map(([k, v]) => ({ name: k, type: '=' as const, value: v }))], now - 60_000, now + 1000)
      .map((s) => ({ labels: s.labels, value: s.values[s.values.length - 1]! }));
  };

  test('scraped series, up for each target, and the series budget', async () => {
    await waitFor('two scrapes of the app in the store', () => (latest('app_requests_total')[0]?.value ?? 0) >= 101, 30_000, 100);
    const [req] = latest('app_requests_total');
    expect(req!.labels).toEqual({ __name__: 'app_requests_total', method: 'GET', job: 'app', instance: target });
    expect(latest('app_latency_seconds_bucket').map((s) => [s.labels.le, s.value]).sort()).toEqual([
      ['+Inf', 8],
      ['0.1', 5],
    ]);
    expect(latest('app_latency_seconds_sum')[0]!.value).toBe(1.5);
    expect(latest('up', { job: 'app' }).map((s) => s.value)).toEqual([1]);
    const gone = await waitFor('up of the dead target', () => latest('up', { job: 'gone' })[0]);
    expect(gone).toEqual({ labels: { __name__: 'up', job: 'gone', instance: dead }, value: 0 });
    expect(latest('scrape_samples_scraped', { job: 'app' })[0]!.value).toBe(11);
    // 6 sessions against a budget of 4 series: 2 refused each scrape, and `session` named as the cause.
    expect(latest('per_session')).toHaveLength(4);
    const refused = await registry.getSingleMetric('pharos_collector_series_rejected_total')!.get();
    const row = refused.values.find((v) => v.labels.metric === 'per_session');
    expect(row?.labels.label).toBe('session');
    expect(row!.value).toBeGreaterThanOrEqual(2);
  });
});
