import { fileURLToPath } from 'node:url';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber as OtelSeverity } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { PharosError } from '../errors.js';
import { effectiveTimeNano, type Attributes, type LogRecord, type MetricSample } from '../model/records.js';
import {
  checkWireHeaders,
  decodeLogs,
  decodeMetrics,
  decodeMetricsDetailed,
  DecodeError,
  encodeLogBatches,
  encodeLogs,
  encodeMetricBatches,
  encodeMetrics,
  formatPromFloat,
  sanitizeLabelName,
  WIRE_FORMAT,
  WIRE_VERSION,
  wireHeaders,
} from './codec.js';

// The tests read the wire through protobufjs reflection over the .proto files, independently of
// the generated code the codec uses: a drift between the two shows up here.
const protoRoot = fileURLToPath(new URL('./otlp/proto/', import.meta.url));
const reflect = new protobuf.Root();
reflect.resolvePath = (_origin, target) => (target.startsWith('/') ? target : protoRoot + target);
reflect.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto']);
const LogsRequest = reflect.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const MetricsRequest = reflect.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');

// Timestamps as protobufjs reflection wants them; strings keep full fixed64 precision.
const ns = (v: bigint): string => v.toString();
const str = (s: string) => ({ stringValue: s });

function logsBytes(request: object): Uint8Array {
  return LogsRequest.encode(LogsRequest.fromObject(request)).finish();
}
function metricsBytes(request: object): Uint8Array {
  return MetricsRequest.encode(MetricsRequest.fromObject(request)).finish();
}
function readLogs(bytes: Uint8Array): { resourceLogs?: { resource?: { attributes?: { key: string }[] }; scopeLogs?: { scope?: { name?: string }; logRecords?: unknown[] }[] }[] } {
  return LogsRequest.toObject(LogsRequest.decode(bytes), { longs: String, defaults: false, arrays: true });
}

function record(over: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: 1_700_000_000_123_456_789n,
    observedTimeUnixNano: 1_700_000_000_223_456_789n,
    severityNumber: 9,
    severityText: 'INFO',
    body: 'GET /api/orders 200',
    resource: { 'service.name': 'api', 'host.name': 'web-1' },
    attributes: { 'log.file.path': '/var/log/app.log' },
    traceId: '',
    spanId: '',
    flags: 0,
    ...over,
  };
}

describe('log records round-trip', () => {
  it('keeps every field, nanoseconds beyond 2^53 and attributes of every type', () => {
    const attributes: Attributes = {
      str: 'value',
      empty: '',
      int: 42,
      negative: -7,
      zero: 0,
      double: 2.5,
      nan: NaN,
      inf: -Infinity,
      huge: 1e300,
      big: 9_007_199_254_740_993n,
      minInt64: -(1n << 63n),
      yes: true,
      no: false,
      nothing: null,
      list: [1, 'two', 3.5, false, null, [4n ** 30n]],
      map: { nested: { deeper: 'x', n: 1 }, list: [] },
    };
    const full = record({
      timeUnixNano: 18_446_744_073_709_551_615n, // the largest fixed64
      observedTimeUnixNano: 1_700_000_000_000_000_001n,
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'Ünïcödé — 日本語 — 🚀 — e\u0301',
      resource: { 'service.name': 'checkout', 'host.name': 'db-7', 'k8s.pod.uid': 'abc', replicas: 3 },
      attributes,
      scopeName: 'pharos.file-tail',
      scopeVersion: '1.2.3',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      flags: 1,
    });
    const [back] = decodeLogs(encodeLogs([full]));
    expect(back).toEqual(full);
    expect(back?.timeUnixNano).toBe(18_446_744_073_709_551_615n);
    expect(back?.observedTimeUnixNano).toBe(1_700_000_000_000_000_001n);
    expect(typeof back?.attributes.big).toBe('bigint');
    expect(typeof back?.attributes.int).toBe('number');
  });

  it('replaces lone surrogates instead of writing invalid UTF-8', () => {
    const bad = record({ body: 'cut \uD83D', severityText: '\uDC00x', attributes: { ['k\uD800']: 'v\uDFFF' }, resource: { 'service.name': 'a\uD800' } });
    const [back] = decodeLogs(encodeLogs([bad]));
    expect(back?.body).toBe('cut \uFFFD');
    expect(back?.severityText).toBe('\uFFFDx');
    expect(back?.attributes).toEqual({ 'k\uFFFD': 'v\uFFFD' });
    expect(back?.resource).toEqual({ 'service.name': 'a\uFFFD' });
  });

  it('keeps a key named __proto__ as data', () => {
    const attributes = JSON.parse('{"__proto__": "x", "a": 1}') as Attributes;
    const [back] = decodeLogs(encodeLogs([record({ attributes })]));
    expect(Object.keys(back?.attributes ?? {})).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(back?.attributes)).toBe(Object.prototype);
  });

  it('keeps time_unix_nano 0 as 0n so the observed time is used, never 1970', () => {
    const [back] = decodeLogs(encodeLogs([record({ timeUnixNano: 0n })]));
    expect(back?.timeUnixNano).toBe(0n);
    expect(effectiveTimeNano(back as LogRecord)).toBe(1_700_000_000_223_456_789n);
  });

  it('omits scope, body and ids that are absent, and reads them back as absent', () => {
    const plain = record({ body: '' });
    const [back] = decodeLogs(encodeLogs([plain]));
    expect(back).toEqual(plain);
    expect(back && 'scopeName' in back).toBe(false);
    const wire = readLogs(encodeLogs([plain]));
    expect(wire.resourceLogs?.[0]?.scopeLogs?.[0]?.scope).toBeUndefined();
  });

  it('groups records by identical resource, then by scope, keeping their order', () => {
    const a = { 'service.name': 'a', 'host.name': 'h' };
    const records = [
      record({ resource: a, body: '1', scopeName: 'x' }),
      record({ resource: { 'service.name': 'b' }, body: '2' }),
      record({ resource: { 'host.name': 'h', 'service.name': 'a' }, body: '3', scopeName: 'x' }), // same set, other order
      record({ resource: a, body: '4', scopeName: 'y' }),
      record({ resource: a, body: '5', scopeName: 'x' }),
    ];
    const wire = readLogs(encodeLogs(records));
    expect(wire.resourceLogs).toHaveLength(2);
    const first = wire.resourceLogs?.[0];
    expect(first?.scopeLogs?.map((s) => [s.scope?.name, s.logRecords?.length])).toEqual([
      ['x', 3],
      ['y', 1],
    ]);
    const back = decodeLogs(encodeLogs(records));
    expect(back.map((r) => r.body)).toEqual(['1', '3', '5', '4', '2']);
  });

  it('decodes records of one ResourceLogs with one shared, frozen resource', () => {
    const back = decodeLogs(encodeLogs([record(), record()]));
    expect(back[0]?.resource).toBe(back[1]?.resource);
    expect(Object.isFrozen(back[0]?.resource)).toBe(true);
  });

  it('does not encode a bigint as 0 nor a number with lost nanoseconds', () => {
    const bytes = encodeLogs([record({ timeUnixNano: 1_700_000_000_123_456_789n })]);
    const wire = readLogs(bytes) as unknown as { resourceLogs: { scopeLogs: { logRecords: { timeUnixNano: string }[] }[] }[] };
    expect(wire.resourceLogs[0]?.scopeLogs[0]?.logRecords[0]?.timeUnixNano).toBe('1700000000123456789');
  });

  it('freezes the wire bytes of a known record (golden fixture)', () => {
    const bytes = encodeLogs([GOLDEN_RECORD]);
    expect(Buffer.from(bytes).toString('hex')).toBe(GOLDEN_LOGS_HEX);
    expect(decodeLogs(Buffer.from(GOLDEN_LOGS_HEX, 'hex'))).toEqual([GOLDEN_RECORD]);
  });
});

const GOLDEN_RECORD = record({
  timeUnixNano: 1_000_000_000_000_000_001n,
  observedTimeUnixNano: 2n,
  severityText: 'INFO',
  resource: { 'service.name': 'pharos' },
  attributes: { n: 1 },
  body: 'hi',
  traceId: '0102030405060708090a0b0c0d0e0f10',
  spanId: '0102030405060708',
  flags: 1,
});
// GOLDEN_RECORD as this codec first wrote it, checked field by field against the spec; a change
// here is a wire format change.
const GOLDEN_LOGS_HEX =
  '0a6a0a1a0a180a0c736572766963652e6e616d6512080a06706861726f73124c124a09010064a7b3b6e00d10091a04494e464f2a040a02686932070a016e120218014501000000' +
  '4a100102030405060708090a0b0c0d0e0f1052080102030405060708590200000000000000';

describe('decoding logs from other producers', () => {
  it('turns non-string bodies into text: kvlist and array as JSON, scalars plain, bytes base64', () => {
    const bodies = [
      { kvlistValue: { values: [{ key: 'msg', value: str('hi') }, { key: 'n', value: { intValue: '9007199254740993' } }, { key: 'ok', value: { boolValue: true } }] } },
      { arrayValue: { values: [str('a'), { doubleValue: 1.5 }, {}] } },
      { intValue: 42 },
      { doubleValue: 0.25 },
      { boolValue: false },
      { bytesValue: Buffer.from([1, 2, 3]) },
      {},
    ];
    const bytes = logsBytes({
      resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((body) => ({ body, observedTimeUnixNano: ns(5n) })) }] }],
    });
    expect(decodeLogs(bytes).map((r) => r.body)).toEqual(['{"msg":"hi","n":9007199254740993,"ok":true}', '["a",1.5,null]', '42', '0.25', 'false', 'AQID', '']);
  });

  it('reads a filelog-style record: no event time, observed time only, no resource', () => {
    const bytes = logsBytes({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ observedTimeUnixNano: ns(1_700_000_000_999_999_999n), body: str('raw line') }] }] }],
    });
    const [r] = decodeLogs(bytes);
    expect(r).toEqual({
      timeUnixNano: 0n,
      observedTimeUnixNano: 1_700_000_000_999_999_999n,
      severityNumber: 0,
      severityText: '',
      body: 'raw line',
      resource: {},
      attributes: {},
      traceId: '',
      spanId: '',
      flags: 0,
    });
    expect(effectiveTimeNano(r as LogRecord)).toBe(1_700_000_000_999_999_999n);
  });

  it('hexes ids in lowercase, treats all-zero ids as absent, keeps event_name as an attribute', () => {
    const bytes = logsBytes({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { traceId: Buffer.from('ABCDEF0123456789abcdef0123456789', 'hex'), spanId: Buffer.alloc(8), eventName: 'order.placed', flags: 0x101 },
              ],
            },
          ],
        },
      ],
    });
    const [r] = decodeLogs(bytes);
    expect(r?.traceId).toBe('abcdef0123456789abcdef0123456789');
    expect(r?.spanId).toBe('');
    expect(r?.attributes).toEqual({ 'event.name': 'order.placed' });
    expect(r?.flags).toBe(0x101);
  });

  it('returns nothing that points into the input buffer', () => {
    const bytes = Buffer.from(
      logsBytes({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: Buffer.alloc(16, 7), attributes: [{ key: 'blob', value: { bytesValue: Buffer.from('xyz') } }], body: str('b') }] }] }],
      }),
    );
    const [r] = decodeLogs(bytes);
    bytes.fill(0);
    expect(r?.traceId).toBe('07'.repeat(16));
    expect(r?.attributes.blob).toBe(Buffer.from('xyz').toString('base64'));
    expect(r?.body).toBe('b');
  });

  it('reads invalid UTF-8 from a producer as U+FFFD rather than rejecting the whole batch', () => {
    // Hand-built: LogRecord{ body: AnyValue{ string_value: "a\xffb" } } in one ResourceLogs/ScopeLogs.
    const anyValue = Buffer.from([0x0a, 0x03, 0x61, 0xff, 0x62]);
    const logRecord = Buffer.concat([Buffer.from([0x2a, anyValue.length]), anyValue]);
    const scopeLogs = Buffer.concat([Buffer.from([0x12, logRecord.length]), logRecord]);
    const resourceLogs = Buffer.concat([Buffer.from([0x12, scopeLogs.length]), scopeLogs]);
    const request = Buffer.concat([Buffer.from([0x0a, resourceLogs.length]), resourceLogs]);
    expect(decodeLogs(request)[0]?.body).toBe('a\uFFFDb');
  });

  it('keeps the last oneof member on the wire, also when a message field repeats and merges', () => {
    const frame = (field: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2, payload.length]), payload]);
    const request = (...bodies: Buffer[]): Buffer =>
      frame(1, frame(2, frame(2, Buffer.concat(bodies.map((b) => frame(5, b)))))); // ResourceLogs > ScopeLogs > LogRecord > body*
    const str = Buffer.from([0x0a, 0x01, 0x61]); // string_value "a"
    const int = Buffer.from([0x18, 0x05]); // int_value 5
    expect(decodeLogs(request(Buffer.concat([str, int])))[0]?.body).toBe('5');
    expect(decodeLogs(request(Buffer.concat([int, str])))[0]?.body).toBe('a');
    expect(decodeLogs(request(str, int))[0]?.body).toBe('5');
    expect(decodeLogs(request(int, str))[0]?.body).toBe('a');
  });

  it('decodes what the OpenTelemetry JS SDK serializes: several resources and scopes in one message', async () => {
    // Collects synchronously in onEmit: the SDK's own processors export on a later tick.
    const sdkRecords: ReadableLogRecord[] = [];
    const collect: LogRecordProcessor = { onEmit: (r) => void sdkRecords.push(r), forceFlush: async () => {}, shutdown: async () => {} };
    const hosts = ['web-1', 'web-2', 'db-1'];
    const providers = hosts.map(
      (host, i) =>
        new LoggerProvider({
          resource: resourceFromAttributes({ 'service.name': i < 2 ? 'web' : 'db', 'host.name': host, 'process.pid': 100 + i }),
          processors: [collect],
        }),
    );
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
    const traced = trace.setSpan(context.active(), span);
    let n = 0;
    for (const [i, provider] of providers.entries()) {
      for (const scope of ['http', 'sql']) {
        const logger = provider.getLogger(scope, '0.1.0');
        for (let k = 0; k < 3; k++) {
          logger.emit({
            timestamp: [1_700_000_000 + n, 123_456_789],
            observedTimestamp: [1_700_000_001 + n, 987_654_321],
            severityNumber: OtelSeverity.WARN,
            severityText: 'WARN',
            body: `line ${n} from ${hosts[i]}`,
            attributes: { seq: n, ratio: 0.5, ok: true, tags: ['a', 'b'], host: hosts[i] },
            ...(k === 0 ? { context: traced } : {}),
          });
          n++;
        }
      }
    }
    expect(sdkRecords).toHaveLength(18);
    const bytes = ProtobufLogsSerializer.serializeRequest(sdkRecords);
    if (!bytes) throw new Error('serializer returned nothing');

    const wire = readLogs(bytes);
    expect(wire.resourceLogs).toHaveLength(3);
    const decoded = decodeLogs(bytes);
    expect(decoded).toHaveLength(18);
    for (const r of decoded) {
      const seq = r.attributes.seq as number;
      const host = hosts[Math.floor(seq / 6)] as string;
      expect(r.body).toBe(`line ${seq} from ${host}`);
      expect(r.resource).toMatchObject({ 'service.name': host.startsWith('db') ? 'db' : 'web', 'host.name': host, 'process.pid': 100 + Math.floor(seq / 6) });
      expect(r.attributes).toEqual({ seq, ratio: 0.5, ok: true, tags: ['a', 'b'], host });
      expect(r.timeUnixNano).toBe(BigInt(1_700_000_000 + seq) * 1_000_000_000n + 123_456_789n);
      expect(r.observedTimeUnixNano).toBe(BigInt(1_700_000_001 + seq) * 1_000_000_000n + 987_654_321n);
      expect(r.severityNumber).toBe(13);
      expect(r.severityText).toBe('WARN');
      expect(r.scopeName).toBe(seq % 6 < 3 ? 'http' : 'sql');
      expect(r.scopeVersion).toBe('0.1.0');
      if (seq % 3 === 0) {
        expect([r.traceId, r.spanId, r.flags]).toEqual(['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 1]);
      } else {
        expect([r.traceId, r.spanId, r.flags]).toEqual(['', '', 0]);
      }
    }
    await Promise.all(providers.map((p) => p.shutdown()));
  });
});

describe('splitting log batches by size', () => {
  const many = Array.from({ length: 3000 }, (_, i) =>
    record({ body: `${i} `.padEnd(200 + (i % 7) * 150, 'x'), resource: { 'service.name': 'api', 'host.name': `h${i % 3}` }, attributes: { seq: i } }),
  );

  it('emits messages no larger than maxBytes, in input order, losing nothing', () => {
    const max = 64 * 1024;
    const messages = encodeLogBatches(many, max);
    expect(messages.length).toBeGreaterThan(5);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(max);
    const seqs = messages.flatMap((m) => decodeLogs(m).map((r) => r.attributes.seq as number));
    expect([...seqs].sort((a, b) => a - b)).toEqual(many.map((_, i) => i));
    // Order across messages follows the input: every record of message k precedes those of k+1.
    let last = -1;
    for (const m of messages) {
      const s = decodeLogs(m).map((r) => r.attributes.seq as number);
      expect(Math.min(...s)).toBeGreaterThan(last);
      last = Math.max(...s);
    }
  });

  it('returns one message when the batch fits, and none for no records', () => {
    expect(encodeLogBatches(many.slice(0, 100))).toHaveLength(1);
    expect(encodeLogBatches([], 1000)).toEqual([]);
  });

  it('emits a record larger than maxBytes alone, for the caller to decide', () => {
    const big = record({ body: 'y'.repeat(50_000), attributes: { seq: -1 } });
    const messages = encodeLogBatches([...many.slice(0, 10), big, ...many.slice(10, 20)], 10_000);
    const alone = messages.filter((m) => m.length > 10_000);
    expect(alone).toHaveLength(1);
    expect(decodeLogs(alone[0] as Uint8Array).map((r) => r.attributes.seq)).toEqual([-1]);
    expect(messages.flatMap((m) => decodeLogs(m))).toHaveLength(21);
  });

  it('refuses a non-positive limit', () => {
    expect(() => encodeLogBatches(many, 0)).toThrow(RangeError);
  });
});

describe('malformed input', () => {
  const garbage: [string, Uint8Array][] = [
    ['random high bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ['a truncated message', encodeLogs([record()]).subarray(0, 40)],
    ['field number 0', Buffer.from([0x00, 0x01])],
    ['a length beyond the end', Buffer.from([0x0a, 0x7f, 0x01])],
    ['JSON text', Buffer.from('{"resourceLogs":[]}')],
  ];

  it.each(garbage)('throws DecodeError (decode_failed) on %s', (_what, bytes) => {
    let thrown: unknown;
    try {
      decodeLogs(bytes);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DecodeError);
    expect(thrown).toBeInstanceOf(PharosError);
    expect((thrown as DecodeError).code).toBe('decode_failed');
    expect(() => decodeMetrics(bytes)).toThrow(DecodeError);
  });

  it('reads an empty message as no records', () => {
    expect(decodeLogs(new Uint8Array())).toEqual([]);
    expect(decodeMetrics(new Uint8Array())).toEqual([]);
  });
});

describe('wire header', () => {
  it('names the format and version, and accepts messages without it (a Collector wrote them)', () => {
    expect(WIRE_FORMAT).toBe('otlp_proto');
    expect(WIRE_VERSION).toBe(1);
    expect(wireHeaders()).toEqual({ 'pharos-wire': 'otlp_proto/1' });
    expect(checkWireHeaders(undefined)).toEqual({ format: 'otlp_proto', version: 1 });
    expect(checkWireHeaders({})).toEqual({ format: 'otlp_proto', version: 1 });
    expect(checkWireHeaders({ 'pharos-wire': Buffer.from('otlp_proto/1') })).toEqual({ format: 'otlp_proto', version: 1 });
  });

  it('refuses a format or a version this build cannot read', () => {
    expect(() => checkWireHeaders({ 'pharos-wire': 'otlp_proto/2' })).toThrow(DecodeError);
    expect(() => checkWireHeaders({ 'pharos-wire': 'otlp_json/1' })).toThrow(DecodeError);
    expect(() => checkWireHeaders({ 'pharos-wire': 'garbage' })).toThrow(DecodeError);
  });
});

const T = 1_700_000_000_123;

function sorted(samples: readonly MetricSample[]): MetricSample[] {
  const key = (s: MetricSample): string => `${s.name}|${JSON.stringify(Object.entries(s.labels).sort())}|${s.timestampMs}|${s.type}`;
  return [...samples].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

describe('metric samples round-trip', () => {
  const job = { job: 'node', instance: 'web-1:9100' };
  const histogram = (labels: Record<string, string>, ts: number, stale = false): MetricSample[] => {
    const mk = (name: string, l: Record<string, string>, value: number, type: MetricSample['type']): MetricSample =>
      stale ? { name, labels: l, timestampMs: ts, value: NaN, type, stale: true } : { name, labels: l, timestampMs: ts, value, type };
    return [
      mk('http_request_duration_seconds_bucket', { ...labels, le: '0.005' }, 1, 'histogram_bucket'),
      mk('http_request_duration_seconds_bucket', { ...labels, le: '0.1' }, 4, 'histogram_bucket'),
      mk('http_request_duration_seconds_bucket', { ...labels, le: '1' }, 4, 'histogram_bucket'),
      mk('http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }, 6, 'histogram_bucket'),
      mk('http_request_duration_seconds_sum', labels, 3.25, 'histogram_sum'),
      mk('http_request_duration_seconds_count', labels, 6, 'histogram_count'),
    ];
  };
  const samples: MetricSample[] = [
    { name: 'node_load1', labels: { ...job }, timestampMs: T, value: 0.42, type: 'gauge' },
    { name: 'node_temp', labels: { ...job, sensor: 'cpu' }, timestampMs: T, value: -3.5, type: 'gauge' },
    { name: 'node_temp', labels: { ...job, sensor: 'gpu' }, timestampMs: T + 15_000, value: NaN, type: 'gauge' },
    { name: 'http_requests_total', labels: { ...job, code: '200', method: 'GET' }, timestampMs: T, value: 1027, type: 'counter' },
    { name: 'http_requests_total', labels: { ...job, code: '500', method: 'GET' }, timestampMs: T, value: 3, type: 'counter' },
    { name: 'http_requests_total', labels: { ...job, code: '404', method: 'GET' }, timestampMs: T, value: NaN, type: 'counter', stale: true },
    { name: 'node_up', labels: { ...job }, timestampMs: T, value: NaN, type: 'gauge', stale: true },
    { name: 'mystery', labels: { ...job }, timestampMs: T, value: 7, type: 'unknown' },
    { name: 'no_job_gauge', labels: { zone: 'eu' }, timestampMs: T, value: 1, type: 'gauge' },
    ...histogram({ ...job, handler: '/api' }, T),
    ...histogram({ ...job, handler: '/api' }, T + 15_000),
    ...histogram({ ...job, handler: '/health' }, T, true),
    ...histogram({ job: 'other' }, T),
    { name: 'rpc_duration_seconds', labels: { ...job, quantile: '0.5' }, timestampMs: T, value: 0.01, type: 'summary' },
    { name: 'rpc_duration_seconds', labels: { ...job, quantile: '0.99' }, timestampMs: T, value: 0.2, type: 'summary' },
    { name: 'rpc_duration_seconds_sum', labels: { ...job }, timestampMs: T, value: 12.5, type: 'summary_sum' },
    { name: 'rpc_duration_seconds_count', labels: { ...job }, timestampMs: T, value: 1000, type: 'summary_count' },
    { name: 'gc_seconds', labels: { ...job, quantile: '0.5' }, timestampMs: T, value: NaN, type: 'summary', stale: true },
    { name: 'gc_seconds_sum', labels: { ...job }, timestampMs: T, value: NaN, type: 'summary_sum', stale: true },
    { name: 'gc_seconds_count', labels: { ...job }, timestampMs: T, value: NaN, type: 'summary_count', stale: true },
  ];

  it('gives back every sample of every type, stale markers and +Inf buckets included', () => {
    const { samples: back, dropped } = decodeMetricsDetailed(encodeMetrics(samples));
    expect(dropped).toEqual([]);
    expect(sorted(back)).toEqual(sorted(samples));
  });

  it('writes one Histogram data point per series and time, with de-cumulated buckets', () => {
    const wire = MetricsRequest.toObject(MetricsRequest.decode(encodeMetrics(histogram({ ...job, handler: '/api' }, T))), { longs: Number }) as {
      resourceMetrics: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeMetrics: { metrics: { name: string; histogram: { aggregationTemporality: number; dataPoints: { explicitBounds: number[]; bucketCounts: number[]; count: number; sum: number; attributes: unknown[] }[] } }[] }[] }[];
    };
    const rm = wire.resourceMetrics[0];
    expect(rm?.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'node' } },
      { key: 'service.instance.id', value: { stringValue: 'web-1:9100' } },
    ]);
    const metric = rm?.scopeMetrics[0]?.metrics[0];
    expect(metric?.name).toBe('http_request_duration_seconds');
    expect(metric?.histogram.aggregationTemporality).toBe(2);
    expect(metric?.histogram.dataPoints).toHaveLength(1);
    const dp = metric?.histogram.dataPoints[0];
    expect(dp?.explicitBounds).toEqual([0.005, 0.1, 1]);
    expect(dp?.bucketCounts).toEqual([1, 3, 0, 2]);
    expect(dp?.count).toBe(6);
    expect(dp?.sum).toBe(3.25);
    expect(dp?.attributes).toEqual([{ key: 'handler', value: { stringValue: '/api' } }]);
  });

  it('writes counters as monotonic cumulative Sums and stale samples as NO_RECORDED_VALUE', () => {
    const wire = MetricsRequest.toObject(MetricsRequest.decode(encodeMetrics(samples.slice(3, 7))), { longs: Number, oneofs: true }) as {
      resourceMetrics: { scopeMetrics: { metrics: { name: string; sum?: { isMonotonic: boolean; aggregationTemporality: number; dataPoints: { flags?: number; value?: string }[] }; gauge?: { dataPoints: { flags?: number }[] } }[] }[] }[];
    };
    const metrics = wire.resourceMetrics[0]?.scopeMetrics[0]?.metrics ?? [];
    expect(metrics.map((m) => m.name)).toEqual(['http_requests_total', 'node_up']);
    expect(metrics[0]?.sum).toMatchObject({ isMonotonic: true, aggregationTemporality: 2 });
    expect(metrics[0]?.sum?.dataPoints.map((d) => [d.flags ?? 0, d.value])).toEqual([
      [0, 'asDouble'],
      [0, 'asDouble'],
      [1, undefined],
    ]);
    expect(metrics[1]?.gauge?.dataPoints[0]?.flags).toBe(1);
  });

  it('splits metric batches without cutting a histogram point apart', () => {
    const many = Array.from({ length: 300 }, (_, i) => histogram({ ...job, handler: `/h${i}` }, T)).flat();
    const messages = encodeMetricBatches(many, 8_000);
    expect(messages.length).toBeGreaterThan(3);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(8_000);
    const back = messages.flatMap((m) => decodeMetrics(m));
    expect(sorted(back)).toEqual(sorted(many));
  });
});

describe('decoding OTLP metrics as Prometheus does', () => {
  const resource = (attrs: Record<string, string>) => ({ attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: str(v) })) });
  const at = (ms: number): string => ns(BigInt(ms) * 1_000_000n);

  it('maps the resource to job and instance, sanitises attribute names, names metrics as Prometheus 2.x does', () => {
    const bytes = metricsBytes({
      resourceMetrics: [
        {
          resource: resource({ 'service.name': 'cart', 'service.namespace': 'shop', 'service.instance.id': 'pod-1', 'host.name': 'node-7' }),
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'http_requests',
                  gauge: {
                    dataPoints: [
                      { attributes: [{ key: 'http.method', value: str('GET') }, { key: '1st', value: { intValue: 3 } }, { key: 'empty', value: str('') }], timeUnixNano: at(T), asDouble: 5 },
                      { attributes: [{ key: 'a.b', value: str('x') }, { key: 'a_b', value: str('y') }], timeUnixNano: at(T), asInt: 7 },
                    ],
                  },
                },
                { name: 'queue.depth', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: at(T), asInt: 4 }] } },
                { name: 'bytes_sent', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: at(T), asDouble: 10 }] } },
              ],
            },
          ],
        },
      ],
    });
    const samples = decodeMetrics(bytes);
    const id = { job: 'shop/cart', instance: 'pod-1' };
    expect(samples).toEqual([
      { name: 'http_requests', labels: { http_method: 'GET', key_1st: '3', ...id }, timestampMs: T, value: 5, type: 'gauge' },
      { name: 'http_requests', labels: { a_b: 'x;y', ...id }, timestampMs: T, value: 7, type: 'gauge' },
      { name: 'queue_depth', labels: { ...id }, timestampMs: T, value: 4, type: 'gauge' },
      // A monotonic sum is a counter: `_total` is added, as Prometheus's OTLP receiver does (see FORMAT.md).
      { name: 'bytes_sent_total', labels: { ...id }, timestampMs: T, value: 10, type: 'counter' },
      { name: 'target_info', labels: { host_name: 'node-7', ...id }, timestampMs: T, value: 1, type: 'gauge' },
    ]);
    expect(decodeMetrics(bytes, { targetInfo: false }).some((s) => s.name === 'target_info')).toBe(false);
    expect(decodeMetrics(bytes, { promoteResourceAttributes: ['host.name'], targetInfo: false })[0]?.labels).toEqual({
      host_name: 'node-7',
      http_method: 'GET',
      key_1st: '3',
      ...id,
    });
  });

  it('drops what Prometheus cannot store, and says how many and why', () => {
    const bytes = metricsBytes({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'd', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: at(T), asInt: 1 }, { timeUnixNano: at(T), asInt: 2 }] } },
                { name: 'u', sum: { isMonotonic: true, dataPoints: [{ timeUnixNano: at(T), asInt: 1 }] } },
                { name: 'dh', histogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: at(T), count: 1 }] } },
                { name: 'e', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: at(T), count: 3, scale: 2, positive: { offset: 1, bucketCounts: [1, 2] } }] } },
                { name: 'g', gauge: { dataPoints: [{ asDouble: 1 }, { timeUnixNano: at(T), asDouble: 2 }] } },
              ],
            },
          ],
        },
      ],
    });
    const { samples, dropped } = decodeMetricsDetailed(bytes);
    expect(samples).toEqual([{ name: 'g', labels: {}, timestampMs: T, value: 2, type: 'gauge' }]);
    expect(dropped).toEqual([
      { reason: 'delta_temporality', count: 3 },
      { reason: 'unspecified_temporality', count: 1 },
      { reason: 'exponential_histogram', count: 1 },
      { reason: 'missing_timestamp', count: 1 },
    ]);
  });

  it('converts nanoseconds to milliseconds exactly, at the edge of a millisecond', () => {
    const edge = 1_700_000_000_123_999_999n;
    const bytes = metricsBytes({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: ns(edge), asDouble: 1 }] } }] }] }] });
    expect(decodeMetrics(bytes)[0]?.timestampMs).toBe(1_700_000_000_123);
  });

  it('writes histogram bounds as Prometheus formats them and uses count for +Inf', () => {
    const bytes = metricsBytes({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'size',
                  histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: at(T), explicitBounds: [1e-7, 2, 1e21], bucketCounts: [1, 2, 3, 4], count: 10 }] },
                },
              ],
            },
          ],
        },
      ],
    });
    const samples = decodeMetrics(bytes);
    expect(samples.map((s) => [s.name, s.labels.le, s.value])).toEqual([
      ['size_bucket', '0.0000001', 1],
      ['size_bucket', '2', 3],
      ['size_bucket', '1000000000000000000000', 6],
      ['size_bucket', '+Inf', 10],
      ['size_count', undefined, 10],
    ]);
  });

  it('formats floats like Go', () => {
    expect([0.005, 1, 1e-9, -2.5e-7, 1.5e22, Infinity, -Infinity].map(formatPromFloat)).toEqual([
      '0.005',
      '1',
      '0.000000001',
      '-0.00000025',
      '15000000000000000000000',
      '+Inf',
      '-Inf',
    ]);
    expect(sanitizeLabelName('k8s.pod-name')).toBe('k8s_pod_name');
  });
});
