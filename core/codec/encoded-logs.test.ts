/**
 * Pre-encoded records must be invisible: a plain line written from its bytes is the record the
 * general writer writes, and messages framed from pre-encoded records are the requests
 * encodeLogs writes for the same records, cut at the same limit.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Attributes, LogRecord } from '../model/records.js';
import { decodeLogs, encodeLogs } from './codec.js';
import { EncodedLogsBuilder, encodeAttributeFields, encodeEncodedLogs, type EncodedMessage } from './encoded-logs.js';

const resource: Attributes = { 'service.name': 'api', 'host.name': 'node-1' };
const fileAttributes: Attributes = { env: 'prod', 'log.file.path': '/var/log/app.log', 'log.file.name': 'app.log', 'pharos.source': 'file:/var/log/app.log' };

const plainRecord = (body: string, severityNumber: number, severityText: string, seq: number, observed: bigint): LogRecord => ({
  timeUnixNano: 0n,
  observedTimeUnixNano: observed,
  severityNumber,
  severityText,
  body,
  resource,
  attributes: { ...fileAttributes, 'pharos.seq': seq },
  traceId: '',
  spanId: '',
  flags: 0,
});

/** Valid UTF-8 text of every width, around the varint edges of body lengths. */
const body = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', ' '), maxLength: 200 }),
  fc.integer({ min: 100, max: 140 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 16_370, max: 16_400 }).map((n) => 'y'.repeat(n)),
);
/** Lines of one read share their observed time (the builder caches its bytes); others each have their own. */
const observedTime = fc.oneof(fc.constant(1_700_000_000_123_456_789n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const severity = fc.constantFrom<[number, string]>([0, ''], [9, 'INFO'], [17, 'ERROR'], [5, 'DEBUG']);

/** A message's pieces as one buffer, checked against its stated length. */
function joined(m: EncodedMessage): Buffer {
  const bytes = Buffer.concat(m.pieces);
  expect(bytes.length).toBe(m.length);
  return bytes;
}

describe('pre-encoded log records', () => {
  test('a plain line written from its bytes is the record the general writer writes', () => {
    const attributes = encodeAttributeFields(fileAttributes);
    fc.assert(
      fc.property(fc.array(fc.tuple(body, severity, fc.nat({ max: 2 ** 40 }), observedTime), { minLength: 1, maxLength: 8 }), (lines) => {
        const fast = new EncodedLogsBuilder(resource);
        const general = new EncodedLogsBuilder(resource);
        for (const [text, [severityNumber, severityText], seq, observed] of lines) {
          // The body inside a larger buffer, as a line inside a read chunk.
          const chunk = Buffer.from(`head\n${text}\ntail`);
          const start = 5;
          fast.addPlain(chunk, start, start + Buffer.byteLength(text), { number: severityNumber, text: severityText }, attributes, seq, observed);
          general.add(plainRecord(text, severityNumber, severityText, seq, observed));
        }
        const a = fast.finish();
        const b = general.finish();
        expect(a.bytes.equals(b.bytes)).toBe(true);
        expect(a.ends).toEqual(b.ends);
      }),
      { numRuns: 300 },
    );
  });

  test('messages framed from pre-encoded records are the requests encodeLogs writes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(body, severity), { minLength: 1, maxLength: 30 }), (lines) => {
        const builder = new EncodedLogsBuilder(resource);
        const records = lines.map(([text, [n, t]], i) => plainRecord(text, n, t, i, 1_700_000_000_000_000_000n + BigInt(i)));
        for (const r of records) builder.add(r);
        const [message, ...more] = encodeEncodedLogs([builder.finish()], 10 * 1024 * 1024);
        expect(more).toEqual([]);
        expect(joined(message!).equals(Buffer.from(encodeLogs(records)))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test('a batch over the limit is cut between records, in order, every message within the limit', () => {
    const a = new EncodedLogsBuilder(resource);
    const otherResource: Attributes = { 'service.name': 'web', 'host.name': 'node-1' };
    const b = new EncodedLogsBuilder(otherResource);
    const c = new EncodedLogsBuilder(resource);
    const bodies: string[] = [];
    for (let i = 0; i < 300; i++) {
      const text = `line ${i} ${'z'.repeat(i % 97)}`;
      bodies.push(text);
      (i < 100 ? a : i < 200 ? b : c).add({ ...plainRecord(text, 9, 'INFO', i, 1n), resource: i >= 100 && i < 200 ? otherResource : resource });
    }
    const limit = 4096;
    const messages = encodeEncodedLogs([a.finish(), b.finish(), c.finish()], limit);
    expect(messages.length).toBeGreaterThan(5);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(limit);
    const decoded = messages.flatMap((m) => decodeLogs(joined(m)));
    // Records of one resource stay together and in order; `c` shares `a`'s resource object.
    const expected = [...bodies.slice(0, 100), ...bodies.slice(200), ...bodies.slice(100, 200)];
    expect(decoded.map((r) => r.body)).toEqual(expected);
    expect(decoded.map((r) => r.attributes['pharos.seq'])).toEqual(expected.map((t) => Number(t.split(' ')[1])));
    expect(decoded.slice(200).every((r) => r.resource['service.name'] === 'web')).toBe(true);
  });

  test('a record larger than the limit goes alone; empty parts add nothing', () => {
    const big = new EncodedLogsBuilder(resource);
    big.add(plainRecord('small', 9, 'INFO', 1, 1n));
    big.add(plainRecord('b'.repeat(10_000), 9, 'INFO', 2, 1n));
    big.add(plainRecord('after', 9, 'INFO', 3, 1n));
    const messages = encodeEncodedLogs([new EncodedLogsBuilder(resource).finish(), big.finish()], 2048);
    expect(messages.map((m) => decodeLogs(joined(m)).map((r) => r.body.length))).toEqual([[5], [10_000], [5]]);
    expect(encodeEncodedLogs([], 2048)).toEqual([]);
  });
});
