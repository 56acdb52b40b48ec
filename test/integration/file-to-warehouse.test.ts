/**
 * The foundation slice against real parts: lines written to a file travel collector → Kafka
 * (the harness's broker) → warehouse writer → ClickHouse (chDB), each exactly once.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCollector } from '../../collector/collector.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { startWarehouseWriter } from '../../pipeline/warehouse/writer.js';
import { ClickHouseLogSearch } from '../../pipeline/warehouse/log-search.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';

const LINES = 5_000;

describe('file → Kafka → ClickHouse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-slice-'));
  const logFile = join(dir, 'app.log');
  const log = silentLogger();
  const brokers = testBrokers();
  const topic = uniqueTopic('slice-logs');
  const config = validateConfig({
    node_name: 'slice-host',
    data_dir: dir,
    kafka: { brokers, topics: { logs: topic, metrics: uniqueTopic('slice-metrics'), deadletter: uniqueTopic('slice-dlq') } },
    clickhouse: { database: 'slice' },
    collector: { files: [{ include: [logFile], service: 'slice', start_at: 'beginning' }], poll_ms: 50, host_metrics: { enabled: false } },
    pipeline: { warehouse: { group_id: uniqueTopic('slice-group') } },
  });
  const bus = new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log);
  const admin = createClickHouse(config, log, 'admin');
  const ingest = createClickHouse(config, log, 'ingest');
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    await migrate(admin, { database: 'slice', logsTtlDays: 30, log });
    await bus.ensureTopics([topic, config.kafka.topics.metrics, config.kafka.topics.deadletter], 3);
    writeFileSync(logFile, '');
    const writer = await startWarehouseWriter({ bus, clickhouse: ingest, config, log, registry: createRegistry() });
    stops.push(() => writer.stop());
    const collector = await startCollector({ config, bus, log, registry: createRegistry() });
    stops.push(() => collector.stop());
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await bus.close();
    await Promise.all([admin.close(), ingest.close()]);
  });

  test('every line written to a tailed file is in otel_logs exactly once', async () => {
    // Written in uneven chunks, some ending mid-line, as a real application's writes land.
    let pending = '';
    for (let i = 0; i < LINES; i++) {
      pending += `2026-11-23T10:00:00Z INFO request ${i} handled token_${i}\n`;
      if (i % 397 === 0 || i === LINES - 1) {
        const cut = i === LINES - 1 ? pending.length : Math.max(1, pending.length - 7);
        appendFileSync(logFile, pending.slice(0, cut));
        pending = pending.slice(cut);
      }
    }
    const count = async () => {
      const r = await admin.query({ query: 'SELECT count() AS n, uniqExact(Body) AS u FROM slice.otel_logs', format: 'JSONEachRow' });
      const [row] = (await r.json()) as Array<{ n: string; u: string }>;
      return row!;
    };
    await waitFor('all lines in otel_logs', async () => Number((await count()).n) >= LINES);
    const { n, u } = await count();
    expect(Number(n)).toBe(LINES);
    expect(Number(u)).toBe(LINES);

    const r = await admin.query({
      query: `SELECT ServiceName AS service, ResourceAttributes['host.name'] AS host, SeverityText AS sev, LogAttributes['log.file.path'] AS path,
                     min(toUInt64OrZero(LogAttributes['pharos.seq'])) AS lo, max(toUInt64OrZero(LogAttributes['pharos.seq'])) AS hi, uniqExact(LogAttributes['pharos.seq']) AS seqs
              FROM slice.otel_logs GROUP BY service, host, sev, path`,
      format: 'JSONEachRow',
    });
    const groups = (await r.json()) as Array<Record<string, string | number>>;
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ service: 'slice', host: 'slice-host', sev: 'INFO', path: logFile });
    expect(Number(groups[0]!.seqs)).toBe(LINES);
    expect(Number(groups[0]!.hi) - Number(groups[0]!.lo) + 1).toBe(LINES);
  });

  test('the dashboard’s log search finds a line by its token', async () => {
    const search = new ClickHouseLogSearch(createClickHouse(config, log, 'query'), 'slice');
    const now = BigInt(Date.now()) * 1_000_000n;
    const rows = await search.search({ fromNs: now - 3_600_000_000_000n, toNs: now + 60_000_000_000n, text: 'token_4321', limit: 10 });
    expect(rows.map((r) => r.body)).toEqual(['2026-11-23T10:00:00Z INFO request 4321 handled token_4321']);
    expect(rows[0]).toMatchObject({ serviceName: 'slice', hostName: 'slice-host' });
  });
});
