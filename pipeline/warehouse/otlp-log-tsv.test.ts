/**
 * The direct reader against the reference path (decodeLogs + otelLogTsvLine): same lines and days
 * for what it reads, and it gives up (never guesses) on the rest.
 */
import fc from 'fast-check';
import Long from 'long';
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, test } from 'vitest';
import { decodeLogs, encodeLogs } from '../../core/codec/codec.js';
import { opentelemetry } from '../../core/codec/otlp/generated/otlp.js';
import type { Attributes, AttributeValue, LogRecord } from '../../core/model/records.js';
import { storedTimeNano, utcDay } from './log-rows.js';
import { otelLogTsvLine } from './log-tsv.js';
import { otlpLogTsvRows, type TsvRows } from './otlp-log-tsv.js';

const { ExportLogsServiceRequest } = opentelemetry.proto.collector.logs.v1;
const FALLBACK = 1_700_000_000_000_000_000n;

function reference(bytes: Buffer): TsvRows {
  const out: TsvRows = { days: [], lines: [] };
  for (const r of decodeLogs(bytes)) {
    const t = storedTimeNano(r, FALLBACK);
    out.days.push(utcDay(t));
    out.lines.push(otelLogTsvLine(r, t));
  }
  return out;
}

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

const scalar: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('tab\there', 'new\nline', "quote'd", 'back\\slash', 'nul\0', 'cr\r', ''),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
);
// Keys the reader takes: not starting with a digit (objects would reorder those).
const key = fc.oneof(fc.string({ maxLength: 8 }).filter((k) => !/^[0-9]/.test(k)), fc.constantFrom('service.name', 'host.name', '__proto__', 'log.file.path', "it's", 'a\tb'));
const attributes: fc.Arbitrary<Attributes> = fc.dictionary(key, scalar, { maxKeys: 5 });

const logRecord: fc.Arbitrary<LogRecord> = fc.record(
  {
    timeUnixNano: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_800_000_000_000_000_000n })),
    observedTimeUnixNano: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    severityNumber: fc.integer({ min: 0, max: 24 }),
    severityText: fc.oneof(fc.constantFrom('INFO', 'ERROR', ''), fc.string({ maxLength: 8 })),
    body: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('multi\nline\tbody \\ end', '')),
    resource: attributes,
    attributes,
    scopeName: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
    scopeVersion: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
    traceId: fc.oneof(fc.constant(''), fc.constant('00000000000000000000000000000000'), fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'))),
    spanId: fc.oneof(fc.constant(''), fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'))),
    flags: fc.oneof(fc.nat({ max: 255 }), fc.nat()),
  },
  { requiredKeys: ['timeUnixNano', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'body', 'resource', 'attributes', 'traceId', 'spanId', 'flags'] },
);

describe('otlpLogTsvRows', () => {
  test('makes the reference lines and days for records of scalar attributes and string bodies', () => {
    fc.assert(
      fc.property(fc.array(logRecord, { minLength: 1, maxLength: 6 }), (records) => {
        const bytes = buf(encodeLogs(records));
        const direct = otlpLogTsvRows(bytes, FALLBACK);
        expect(direct).toEqual(reference(bytes));
      }),
      { seed: 0x5eed_2026, numRuns: 300 },
    );
  });

  test('strings repeated from one record to the next are reused only when their bytes are the same', () => {
    const at = (i: number, attributes: Attributes, severityText = 'INFO'): LogRecord => ({ timeUnixNano: 1_700_000_000_000_000_000n + BigInt(i), observedTimeUnixNano: 0n, severityNumber: 9, severityText, body: `b${i}`, resource: { 'service.name': 's' }, attributes, traceId: '', spanId: '', flags: 0 });
    const records = [
      at(0, { src: 'file:1', seq: 1 }),
      at(1, { src: 'file:2', seq: 2 }, 'WARN'),
      at(2, { src: 'file:1', seq: 'x' }),
      at(3, { crs: 'file:1', src: "it's" }, 'INFO'),
      at(4, { src: 'file:1', seq: 3 }, 'info'),
    ];
    for (const bytes of [buf(encodeLogs(records)), buf(encodeLogs(records.slice(2))), buf(encodeLogs(records.slice(0, 2)))]) {
      expect(otlpLogTsvRows(bytes, FALLBACK)).toEqual(reference(bytes));
    }
  });

  test('what it reads from damaged bytes is what the reference reads; it never accepts what the reference refuses', () => {
    const records: LogRecord[] = [
      { timeUnixNano: 1_700_000_000_000_000_001n, observedTimeUnixNano: 0n, severityNumber: 9, severityText: 'INFO', body: 'hello world', resource: { 'service.name': 'api', 'host.name': 'h1' }, attributes: { 'http.status_code': 200, ok: true, ratio: 0.5 }, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 },
      { timeUnixNano: 0n, observedTimeUnixNano: 1_700_000_000_000_000_002n, severityNumber: 17, severityText: 'ERROR', body: 'second', resource: { 'service.name': 'api', 'host.name': 'h1' }, attributes: {}, scopeName: 'lib', scopeVersion: '1.0', traceId: '', spanId: '', flags: 0 },
    ];
    const good = buf(encodeLogs(records));
    let read = 0;
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.nat({ max: 255 }), fc.nat({ max: good.length }), (at, byte, cut) => {
        const damaged = Buffer.from(good);
        damaged[at] = byte;
        for (const bytes of [damaged, damaged.subarray(0, cut)]) {
          const direct = otlpLogTsvRows(bytes, FALLBACK);
          if (direct === undefined) continue;
          read++;
          expect(direct).toEqual(reference(bytes));
        }
      }),
      { seed: 0x5eed_2026, numRuns: 2000 },
    );
    // Many single-byte changes land in text or numbers and still parse: the comparison above ran.
    expect(read).toBeGreaterThan(100);
  });

  test('gives up on structured values, integer-like and repeated keys, event names and repeated fields', () => {
    const base = { timeUnixNano: 1_700_000_000_000_000_000n, observedTimeUnixNano: 0n, severityNumber: 9, severityText: 'INFO', body: 'b', resource: { 'service.name': 's' }, traceId: '', spanId: '', flags: 0 };
    const cases: Array<{ name: string; bytes: Buffer }> = [
      { name: 'array value', bytes: buf(encodeLogs([{ ...base, attributes: { list: [1, 2] } }])) },
      { name: 'map value', bytes: buf(encodeLogs([{ ...base, attributes: { m: { a: 1 } } }])) },
      { name: 'integer-like key', bytes: buf(encodeLogs([{ ...base, attributes: { b: 1, '10': 2 } }])) },
    ];
    const kv = (k: string, v: string) => ({ key: k, value: { stringValue: v } });
    const raw = (logRecord: Record<string, unknown>) =>
      buf(ExportLogsServiceRequest.encode({ resourceLogs: [{ resource: { attributes: [kv('service.name', 's')] }, scopeLogs: [{ logRecords: [logRecord] }] }] } as never).finish());
    cases.push({ name: 'repeated key', bytes: raw({ timeUnixNano: Long.fromString('1700000000000000000', true), attributes: [kv('a', '1'), kv('a', '2')] }) });
    cases.push({ name: 'event name', bytes: raw({ timeUnixNano: Long.fromString('1700000000000000000', true), eventName: 'login' }) });
    // Two bodies in one record (concatenated encodings merge): the second would replace the first.
    const { LogRecord: PbLogRecord } = opentelemetry.proto.logs.v1;
    const twoBodies = Buffer.concat([PbLogRecord.encode({ timeUnixNano: Long.fromString('1700000000000000000', true), body: { stringValue: 'first' } } as never).finish(), PbLogRecord.encode({ body: { stringValue: 'second' } } as never).finish()]);
    const field = (n: number, bytes: Uint8Array): Buffer => Buffer.from(protobuf.Writer.create().uint32((n << 3) | 2).bytes(bytes).finish());
    cases.push({ name: 'body repeated', bytes: field(1, field(2, field(2, twoBodies))) });
    expect(decodeLogs(cases.at(-1)!.bytes)[0]!.body).toBe('second');

    for (const c of cases) {
      expect({ name: c.name, direct: otlpLogTsvRows(c.bytes, FALLBACK) }).toEqual({ name: c.name, direct: undefined });
      // The reference path still reads them: these are not dead letters, only the slower way.
      expect(decodeLogs(c.bytes).length).toBe(1);
    }
  });

  test('an empty request is no rows; garbage is given up on', () => {
    expect(otlpLogTsvRows(Buffer.alloc(0), FALLBACK)).toEqual({ days: [], lines: [] });
    expect(otlpLogTsvRows(Buffer.from('not protobuf at all, just text'), FALLBACK)).toBeUndefined();
  });
});
