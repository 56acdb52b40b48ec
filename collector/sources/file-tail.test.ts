import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { FileInputConfig } from '../../core/config/schema.js';
import { silentLogger } from '../../core/log.js';
import { decodeLogs } from '../../core/codec/codec.js';
import { encodeEncodedLogs } from '../../core/codec/encoded-logs.js';
import type { LogRecord } from '../../core/model/records.js';
import { RegistryClass, type Registry } from '../../core/telemetry/registry.js';
import { waitFor } from '../../test/harness/wait.js';
import { componentTelemetry } from '../events.js';
import { parseEvents } from '../transforms/events.js';
import { createLineParser } from '../transforms/parser.js';
import { createRecordGate, type RecordGate } from '../transforms/record-gate.js';
import { validateConfig } from '../../core/config/load.js';
import { detectSeverity } from '../transforms/severity.js';
import { CheckpointStore } from './checkpoint-store.js';
import { FileTailSource, type FileTailBatch } from './file-tail.js';
import { MAX_WRITTEN_ATTRIBUTES } from './line-scan.js';

const POLL_MS = 20;
const WAIT_MS = 10_000;
const until = (what: string, probe: () => unknown) => waitFor(what, probe, WAIT_MS, 5);

interface Tail {
  source: FileTailSource;
  records: LogRecord[];
  bodies(): string[];
  /** Batches handed over and not acknowledged (only when started with `ack: 'manual'`). */
  unacked: FileTailBatch[];
  registry: Registry;
  /** Awaits the source having read `path` to its current size. */
  caughtUp(path: string): Promise<void>;
  stop(): Promise<void>;
}

const running: Tail[] = [];

/** The batch's records as the warehouse will read them. */
function decodeBatch(batch: FileTailBatch): LogRecord[] {
  return encodeEncodedLogs([batch.encoded], Number.MAX_SAFE_INTEGER).flatMap((m) => decodeLogs(Buffer.concat(m.pieces)));
}

afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function tail(dataDir: string, input: Partial<FileInputConfig> & { include: string[] }, opts: { ack?: 'auto' | 'manual'; gate?: RecordGate; registry?: Registry } = {}): Promise<Tail> {
  const registry = opts.registry ?? new RegistryClass();
  const log = silentLogger();
  const checkpoints = await CheckpointStore.open(join(dataDir, 'collector'), componentTelemetry(registry, log, { kind: 'service', id: 'checkpoints', type: 'file_checkpoints' }));
  const records: LogRecord[] = [];
  const unacked: FileTailBatch[] = [];
  const full: FileInputConfig = { exclude: [], service: 'svc', start_at: 'beginning', max_line_bytes: 1024 * 1024, parser: 'plain', time_format: 'rfc3339', ...input };
  const telemetry = componentTelemetry(registry, log, { kind: 'source', id: 'file:svc', type: 'file_tail' });
  const source: FileTailSource = new FileTailSource({
    input: full,
    nodeName: 'node-1',
    pollMs: POLL_MS,
    maxBatchRecords: 50,
    checkpoints,
    parser: createLineParser(full, parseEvents(registry, telemetry, full.parser)),
    telemetry,
    gate: opts.gate,
    send: async (batch) => {
      records.push(...decodeBatch(batch));
      if (opts.ack === 'manual') unacked.push(batch);
      else source.commit(batch.fileId, batch.endOffset);
    },
  });
  const abort = new AbortController();
  const run = source.run(abort.signal);
  let stopped: Promise<void> | undefined;
  const t: Tail = {
    source,
    records,
    unacked,
    registry,
    bodies: () => records.map((r) => r.body),
    caughtUp: async (path) => {
      const size = readFileSync(path).length;
      await until(`${path} read to ${size}`, () => source.status().some((s) => s.path === path && s.readOffset === size));
    },
    stop: () =>
      (stopped ??= (async () => {
        abort.abort();
        await run;
        await checkpoints.close();
      })()),
  };
  running.push(t);
  return t;
}

const lines = (from: number, to: number, prefix = 'line') => Array.from({ length: to - from }, (_, i) => `${prefix} ${from + i}`);
const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

async function metric(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  return (await m.get()).values.reduce((n, v) => n + v.value, 0);
}

describe('file tail: lines', () => {
  test('assembles lines split across writes, and holds a partial last line until it is completed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, 'first\nsec');
    const t = await tail(dir, { include: [file] });
    await t.caughtUp(file);
    expect(t.bodies()).toEqual(['first']);
    appendFileSync(file, 'ond half');
    await t.caughtUp(file);
    expect(t.bodies()).toEqual(['first']);
    appendFileSync(file, '\nthird\nfour');
    await until('third', () => t.records.length === 3);
    await t.caughtUp(file);
    expect(t.bodies()).toEqual(['first', 'second half', 'third']);
    appendFileSync(file, 'th\n');
    await until('fourth', () => t.records.length === 4);
    expect(t.bodies()).toEqual(['first', 'second half', 'third', 'fourth']);
  });

  test('strips CRLF line endings, also when CR and LF land in different writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'win.log');
    writeFileSync(file, 'a\r\nb\r\n\r\nc\r');
    const t = await tail(dir, { include: [file] });
    await t.caughtUp(file);
    expect(t.bodies()).toEqual(['a', 'b', '']);
    appendFileSync(file, '\nd\n');
    await until('5 lines', () => t.records.length === 5);
    expect(t.bodies()).toEqual(['a', 'b', '', 'c', 'd']);
  });

  test('cuts a line longer than max_line_bytes, tags it, counts it, and keeps the next line whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'long.log');
    // The long line arrives in pieces (held, then overflowing) and ends in multi-byte characters at the cut.
    writeFileSync(file, 'before\n' + 'x'.repeat(200));
    const t = await tail(dir, { include: [file], max_line_bytes: 256 });
    await t.caughtUp(file);
    appendFileSync(file, 'x'.repeat(55) + 'é'.repeat(500));
    await t.caughtUp(file);
    appendFileSync(file, 'y'.repeat(5000) + '\nafter\n' + 'z'.repeat(300) + '\n');
    await until('4 lines', () => t.records.length === 4);
    const [before, long, after, short] = t.records;
    expect(before!.body).toBe('before');
    // 255 x and the first é would make 257 bytes: the cut goes before the é, never through it.
    expect(long!.body).toBe('x'.repeat(255));
    expect(Buffer.byteLength(long!.body)).toBeLessThanOrEqual(256);
    expect(long!.attributes['log.truncated']).toBe(true);
    expect(long!.attributes['log.invalid_utf8']).toBeUndefined();
    expect(after!.body).toBe('after');
    expect(after!.attributes['log.truncated']).toBeUndefined();
    expect(short!.body).toBe('z'.repeat(256));
    expect(await metric(t.registry, 'pharos_collector_lines_truncated_total')).toBe(2);
    expect(await metric(t.registry, 'pharos_collector_truncated_bytes_total')).toBe(1000 + 5000 + 44);
  });

  test('decodes invalid UTF-8 with replacement characters, tags the line, and leaves the lines around it intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'bin.log');
    writeFileSync(file, Buffer.concat([Buffer.from('good 1 ünïcödé\n'), Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0xc3, 0x0a]), Buffer.from('good 2\n')]));
    const t = await tail(dir, { include: [file] });
    await until('3 lines', () => t.records.length === 3);
    const [a, b, c] = t.records;
    expect(a!.body).toBe('good 1 ünïcödé');
    expect(a!.attributes['log.invalid_utf8']).toBeUndefined();
    expect(b!.body).toBe('bad \ufffd\ufffd\ufffd');
    expect(b!.attributes['log.invalid_utf8']).toBe(true);
    expect(c!.body).toBe('good 2');
    expect(c!.attributes['log.invalid_utf8']).toBeUndefined();
    expect(await metric(t.registry, 'pharos_collector_invalid_utf8_total')).toBe(1);
  });

  test('stamps resource, file attributes, a per-file sequence and the severity of the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'svc.log');
    writeFileSync(file, '2026-01-01T00:00:00Z ERROR disk full\nplain line\n');
    const t = await tail(dir, { include: [file], service: 'billing' });
    await until('2 lines', () => t.records.length === 2);
    const [err, plain] = t.records;
    expect(err).toMatchObject({
      timeUnixNano: 0n,
      severityNumber: 17,
      severityText: 'ERROR',
      resource: { 'service.name': 'billing', 'host.name': 'node-1' },
      attributes: { 'log.file.path': file, 'log.file.name': 'svc.log', 'pharos.source': `file:${file}`, 'pharos.seq': 0 },
    });
    expect(err!.observedTimeUnixNano).toBeGreaterThan(0n);
    expect(plain).toMatchObject({ severityNumber: 0, severityText: '', attributes: { 'pharos.seq': 1 } });
  });

  test('lines across read boundaries: carried to the next read or held when long, multi-byte characters split by a read included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'svc.log');
    // ~700 KB, so reads of 64 KiB end inside lines and inside characters; some lines are longer
    // than half a read (held, not carried) and one is longer than a whole read.
    const lines = Array.from({ length: 3000 }, (_, i) =>
      i % 500 === 250 ? `long ${i} ${'ä'.repeat(20_000 + i)}` : i === 1234 ? `huge ${'z'.repeat(70_000)}` : `${i % 3 === 0 ? 'INFO' : 'WARN'} line ${i} ${'é日x'.repeat(i % 50)}`,
    );
    writeFileSync(file, text(lines));
    const t = await tail(dir, { include: [file] });
    await until('3000 lines', () => t.records.length === 3000);
    expect(t.bodies()).toEqual(lines);
    expect(t.records.map((r) => r.attributes['pharos.seq'])).toEqual(lines.map((_, i) => i));
    expect(t.records.some((r) => r.attributes['log.invalid_utf8'] !== undefined)).toBe(false);
  });

  test('a file whose attributes are too long for the WebAssembly record writer: the same records, written line by line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'svc.log');
    const lines = Array.from({ length: 120 }, (_, i) => `${['INFO', 'WARN', 'plain'][i % 3]} line ${i}${i % 7 === 0 ? '\r' : ''}`);
    writeFileSync(file, text(lines));
    const big = 'v'.repeat(MAX_WRITTEN_ATTRIBUTES);
    const t = await tail(dir, { include: [file], attributes: { big } });
    await until('120 lines', () => t.records.length === 120);
    expect(t.bodies()).toEqual(lines.map((l) => l.replace('\r', '')));
    expect(t.records.map((r) => r.attributes['pharos.seq'])).toEqual(lines.map((_, i) => i));
    expect(t.records.map((r) => r.severityText)).toEqual(lines.map((_, i) => ['INFO', 'WARN', ''][i % 3]));
    expect(t.records.every((r) => r.attributes['big'] === big)).toBe(true);
  });

  test('parser json: a JSON-lines file yields message, severity, event time (ns) and flattened attributes; a malformed line is kept whole, flagged and counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.json.log');
    writeFileSync(
      file,
      [
        '{"level":50,"time":1763892000123,"pid":7,"msg":"payment failed","req":{"method":"POST","id":"r-1"},"tags":["a","b"]}',
        '{"level":"warn","ts":"2026-11-23T10:00:00.123456789Z","message":"slow","took_ms":812.5}',
        '{"level":"info","msg":"cut',
        '{"severity":"notice","@timestamp":1763892000123456789,"log":"ns epoch"}',
      ].join('\n') + '\n',
    );
    const t = await tail(dir, { include: [file], parser: 'json' });
    await until('4 lines', () => t.records.length === 4);
    const [a, b, bad, ns] = t.records;
    expect(a).toMatchObject({
      body: 'payment failed',
      severityNumber: 17,
      severityText: 'ERROR',
      timeUnixNano: 1763892000123n * 1_000_000n,
      attributes: { pid: 7, 'req.method': 'POST', 'req.id': 'r-1', tags: '["a","b"]', 'log.file.name': 'app.json.log', 'pharos.seq': 0 },
    });
    expect(a!.attributes).not.toHaveProperty('msg');
    expect(a!.attributes).not.toHaveProperty('level');
    expect(a!.attributes).not.toHaveProperty('time');
    expect(b).toMatchObject({ body: 'slow', severityNumber: 13, severityText: 'WARN', timeUnixNano: 1_795_428_000_123_456_789n, attributes: { took_ms: 812.5 } });
    expect(bad).toMatchObject({ body: '{"level":"info","msg":"cut', timeUnixNano: 0n, attributes: { 'log.parse_error': expect.stringContaining('invalid JSON'), 'pharos.seq': 2 } });
    expect(ns).toMatchObject({ body: 'ns epoch', severityNumber: 10, severityText: 'INFO2', timeUnixNano: 1763892000123456789n });
    const errors = (await t.registry.getSingleMetric('pharos_collector_parse_errors_total')!.get()).values;
    expect(errors).toEqual([expect.objectContaining({ value: 1, labels: { component_id: 'file:svc', parser: 'json' } })]);
  });
});

describe('file tail: files', () => {
  test('rename-and-create rotation: the old file is read to its end, then the new one from 0; every line once, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 100)));
    const t = await tail(dir, { include: [file] });
    await until('100 lines', () => t.records.length === 100);
    // Written just before the rotation, so the source meets them only in the renamed file.
    appendFileSync(file, text(lines(100, 150)));
    renameSync(file, `${file}.1`);
    writeFileSync(file, text(lines(150, 200)));
    await until('200 lines', () => t.records.length >= 200);
    appendFileSync(file, text(lines(200, 210)));
    await until('210 lines', () => t.records.length >= 210);
    await t.caughtUp(file);
    expect(t.bodies()).toEqual(lines(0, 210));
    // The path's sequence continues across the rotation: gaps and duplicates stay detectable per source.
    expect(t.records.map((r) => r.attributes['pharos.seq'])).toEqual(lines(0, 210).map((_, i) => i));
    expect(t.source.status()).toHaveLength(1);
  });

  test('a deleted file is read to its end and closed; one created later at the path is read from 0, its sequence continuing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 10)));
    const t = await tail(dir, { include: [file] });
    await until('10 lines', () => t.records.length === 10);
    appendFileSync(file, 'last words\n');
    rmSync(file);
    await until('closed', () => t.source.status().length === 0);
    expect(t.bodies()).toEqual([...lines(0, 10), 'last words']);
    expect(await metric(t.registry, 'pharos_collector_files_watched')).toBe(0);
    writeFileSync(file, 'reborn\n');
    await until('12 lines', () => t.records.length === 12);
    expect(t.records[11]).toMatchObject({ body: 'reborn', attributes: { 'pharos.seq': 11 } });
  });

  test('truncation (shorter file, and copytruncate then refilled past the old offset) restarts at 0 and reads every line once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 50)));
    const t = await tail(dir, { include: [file] });
    await until('50 lines', () => t.records.length === 50);
    truncateSync(file, 0);
    await until('truncation seen', () => t.source.status()[0]?.readOffset === 0);
    appendFileSync(file, text(lines(50, 60)));
    await until('60 lines', () => t.records.length === 60);
    // Replaced by longer content before the next poll: the size alone cannot tell, the head's fingerprint does.
    writeFileSync(file, text(lines(60, 200, 'other')));
    await until('200 lines', () => t.records.length >= 200);
    await t.caughtUp(file);
    expect(t.bodies()).toEqual([...lines(0, 60), ...lines(60, 200, 'other')]);
  });

  test('picks up new files matching the glob while running, from their start, and honours exclude', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    writeFileSync(join(dir, 'a.log'), 'old a\n');
    const t = await tail(dir, { include: [join(dir, '*.log'), join(dir, 'sub', '**', '*.log')], exclude: ['*.skip.log'], start_at: 'end' });
    await until('a.log tailed', () => t.source.status().length === 1);
    appendFileSync(join(dir, 'a.log'), 'new a\n');
    writeFileSync(join(dir, 'b.log'), 'b 1\nb 2\n');
    writeFileSync(join(dir, 'c.skip.log'), 'never\n');
    writeFileSync(join(dir, 'c.txt'), 'never\n');
    const deep = join(dir, 'sub', 'x', 'y');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'd.log'), 'd 1\n');
    await until('4 lines', () => t.records.length >= 4);
    await until('3 files', () => t.source.status().length === 3);
    expect(t.bodies().sort()).toEqual(['b 1', 'b 2', 'd 1', 'new a']);
    expect(await metric(t.registry, 'pharos_collector_files_watched')).toBe(3);
  });

  test('start_at end skips what a file held at start, but not what a file with a checkpoint holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 10)));
    const first = await tail(dir, { include: [file], start_at: 'end' });
    await first.caughtUp(file);
    appendFileSync(file, text(lines(10, 20)));
    await until('10 lines', () => first.records.length === 10);
    expect(first.bodies()).toEqual(lines(10, 20));
    await first.stop();
    appendFileSync(file, text(lines(20, 30)));
    const second = await tail(dir, { include: [file], start_at: 'end' });
    await until('10 more', () => second.records.length === 10);
    await second.caughtUp(file);
    expect(second.bodies()).toEqual(lines(20, 30));
  });

  test('a file rotated while the collector was down: its lines after the checkpoint are read from the rotated name, then the new file; every line once, sequence continued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 50)));
    const first = await tail(dir, { include: [file] });
    await until('50 lines', () => first.records.length === 50);
    await first.stop();
    // While stopped: more lines, then rotation by rename and create, then lines in the new file.
    appendFileSync(file, text(lines(50, 80)));
    renameSync(file, `${file}.1`);
    writeFileSync(file, text(lines(80, 100)));
    const second = await tail(dir, { include: [file] });
    await until('50 lines', () => second.records.length === 50);
    expect(second.bodies()).toEqual(lines(50, 100));
    expect(second.records.map((r) => r.attributes['pharos.seq'])).toEqual(lines(50, 100).map((_, i) => 50 + i));
    expect(new Set(second.records.map((r) => r.attributes['log.file.path']))).toEqual(new Set([file]));
    // Nothing more arrives: the rotated file is closed after its end, not read again.
    await second.caughtUp(file);
    expect(second.records).toHaveLength(50);
  });

  test('start_at end remembers a silent file: lines written while stopped are read at restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'quiet.log');
    writeFileSync(file, 'before start\n');
    const first = await tail(dir, { include: [file], start_at: 'end' });
    await first.caughtUp(file);
    await first.stop();
    appendFileSync(file, 'while stopped\n');
    const second = await tail(dir, { include: [file], start_at: 'end' });
    await until('1 line', () => second.records.length === 1);
    expect(second.bodies()).toEqual(['while stopped']);
  });
});

describe('file tail: checkpoints', () => {
  test('resumes after a restart where acknowledged: nothing read twice, nothing lost, sequence continued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 120)));
    const first = await tail(dir, { include: [file] });
    await until('120 lines', () => first.records.length === 120);
    await first.stop();
    appendFileSync(file, text(lines(120, 130)));
    const second = await tail(dir, { include: [file] });
    appendFileSync(file, 'line 130\n');
    await until('11 lines', () => second.records.length === 11);
    await second.caughtUp(file);
    await second.stop();
    expect([...first.bodies(), ...second.bodies()]).toEqual(lines(0, 131));
    expect(second.records.map((r) => r.attributes['pharos.seq'])).toEqual(lines(120, 131).map((_, i) => 120 + i));
    const saved = JSON.parse(readFileSync(join(dir, 'collector', 'checkpoints.json'), 'utf8')) as { files: Record<string, { path: string; offset: number; seq: number }> };
    expect(Object.values(saved.files)).toEqual([expect.objectContaining({ path: file, offset: readFileSync(file).length, seq: 131 })]);
  });

  test('advances the checkpoint only over acknowledged batches: unacknowledged ones are read again, with the same sequence numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 120))); // 3 batches of at most 50
    const first = await tail(dir, { include: [file] }, { ack: 'manual' });
    await until('120 read', () => first.records.length === 120);
    expect(first.unacked.map((b) => b.encoded.ends.length)).toEqual([50, 50, 20]);
    first.source.commit(first.unacked[0]!.fileId, first.unacked[0]!.endOffset);
    await first.stop();
    const second = await tail(dir, { include: [file] });
    await until('70 re-read', () => second.records.length === 70);
    await second.caughtUp(file);
    expect(second.bodies()).toEqual(lines(50, 120));
    expect(second.records.map((r) => r.attributes['pharos.seq'])).toEqual(first.records.slice(50).map((r) => r.attributes['pharos.seq']));
  });

  test('a batch acknowledged after its file was truncated and refilled checkpoints the old content: a restart does not skip the new lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 40, 'old')));
    const first = await tail(dir, { include: [file] }, { ack: 'manual' });
    await until('40 read', () => first.records.length === 40);
    // Truncated and refilled past the old offset while the old batch is still in flight.
    truncateSync(file, 0);
    writeFileSync(file, text(lines(0, 80, 'new')));
    await until('new content read', () => first.records.length === 120);
    const old = first.unacked[0]!;
    first.source.commit(old.fileId, old.endOffset);
    await first.stop();
    const second = await tail(dir, { include: [file] });
    await until('new content re-read', () => second.records.length === 80);
    await second.caughtUp(file);
    expect(second.bodies()).toEqual(lines(0, 80, 'new'));
  });

  test('a reused inode with different content is not resumed at the old offset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(lines(0, 40)));
    const first = await tail(dir, { include: [file] });
    await until('40 lines', () => first.records.length === 40);
    await first.stop();
    // Same inode, new head, longer than the old offset: only the fingerprint tells.
    writeFileSync(file, text(lines(0, 60, 'fresh')));
    const second = await tail(dir, { include: [file], start_at: 'end' });
    await until('60 lines', () => second.records.length === 60);
    expect(second.bodies()).toEqual(lines(0, 60, 'fresh'));
  });

  test('moves a damaged checkpoint file aside and starts without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, 'one\n');
    mkdirSync(join(dir, 'collector'), { recursive: true });
    writeFileSync(join(dir, 'collector', 'checkpoints.json'), '{"version":1,"files":');
    const t = await tail(dir, { include: [file] });
    await until('1 line', () => t.records.length === 1);
    expect(await metric(t.registry, 'pharos_component_errors_total')).toBe(1);
  });
});

describe('file tail: multiline records, filters and extra attributes', () => {
  const javaTrace = ['2026-01-01T00:00:00Z ERROR request failed', 'java.lang.IllegalStateException: boom', '\tat com.example.Api.handle(Api.java:42)', '\tat com.example.Server.run(Server.java:7)'];

  test('multiline: continuation lines join the record their start line opened; the last record ships after timeout_ms', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    writeFileSync(file, text(['continuation before any start', ...javaTrace, '2026-01-01T00:00:01Z INFO next request', 'Caused by: nothing']));
    const t = await tail(dir, { include: [file], multiline: { start_pattern: '^\\d{4}-\\d{2}-\\d{2}T', max_lines: 500, timeout_ms: 50 } });
    await until('3 records', () => t.records.length === 3);
    expect(t.bodies()).toEqual(['continuation before any start', javaTrace.join('\n'), '2026-01-01T00:00:01Z INFO next request\nCaused by: nothing']);
    expect(t.records.map((r) => r.attributes['pharos.seq'])).toEqual([0, 1, 2]);
    expect(t.records[1]!.severityText).toBe('ERROR');
  });

  test('multiline: an unfinished record is not checkpointed; after a restart it arrives whole, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'app.log');
    const multiline = { start_pattern: '^\\d{4}-', max_lines: 500, timeout_ms: 600_000 };
    writeFileSync(file, text(['2026-01-01 zero', '2026-01-01 first', ...javaTrace.slice(1, 3)]));
    const first = await tail(dir, { include: [file], multiline });
    await first.caughtUp(file);
    await until('the finished record', () => first.records.length === 1);
    expect(first.bodies()).toEqual(['2026-01-01 zero']);
    await first.stop();
    appendFileSync(file, text([javaTrace[3]!, '2026-01-01 second']));
    const second = await tail(dir, { include: [file], multiline });
    await until('the first record', () => second.records.length === 1);
    expect(second.bodies()).toEqual([['2026-01-01 first', ...javaTrace.slice(1)].join('\n')]);
  });

  test('filters drop records before they are numbered and count them by source and reason; input attributes are stamped; a batch of only drops still moves the checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-tail-'));
    const file = join(dir, 'access.log');
    const input = validateConfig({
      collector: { files: [{ include: [file], attributes: { team: 'web' }, filters: { drop: [{ name: 'health', field: 'body', regex: 'GET /health' }] } }] },
    }).collector.files[0]!;
    writeFileSync(file, text(['GET /health 200', 'GET /api 200', 'GET /health 200', 'GET /api 201']));
    const registry = new RegistryClass();
    const gate = createRecordGate(validateConfig({ collector: { files: [input] } }).collector, registry);
    const t = await tail(dir, { ...input, start_at: 'beginning' }, { gate, registry });
    await until('2 records', () => t.records.length === 2);
    expect(t.bodies()).toEqual(['GET /api 200', 'GET /api 201']);
    expect(t.records.map((r) => [r.attributes['pharos.seq'], r.attributes['team']])).toEqual([
      [0, 'web'],
      [1, 'web'],
    ]);
    const dropped = (await registry.getSingleMetric('pharos_collector_records_dropped_total')!.get()).values;
    expect(dropped.map((v) => [v.labels.source, v.labels.reason, v.value])).toEqual([[`file:${file}`, 'health', 2]]);
    appendFileSync(file, text(['GET /health 200', 'GET /health 200']));
    await t.caughtUp(file);
    await until('the drops counted', async () => (await metric(registry, 'pharos_collector_records_dropped_total')) === 4);
    await t.stop();
    // Everything was handed over and acknowledged, drops included: a restart reads nothing again.
    const registry2 = new RegistryClass();
    const again = await tail(dir, { ...input, start_at: 'beginning' }, { gate: createRecordGate(validateConfig({ collector: { files: [input] } }).collector, registry2), registry: registry2 });
    await again.caughtUp(file);
    expect(again.records).toEqual([]);
    expect(await metric(registry2, 'pharos_collector_records_dropped_total')).toBe(0);
  });
});

describe('severity heuristic', () => {
  test.each([
    ['2026-01-01 12:00:00 ERROR failed to connect', 17, 'ERROR'],
    ['[WARN] disk at 91%', 13, 'WARN'],
    ['WARNING: deprecated flag', 13, 'WARN'],
    ['level=info msg="started"', 9, 'INFO'],
    ['{"time":1,"level":"debug","msg":"x"}', 5, 'DEBUG'],
    ['{"level":50,"time":1,"msg":"boom"}', 17, 'ERROR'],
    ['2026/01/01 [error] 12#0: upstream timed out', 17, 'ERROR'],
    ['FATAL out of memory', 21, 'FATAL'],
    ['TRACE enter handler', 1, 'TRACE'],
    ['INFO request failed with ERROR later', 9, 'INFO'],
    ['no error was found here', 0, ''],
    ['ERRORS_TOTAL 3', 0, ''],
  ])('%s → %s', (line, number, text) => {
    expect(detectSeverity(line)).toEqual({ number, text });
  });
});
