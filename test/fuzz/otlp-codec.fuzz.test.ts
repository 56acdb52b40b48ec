/**
 * The OTLP protobuf codec reads whatever is on the Kafka topics (a Collector, a bad producer, a
 * bit flip): every byte string decodes or throws DecodeError, never allocates what a forged
 * length prefix claims, and what decodes can be encoded again.
 */
import fc from 'fast-check';
import Long from 'long';
import { describe, expect, test } from 'vitest';
import { checkWireHeaders, decodeLogs, decodeMetricsDetailed, DecodeError, encodeLogs, encodeMetrics, WIRE_HEADER } from '../../core/codec/codec.js';
import { opentelemetry } from '../../core/codec/otlp/generated/otlp.js';
import type { Attributes, AttributeValue, LogRecord, MetricSample } from '../../core/model/records.js';
import { ReceiveError } from '../../collector/receivers/body.js';
import { otlpJsonToProtobuf, wireFormatOf } from '../../collector/receivers/otlp-messages.js';
import { allocatedBy, expectTyped, fuzz, mutatedBytes, mutatedText, randomBytes, randomText } from './kit.js';

const { ExportLogsServiceRequest } = opentelemetry.proto.collector.logs.v1;
const { ExportMetricsServiceRequest } = opentelemetry.proto.collector.metrics.v1;

const attributeValue: fc.Arbitrary<AttributeValue> = fc.letrec<{ v: AttributeValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    randomText(20),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 3 }),
  ),
})).v;

const attributes: fc.Arbitrary<Attributes> = fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'service.name', 'host.name')), attributeValue, { maxKeys: 4 });

const logRecord: fc.Arbitrary<LogRecord> = fc.record({
  timeUnixNano: fc.bigInt({ min: -1n, max: 1n << 65n }),
  observedTimeUnixNano: fc.bigInt({ min: 0n, max: 1n << 64n }),
  severityNumber: fc.integer({ min: 0, max: 24 }),
  severityText: fc.string({ maxLength: 8 }),
  body: randomText(60),
  resource: attributes,
  attributes,
  traceId: fc.oneof(fc.constant(''), fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex')), fc.string({ maxLength: 8 })),
  spanId: fc.oneof(fc.constant(''), fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'))),
  flags: fc.nat(),
});

const sample: fc.Arbitrary<MetricSample> = fc.record(
  {
    name: fc.oneof(fc.constantFrom('http_requests_total', 'req_bucket', 'req_sum', 'req_count', 'rpc', 'rpc_sum', 'rpc_count'), fc.string({ maxLength: 10 })),
    labels: fc.dictionary(fc.oneof(fc.constantFrom('job', 'instance', 'le', 'quantile'), fc.string({ maxLength: 6 })), fc.oneof(fc.constantFrom('0.5', '+Inf', 'NaN', '1e3'), fc.string({ maxLength: 8 })), { maxKeys: 4 }),
    timestampMs: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.double()),
    value: fc.double(),
    type: fc.constantFrom('counter', 'gauge', 'histogram_bucket', 'histogram_sum', 'histogram_count', 'summary', 'summary_sum', 'summary_count', 'unknown'),
    stale: fc.boolean(),
  },
  { requiredKeys: ['name', 'labels', 'timestampMs', 'value', 'type'] },
);

/** Messages of every metric kind as a Collector writes them, including those the codec drops. */
function collectorMetrics(): Uint8Array {
  const t = Long.fromString('1795428000000000000', true);
  const u = (n: number) => Long.fromNumber(n, true);
  const attrs = [{ key: 'k', value: { stringValue: 'v' } }, { key: '0bad key', value: { kvlistValue: { values: [{ key: 'x', value: { arrayValue: { values: [{ intValue: Long.fromNumber(1) }] } } }] } } }];
  return ExportMetricsServiceRequest.encode(
    ExportMetricsServiceRequest.create({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }, { key: 'service.namespace', value: { stringValue: 'shop' } }, { key: 'host.name', value: { stringValue: 'h' } }] },
          scopeMetrics: [
            {
              metrics: [
                { name: 'g', gauge: { dataPoints: [{ timeUnixNano: t, asDouble: 1.5, attributes: attrs }, { timeUnixNano: t, asInt: Long.fromNumber(-7) }] } },
                { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: t, asInt: Long.fromString('9007199254740993'), flags: 1 }] } },
                { name: 'd', sum: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: t, asDouble: 2 }] } },
                { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: t, count: u(10), sum: 5, bucketCounts: [u(1), u(2), u(7)], explicitBounds: [0.1, 1] }] } },
                { name: 's', summary: { dataPoints: [{ timeUnixNano: t, count: u(3), sum: 2, quantileValues: [{ quantile: 0.5, value: 1 }, { quantile: 0.99, value: 2 }] }] } },
                { name: 'e', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: t, count: u(1), scale: 2, positive: { offset: 1, bucketCounts: [u(1)] } }] } },
                { name: 'm', gauge: { dataPoints: [{ timeUnixNano: u(0), asDouble: 1 }] }, metadata: [{ key: 'prometheus.type', value: { stringValue: 'unknown' } }] },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
}

function collectorLogs(): Uint8Array {
  return ExportLogsServiceRequest.encode(
    ExportLogsServiceRequest.create({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeLogs: [
            {
              scope: { name: 'lib', version: '1.0' },
              logRecords: [
                { timeUnixNano: Long.fromString('1795428000000000001', true), severityNumber: 9, severityText: 'INFO', body: { kvlistValue: { values: [{ key: 'a', value: { bytesValue: Uint8Array.from([0, 1, 2]) } }] } }, traceId: Uint8Array.from({ length: 16 }, (_, i) => i), spanId: Uint8Array.from({ length: 8 }, (_, i) => i), eventName: 'ev', flags: 1 },
                { body: { arrayValue: { values: [{ doubleValue: 1.5 }, { boolValue: true }, {}] } } },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
}

const LOG_CORPUS = [collectorLogs(), encodeLogs([{ timeUnixNano: 1n, observedTimeUnixNano: 2n, severityNumber: 9, severityText: 'INFO', body: 'GET / 200', resource: { 'service.name': 'api', 'host.name': 'h' }, attributes: { a: [1, { b: 'c' }], n: 2.5 }, traceId: '00'.repeat(15) + '01', spanId: '01'.repeat(8), flags: 1, scopeName: 's' }])];
const METRIC_CORPUS = [collectorMetrics(), encodeMetrics([{ name: 'req_bucket', labels: { job: 'j', instance: 'i', le: '0.5' }, timestampMs: 1_795_428_000_000, value: 3, type: 'histogram_bucket' }, { name: 'up', labels: { job: 'j' }, timestampMs: 1_795_428_000_000, value: 1, type: 'gauge', stale: true }])];

/** Bytes from valid messages (fixed and generated), mutated, and plain random bytes. */
const logBytes = fc.oneof(randomBytes(256), mutatedBytes(LOG_CORPUS), mutatedBytes(fc.array(logRecord, { maxLength: 3 }).map(encodeLogs)));
const metricBytes = fc.oneof(randomBytes(256), mutatedBytes(METRIC_CORPUS), mutatedBytes(fc.array(sample, { maxLength: 4 }).map(encodeMetrics)));

describe('OTLP protobuf decode', () => {
  fuzz('logs: decodes or throws DecodeError; what decodes encodes again', logBytes, (bytes) => {
    const r = expectTyped('decodeLogs', bytes, () => decodeLogs(bytes), DecodeError);
    if (r.ok) expectTyped('encodeLogs(decodeLogs())', bytes, () => encodeLogs(r.value));
  });

  fuzz('metrics: decodes or throws DecodeError; what decodes encodes again', metricBytes, (bytes) => {
    const r = expectTyped('decodeMetricsDetailed', bytes, () => decodeMetricsDetailed(bytes, { promoteResourceAttributes: ['host.name', 'k'] }), DecodeError);
    if (r.ok) expectTyped('encodeMetrics(decodeMetrics())', bytes, () => encodeMetrics(r.value.samples));
  });

  fuzz('any records and samples encode, and decode back', fc.tuple(fc.array(logRecord, { maxLength: 3 }), fc.array(sample, { maxLength: 4 })), ([records, samples]) => {
    const logs = expectTyped('encodeLogs', records, () => encodeLogs(records));
    if (logs.ok) expectTyped('decodeLogs', logs.value, () => decodeLogs(logs.value));
    const metrics = expectTyped('encodeMetrics', samples, () => encodeMetrics(samples));
    if (metrics.ok) expectTyped('decodeMetricsDetailed', metrics.value, () => decodeMetricsDetailed(metrics.value));
  }, 200);

  fuzz('wire headers of any value: accepted or DecodeError', fc.oneof(randomText(40), randomBytes(40), fc.array(fc.oneof(randomText(20), randomBytes(20)), { maxLength: 3 })), (value) => {
    expectTyped('checkWireHeaders', value, () => checkWireHeaders({ [WIRE_HEADER]: value }), DecodeError);
  });
});

describe('OTLP protobuf decode: forged lengths and depth', () => {
  /** A field-1 (length-delimited) tag claiming `length` bytes, followed by only a few. */
  const claim = (length: number) => {
    const varint: number[] = [];
    for (let v = length; ; ) {
      if (v < 0x80) {
        varint.push(v);
        break;
      }
      varint.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    return Uint8Array.from([0x0a, ...varint, 0x0a, 0x00]);
  };

  test.each([2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 35])('a length prefix of %d is refused without allocating it', (length) => {
    for (const decode of [() => decodeLogs(claim(length)), () => decodeMetricsDetailed(claim(length))]) {
      let thrown: unknown;
      const bytes = allocatedBy(() => {
        try {
          decode();
        } catch (err) {
          thrown = err;
        }
      });
      expect(thrown).toBeInstanceOf(DecodeError);
      expect(bytes).toBeLessThan(16 * 1024 * 1024);
    }
  });

  test('a value nested past the decoder depth limit is a DecodeError, not a stack overflow', () => {
    // AnyValue{kvlist_value: KeyValueList{values: KeyValue{key, value: AnyValue{…}}}} 400 levels deep (1200 messages).
    let inner: Uint8Array = Uint8Array.from([0x0a, 0x01, 0x78]); // AnyValue{string_value: "x"}
    const wrap = (field: number, body: Uint8Array) => {
      const len: number[] = [];
      for (let v = body.length; ; v >>>= 7) {
        if (v < 0x80) {
          len.push(v);
          break;
        }
        len.push((v & 0x7f) | 0x80);
      }
      return Uint8Array.from([(field << 3) | 2, ...len, ...body]);
    };
    for (let i = 0; i < 400; i++) inner = wrap(6, wrap(1, wrap(2, inner))); // AnyValue.kvlist_value > KeyValueList.values > KeyValue.value
    const record = wrap(5, inner); // LogRecord.body
    const bytes = wrap(1, wrap(2, wrap(2, record))); // request > ResourceLogs.scope_logs > ScopeLogs.log_records
    expect(() => decodeLogs(bytes)).toThrow(DecodeError);
  });
});

/** OTLP/JSON as SDKs post it to the collector's /v1/logs and /v1/metrics. */
const JSON_LOGS = JSON.stringify({
  resourceLogs: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
    scopeLogs: [{
      scope: { name: 'lib', version: '1' },
      logRecords: [{
        timeUnixNano: '1795428000000000001', observedTimeUnixNano: 1795428000000000000, severityNumber: 17, severityText: 'ERROR',
        body: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ intValue: '1' }, { boolValue: true }, { bytesValue: 'AAEC' }, { doubleValue: 1.5 }] } } }] } },
        attributes: [{ key: 'k', value: { stringValue: 'v' } }], traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', flags: 1,
      }],
    }],
  }],
});
const JSON_METRICS = JSON.stringify({
  resourceMetrics: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
    scopeMetrics: [{
      metrics: [
        { name: 'g', gauge: { dataPoints: [{ timeUnixNano: '1795428000000000000', asDouble: 1.5, attributes: [{ key: 'x', value: { stringValue: 'y' } }] }] } },
        { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: '1795428000000000000', asInt: '7' }] } },
        { name: 'h', histogram: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', dataPoints: [{ timeUnixNano: '1795428000000000000', count: '3', sum: 2, bucketCounts: ['1', '2'], explicitBounds: [1] }] } },
      ],
    }],
  }],
});

/** JSON nested far past protobufjs's 100 messages: kvlist values, or any object under a known field. */
const deepOtlpJson = fc.tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean()).map(([n, kv]) =>
  kv
    ? `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${'{"kvlistValue":{"values":[{"key":"a","value":'.repeat(n)}{}${'}]}}'.repeat(n)}}]}]}]}`
    : `{"resourceLogs":${'[{"a":'.repeat(n)}1${'}]'.repeat(n)}}`,
);

describe('OTLP/JSON receiver bodies', () => {
  const jsonBodies = fc.oneof(
    { arbitrary: mutatedText([JSON_LOGS, JSON_METRICS], 6), weight: 4 },
    { arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)), weight: 1 },
    { arbitrary: fc.record({ resourceLogs: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 2 }), resourceMetrics: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 2 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)), weight: 2 },
    { arbitrary: deepOtlpJson, weight: 1 },
    { arbitrary: randomText(100), weight: 1 },
  );

  fuzz('a body converts to protobuf or is a ReceiveError (400); what converts decodes or is a DecodeError', fc.tuple(fc.constantFrom('logs' as const, 'metrics' as const), jsonBodies), ([signal, text]) => {
    const body = Buffer.from(text);
    const r = expectTyped('otlpJsonToProtobuf', { signal, text }, () => otlpJsonToProtobuf(signal, body), ReceiveError);
    if (!r.ok) {
      expect((r.error as ReceiveError).status).toBe(400);
      return;
    }
    if (signal === 'logs') expectTyped('decodeLogs', r.value, () => decodeLogs(r.value), DecodeError);
    else expectTyped('decodeMetricsDetailed', r.value, () => decodeMetricsDetailed(r.value), DecodeError);
  }, 500);

  fuzz('any Content-Type: a wire format or none', fc.oneof(randomText(40), fc.constantFrom('application/json; charset=utf-8', 'application/x-protobuf', 'APPLICATION/JSON', 'application/json;', ';', '')), (type) => {
    expectTyped('wireFormatOf', type, () => wireFormatOf(type));
  });
});
