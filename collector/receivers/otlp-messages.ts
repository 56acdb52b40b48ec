/**
 * OTLP/HTTP's two encodings at the edge: OTLP/JSON requests become the protobuf bytes that the
 * codec (core/codec) decodes, and answers (export responses with partial success, and the
 * `google.rpc.Status` of a 4xx/5xx) are written in the request's encoding, as the OTLP
 * specification requires.
 *
 * OTLP/JSON is proto3 JSON with OTLP's own rules: field names in lowerCamelCase, trace and span
 * ids as hex (not base64), 64-bit integers as strings or numbers, enums as names or numbers.
 */
import protobuf from 'protobufjs';
import { OTLP_DESCRIPTOR } from './otlp-descriptor.js';
import { ReceiveError } from './body.js';

export type Signal = 'logs' | 'metrics';
export type WireFormat = 'protobuf' | 'json';

const root = protobuf.Root.fromJSON(OTLP_DESCRIPTOR as protobuf.INamespace);
const REQUEST = {
  logs: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
  metrics: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
};
const RESPONSE = {
  logs: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
  metrics: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
};
const REJECTED_FIELD = { logs: 'rejectedLogRecords', metrics: 'rejectedDataPoints' } as const;
// google.rpc.Status without `details`: OTLP answers carry a code and a message.
const STATUS = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(STATUS);

/** The request's encoding from its Content-Type; undefined for one OTLP/HTTP does not define. */
export function wireFormatOf(contentType: string | undefined): WireFormat | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

export function contentTypeOf(format: WireFormat): string {
  return format === 'json' ? 'application/json' : 'application/x-protobuf';
}

const HEX_ID = /^(?:[0-9a-fA-F]{2})*$/;
/** Objects and arrays: two per nested message at most, and protobufjs takes 100 nested messages. */
const MAX_JSON_DEPTH = 256;

/** OTLP/JSON ids are hex; protobufjs's JSON reader expects base64 for bytes: converted in place. */
function hexIdsToBase64(v: unknown, path: string, depth = 0): void {
  // The walk recurses: a body nested 10,000 deep overflowed the stack (found by test/fuzz). Past
  // MAX_JSON_DEPTH protobufjs would refuse the message anyway (100 nested messages).
  if (depth > MAX_JSON_DEPTH) throw new ReceiveError(400, `${path} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(v)) {
    v.forEach((x, i) => hexIdsToBase64(x, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    const x = o[key];
    if ((key === 'traceId' || key === 'spanId') && typeof x === 'string') {
      if (!HEX_ID.test(x)) throw new ReceiveError(400, `${path}.${key} is not a hex id: ${JSON.stringify(x.slice(0, 64))}`);
      o[key] = Buffer.from(x, 'hex').toString('base64');
    } else if (typeof x === 'object' && x !== null && key !== 'stringValue') {
      hexIdsToBase64(x, `${path}.${key}`, depth + 1);
    }
  }
}

/** An OTLP/JSON request body as the protobuf bytes of the same request. */
export function otlpJsonToProtobuf(signal: Signal, body: Buffer): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ReceiveError(400, `body is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ReceiveError(400, 'body is not an OTLP/JSON object (expected {"resourceLogs": [...]} or {"resourceMetrics": [...]})');
  hexIdsToBase64(parsed, 'request');
  const type = REQUEST[signal];
  try {
    return type.encode(type.fromObject(parsed as Record<string, unknown>)).finish();
  } catch (err) {
    throw new ReceiveError(400, `body is not a valid OTLP/JSON ${type.name}: ${(err as Error).message}`);
  }
}

/** A 200 answer: empty on full success, `partial_success` when some items were refused. */
export function exportResponse(signal: Signal, format: WireFormat, rejected: number, errorMessage: string): Buffer {
  const partial = rejected > 0 || errorMessage !== '' ? { partialSuccess: { [REJECTED_FIELD[signal]]: rejected, errorMessage } } : {};
  if (format === 'json') {
    // proto3 JSON writes int64 as a string.
    const json = rejected > 0 || errorMessage !== '' ? { partialSuccess: { [REJECTED_FIELD[signal]]: String(rejected), errorMessage } } : {};
    return Buffer.from(JSON.stringify(json));
  }
  const type = RESPONSE[signal];
  return Buffer.from(type.encode(type.fromObject(partial)).finish());
}

/** The body of a 4xx/5xx answer: a `google.rpc.Status` in the request's encoding. */
export function statusBody(format: WireFormat, httpStatus: number, message: string): Buffer {
  const code = grpcCodeOf(httpStatus);
  if (format === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.from(STATUS.encode(STATUS.fromObject({ code, message })).finish());
}

/** The gRPC code matching an HTTP status, as the OTLP/HTTP mapping pairs them. */
function grpcCodeOf(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 413:
      return 8; // RESOURCE_EXHAUSTED
    case 415:
      return 3;
    case 429:
      return 8;
    case 503:
      return 14; // UNAVAILABLE
    default:
      return 13; // INTERNAL
  }
}

/** Only to decode answers in tests and tools. */
export function decodeExportResponse(signal: Signal, bytes: Uint8Array): { rejected: number; errorMessage: string } {
  const o = RESPONSE[signal].toObject(RESPONSE[signal].decode(bytes), { longs: Number, defaults: true }) as { partialSuccess?: Record<string, unknown> };
  return { rejected: Number(o.partialSuccess?.[REJECTED_FIELD[signal]] ?? 0), errorMessage: String(o.partialSuccess?.errorMessage ?? '') };
}

export function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  return STATUS.toObject(STATUS.decode(bytes), { defaults: true }) as { code: number; message: string };
}
