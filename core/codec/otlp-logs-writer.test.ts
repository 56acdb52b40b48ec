/**
 * The hand-written OTLP log writer must be invisible: for any records it writes exactly the
 * bytes protobufjs writes for the same request.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeLogs, encodeLogBatches, encodeLogs, encodeLogsWithProtobufjs } from './codec.js';
import type { Attributes, AttributeValue, LogRecord } from '../model/records.js';
import { ProtoWriter, varintSize } from './proto-writer.js';

/** Text of every width: ASCII, 2-, 3- and 4-byte UTF-8, lone surrogates, around the 64- and 128-byte edges. */
const text = (max: number) =>
  fc.oneof(
    fc.string({ maxLength: max }),
    fc.string({ unit: 'binary', maxLength: max }),
    fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udc00', '\n'), maxLength: max }),
    fc.integer({ min: 60, max: 140 }).map((n) => 'x'.repeat(n)),
    fc.integer({ min: 16_000, max: 17_000 }).map((n) => 'é'.repeat(n)),
  );

const value: fc.Arbitrary<AttributeValue> = fc.letrec<{ v: AttributeValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text(80),
    fc.integer(),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.double(),
    fc.constant(-0),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 3 }),
  ),
})).v;

const attributes: fc.Arbitrary<Attributes> = fc.dictionary(fc.oneof(text(10), fc.constantFrom('', 'log.file.path', 'pharos.seq', 'service.name')), value, { maxKeys: 5 });
const sharedResources: Attributes[] = [{ 'service.name': 'api', 'host.name': 'h1' }, { 'host.name': 'h2' }, {}];

const record: fc.Arbitrary<LogRecord> = fc.record({
  timeUnixNano: fc.bigInt({ min: -1n, max: 1n << 65n }),
  observedTimeUnixNano: fc.bigInt({ min: 0n, max: 1n << 64n }),
  severityNumber: fc.oneof(fc.integer({ min: 0, max: 24 }), fc.integer({ min: -5, max: 300 })),
  severityText: text(8),
  body: text(300),
  resource: fc.oneof(fc.constantFrom(...sharedResources), attributes),
  attributes,
  scopeName: fc.option(text(6), { nil: undefined }),
  scopeVersion: fc.option(fc.constantFrom('', '1.0'), { nil: undefined }),
  traceId: fc.oneof(fc.constant(''), fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex')), fc.string({ maxLength: 8 })),
  spanId: fc.oneof(fc.constant(''), fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'))),
  flags: fc.oneof(fc.nat(), fc.integer()),
}, { requiredKeys: ['timeUnixNano', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'body', 'resource', 'attributes', 'traceId', 'spanId', 'flags'] });

describe('hand-written OTLP log writer', () => {
  test('writes the bytes protobufjs writes, for any records', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), (records) => {
        expect(Buffer.from(encodeLogs(records)).equals(Buffer.from(encodeLogsWithProtobufjs(records)))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  test('attributes repeated across records (the reused encoded bytes) and then changed stay exact', () => {
    const resource = { 'service.name': 'web', 'host.name': 'h' };
    const records: LogRecord[] = Array.from({ length: 300 }, (_, i) => ({
      timeUnixNano: BigInt(i) * 1_000_000n,
      observedTimeUnixNano: 1n,
      severityNumber: 9,
      severityText: 'INFO',
      body: `line ${i} ${'x'.repeat(i % 150)}`,
      resource,
      attributes: { 'log.file.path': i < 150 ? '/var/log/a.log' : '/var/log/b.log', 'pharos.seq': i, n: i % 3 === 0 ? 'same' : `v${i}` },
      traceId: '',
      spanId: '',
      flags: 0,
    }));
    const bytes = encodeLogs(records);
    expect(Buffer.from(bytes).equals(Buffer.from(encodeLogsWithProtobufjs(records)))).toBe(true);
    const back = decodeLogs(bytes);
    expect(back.map((r) => r.attributes['log.file.path'])).toEqual(records.map((r) => r.attributes['log.file.path']));
    expect(back.map((r) => r.attributes['pharos.seq'])).toEqual(records.map((r) => r.attributes['pharos.seq']));
  });

  test('a request over 2 MB (3-byte lengths and more) round-trips', () => {
    const body = 'y'.repeat(1 << 20);
    const records = [0, 1, 2].map((i) => ({ timeUnixNano: 1n, observedTimeUnixNano: 1n, severityNumber: 0, severityText: '', body: body + i, resource: {}, attributes: {}, traceId: '', spanId: '', flags: 0 }));
    const bytes = encodeLogs(records);
    expect(Buffer.from(bytes).equals(Buffer.from(encodeLogsWithProtobufjs(records)))).toBe(true);
    expect(decodeLogs(bytes).map((r) => r.body.length)).toEqual([body.length + 1, body.length + 1, body.length + 1]);
    expect(encodeLogBatches(records, 1_100_000)).toHaveLength(3);
  });
});

describe('ProtoWriter', () => {
  test('varintSize matches the bytes varint writes, up to 2^53', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), (n) => {
        const w = new ProtoWriter(1);
        w.varint(n);
        expect(w.pos).toBe(varintSize(n));
      }),
    );
  });

  test('a length reserve that was too small or too large moves the content, not the bytes', () => {
    for (const [reserve, len] of [[1, 200], [3, 5], [2, 20_000]] as const) {
      const w = new ProtoWriter(4);
      w.byte(0x0a);
      const start = w.begin(reserve);
      w.raw(Buffer.alloc(len, 7));
      w.end(start, reserve);
      const out = w.finish();
      expect(out.length).toBe(1 + varintSize(len) + len);
      expect(out.subarray(1 + varintSize(len)).every((b) => b === 7)).toBe(true);
    }
  });
});
