/**
 * Done-when of issue 11, through the real broker: a 5 MB line, invalid UTF-8, binary garbage and a
 * malformed JSON line (parser json): the collector stays up, the bad input is shipped flagged
 * (log.truncated, log.invalid_utf8, log.parse_error) and counted, and the lines around it arrive.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import type { LogRecord } from '../../core/model/records.js';
import { waitFor } from '../harness/wait.js';
import { startCollectorRig, type CollectorRig } from './collector-in-process.js';

let rig: CollectorRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const json = (n: number, text: string) => `${JSON.stringify({ level: 'info', message: `line ${String(n).padStart(7, '0')} ${text}` })}\n`;

test('a 5 MB line, invalid UTF-8, binary garbage and malformed JSON: flagged or counted, the collector stays up, the lines around arrive', { timeout: 60_000 }, async () => {
  rig = await startCollectorRig('bad-input', (dir) => ({ include: [join(dir, 'app.log')], parser: 'json' }));
  const file = join(rig.dir, 'app.log');
  // Binary garbage without a newline inside (so it stays one line) and without the marker the tally reads.
  const garbage = Buffer.from(randomBytes(4096).map((b) => (b === 0x0a ? 0x00 : b)));
  writeFileSync(file, json(0, 'before'));
  appendFileSync(file, `{"level":"info","message":"line 0000001 huge ${'x'.repeat(5 * 1024 * 1024)}"}\n`);
  appendFileSync(file, Buffer.concat([Buffer.from('{"level":"warn","message":"line 0000002 bad utf8 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}\n')]));
  appendFileSync(file, Buffer.concat([garbage, Buffer.from('\n')]));
  appendFileSync(file, '{"level":"error","message":"line 0000004 malformed\n');
  for (let n = 5; n < 105; n++) appendFileSync(file, json(n, 'after'));

  const records = rig.reader.records;
  await waitFor('105 records on the topic', () => records.length >= 105, 30_000, 50);
  expect(records).toHaveLength(105);
  const byLine = new Map<number, LogRecord>();
  for (const r of records) {
    const m = /line (\d{7})/.exec(r.body);
    if (m && !byLine.has(Number(m[1]))) byLine.set(Number(m[1]), r);
  }
  // Around the bad input: parsed JSON, message as body.
  expect(byLine.get(0)!.body).toBe('line 0000000 before');
  for (let n = 5; n < 105; n++) expect(byLine.get(n)?.body).toBe(`line ${String(n).padStart(7, '0')} after`);

  // The 5 MB line: cut at max_line_bytes (256 KiB), so it is no longer whole JSON either.
  const huge = byLine.get(1)!;
  expect(huge.attributes['log.truncated']).toBe(true);
  expect(huge.attributes['log.parse_error']).toBeDefined();
  expect(Buffer.byteLength(huge.body)).toBeLessThanOrEqual(256 * 1024);
  // Invalid UTF-8 inside valid JSON: decoded with U+FFFD, parsed, flagged.
  const badUtf8 = byLine.get(2)!;
  expect(badUtf8.attributes['log.invalid_utf8']).toBe(true);
  expect(badUtf8.body).toContain('\uFFFD');
  expect(badUtf8.severityText).toBe('WARN');
  // Garbage: shipped whole as a plain record, flagged.
  const garbageRecord = records.find((r) => !/line \d{7}/.test(r.body))!;
  expect(garbageRecord.attributes['log.parse_error']).toBeDefined();
  expect(garbageRecord.attributes['log.invalid_utf8']).toBe(true);
  // Malformed JSON: the raw line as body, flagged.
  const malformed = byLine.get(4)!;
  expect(malformed.body).toBe('{"level":"error","message":"line 0000004 malformed');
  expect(malformed.attributes['log.parse_error']).toBeDefined();

  expect(await rig.metric('pharos_collector_lines_truncated_total')).toBe(1);
  expect(await rig.metric('pharos_collector_invalid_utf8_total')).toBe(2);
  expect(await rig.metric('pharos_collector_parse_errors_total')).toBe(3);
  // Sequence numbers stay whole: nothing was skipped at the edge.
  expect(records.map((r) => Number(r.attributes['pharos.seq'])).sort((a, b) => a - b)).toEqual(Array.from({ length: 105 }, (_, i) => i));
  expect(rig.collector.ready()).toBe(true);
});
