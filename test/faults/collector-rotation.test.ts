/**
 * Done-when of issue 11, through the real broker: rotation by rename-and-create, by copytruncate,
 * and truncation in place: every line arrives once. (collector/sources/file-tail.test.ts checks
 * the same moves on the source alone.) The input's glob is `*.log`, as in a real config, so the
 * rotated `app.log.1` is not tailed as a new file.
 */
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { waitFor } from '../harness/wait.js';
import { numberedLines, tally } from './collector-harness.js';
import { startCollectorRig, type CollectorRig } from './collector-in-process.js';

let rig: CollectorRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const start = (name: string) => startCollectorRig(name, (dir) => ({ include: [join(dir, '*.log')] }));
const sentAll = (r: CollectorRig, n: number) => waitFor(`${n} lines acknowledged`, async () => (await r.metric('pharos_component_sent_events_total', { component_id: 'kafka_logs' })) >= n, 20_000, 20);

async function expectEveryLineOnce(r: CollectorRig, total: number): Promise<void> {
  await waitFor(`${total} lines on the topic`, () => tally(r.reader.records, total).distinct >= total, 30_000, 50);
  const t = tally(r.reader.records, total);
  expect(t.missing).toEqual([]);
  expect(t.distinct).toBe(total);
  expect(t.duplicates).toBe(0);
  expect(r.reader.records).toHaveLength(total);
}

test('rename-and-create, with late writes to the renamed file: every line once', { timeout: 60_000 }, async () => {
  rig = await start('rotate-rename');
  const file = join(rig.dir, 'app.log');
  writeFileSync(file, numberedLines(0, 2000));
  // Tailed (not necessarily read) before it is rotated: a file renamed before anyone saw it is not this test.
  await waitFor('the file tailed', async () => (await rig!.metric('pharos_collector_files_watched')) === 1, 10_000, 5);
  renameSync(file, `${file}.1`);
  // The application still holds the old file open for a moment.
  appendFileSync(`${file}.1`, numberedLines(2000, 2100));
  writeFileSync(file, numberedLines(2100, 3000));
  await sentAll(rig, 3000);
  appendFileSync(file, numberedLines(3000, 3500));
  await expectEveryLineOnce(rig, 3500);
  // The new file continues the path's sequence numbers.
  const seqs = rig.reader.records.map((r) => Number(r.attributes['pharos.seq']));
  expect(new Set(seqs).size).toBe(3500);
});

test('copytruncate (copy aside, truncate, refill): every line once', { timeout: 60_000 }, async () => {
  rig = await start('rotate-copytruncate');
  const file = join(rig.dir, 'app.log');
  writeFileSync(file, numberedLines(0, 2000));
  // copytruncate loses what the reader had not read when it truncates: logrotate's own caveat. Wait for it.
  await sentAll(rig, 2000);
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
  appendFileSync(file, numberedLines(2000, 2300));
  await sentAll(rig, 2300);
  // Past the old offset again.
  appendFileSync(file, numberedLines(2300, 5000));
  await expectEveryLineOnce(rig, 5000);
});

test('truncation in place, then writes both shorter and longer than before: every line once', { timeout: 60_000 }, async () => {
  rig = await start('rotate-truncate');
  const file = join(rig.dir, 'app.log');
  writeFileSync(file, numberedLines(0, 1000));
  await sentAll(rig, 1000);
  truncateSync(file, 0);
  appendFileSync(file, numberedLines(1000, 1100));
  await sentAll(rig, 1100);
  truncateSync(file, 0);
  appendFileSync(file, numberedLines(1100, 3000));
  await expectEveryLineOnce(rig, 3000);
});
