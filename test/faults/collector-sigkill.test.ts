/**
 * Done-when of issue 11: `pharos collector` killed with SIGKILL in the middle of a stream of
 * numbered lines, then started again: no line lost; duplicates at most one unacknowledged batch
 * (the sink saves file checkpoints before each delivery, so at most one delivered batch is ever
 * ahead of them). The test counts the duplicates and asserts that bound.
 */
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { createTopics, testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';
import { numberedLines, readTopic, tally } from './collector-harness.js';

const MAX_RECORDS = 200;
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

test('SIGKILL mid-stream and a restart: no line lost, duplicates at most one batch', { timeout: 120_000 }, async () => {
  const brokers = testBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'pharos-sigkill-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const topic = uniqueTopic('sigkill.logs');
  await createTopics(brokers, [topic], 1);
  const file = join(dir, 'app.log');
  writeFileSync(file, '');
  const configFile = join(dir, 'pharos.yaml');
  const listen = `127.0.0.1:${await freePort()}`;
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify({
      node_name: 'sigkill-host',
      data_dir: join(dir, 'data'),
      log: { level: 'warn' },
      kafka: { brokers, topics: { logs: topic } },
      collector: {
        listen,
        files: [{ include: [file], service: 'app', start_at: 'beginning' }],
        poll_ms: 20,
        batch: { max_records: MAX_RECORDS, linger_ms: 20 },
        host_metrics: { enabled: false },
      },
    }),
  );
  const reader = await readTopic(brokers, topic);
  cleanups.push(() => reader.stop());
  const start = async (): Promise<PharosProcess> => {
    const p = spawnPharos(['collector', '-c', configFile], { PHAROS_LOG__LEVEL: 'info' });
    cleanups.push(() => p.stop());
    await p.waitForOutput(/collector running/, 60_000);
    return p;
  };

  let written = 0;
  const writer = setInterval(() => {
    appendFileSync(file, numberedLines(written, written + 40));
    written += 40;
  }, 20);
  cleanups.push(async () => clearInterval(writer));

  const first = await start();
  await waitFor('3,000 lines on the topic', () => tally(reader.records, 0).distinct >= 3000, 60_000);
  first.proc.kill('SIGKILL');
  await once(first.proc, 'exit');
  const atKill = written;

  await start();
  await waitFor('2,000 more lines written after the restart', () => written >= atKill + 2000, 30_000);
  clearInterval(writer);
  const total = written;
  await waitFor(`all ${total} lines on the topic`, () => tally(reader.records, total).distinct >= total, 60_000, 200);
  const t = tally(reader.records, total);
  console.info(`SIGKILL: ${total} lines, ${t.duplicates} duplicate(s) (bound: one batch of ${MAX_RECORDS})`);
  expect(t.missing).toEqual([]);
  expect(t.distinct).toBe(total);
  expect(t.duplicates).toBeLessThanOrEqual(MAX_RECORDS);
  // A re-read line carries the sequence number it had: the warehouse can tell repeats from new lines.
  expect(t.repeatedSeqs).toBe(t.duplicates);

  // The collector's own series, as an operator's Prometheus scrapes them.
  const metrics = await (await fetch(`http://${listen}/metrics`)).text();
  for (const name of [
    'pharos_component_received_events_total',
    'pharos_component_received_bytes_total',
    'pharos_component_sent_events_total',
    'pharos_collector_batches_sent_total',
    'pharos_collector_send_duration_seconds_bucket',
    'pharos_collector_spool_bytes',
    'pharos_collector_spool_segments_quarantined_total',
    'pharos_component_errors_total',
  ]) {
    expect(metrics).toContain(name);
  }
});
