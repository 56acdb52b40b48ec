/**
 * ExportLogsServiceRequest written by hand, straight from Pharos's records.
 *
 * Why not protobufjs here, as everywhere else: this is the collector's hot path. protobufjs needs
 * a message object per record, attribute and value, then queues an operation per field and copies
 * them into the output at the end; `npm run bench:collector` profiled it at about a third of the
 * collector's CPU per line. This writes each field once into one buffer and reuses the encoded
 * bytes of attributes that repeat from record to record (file path, source, service). The output
 * is byte for byte what protobufjs writes for the same request (core/codec/otlp-logs-writer.test.ts
 * checks it on random records), so readers and the decoder are unaffected.
 */
import type { AttributeValue, Attributes, LogRecord } from '../model/records.js';
import { fromHex, MAX_VALUE_DEPTH, TWO_64, wellFormed } from './otlp-values.js';
import { ProtoWriter, varintSize } from './proto-writer.js';

const INT64_MIN = -(1n << 63n);
const INT64_LIMIT = 1n << 63n;

export interface ScopeGroup {
  name: string | undefined;
  version: string | undefined;
  records: LogRecord[];
}

export interface ResourceGroup {
  resource: Attributes;
  scopes: Map<string, ScopeGroup>;
}

/**
 * Encoded KeyValue bodies of short string attributes, by key: the last value seen and its bytes.
 * Records of one file carry the same path, name and source, so most attributes are one copy.
 */
const MAX_CACHED_VALUE_CHARS = 256;
const MAX_CACHED_KEYS = 4096;
const lastKeyValue = new Map<string, { value: string; bytes: Buffer }>();

function writeKeyValueBody(w: ProtoWriter, key: string, value: AttributeValue, depth: number): void {
  const k = wellFormed(key);
  if (k !== '') {
    w.byte(0x0a);
    w.string(k);
  }
  w.byte(0x12);
  const start = w.begin(1);
  writeAnyValue(w, value, depth);
  w.end(start, 1);
}

/** One attribute as a length-delimited KeyValue under field `tag`. */
function writeAttribute(w: ProtoWriter, tag: number, key: string, value: AttributeValue, depth: number): void {
  w.byte(tag);
  if (typeof value === 'string' && value.length <= MAX_CACHED_VALUE_CHARS && depth === 0) {
    const cached = lastKeyValue.get(key);
    if (cached !== undefined && cached.value === value) {
      w.varint(cached.bytes.length);
      w.raw(cached.bytes);
      return;
    }
    const start = w.begin(1);
    const bodyStart = w.pos;
    writeKeyValueBody(w, key, value, depth);
    const body = Buffer.from(w.buf.subarray(bodyStart, w.pos));
    w.end(start, 1);
    if (lastKeyValue.size >= MAX_CACHED_KEYS && !lastKeyValue.has(key)) lastKeyValue.clear();
    lastKeyValue.set(key, { value, bytes: body });
    return;
  }
  const start = w.begin(1);
  writeKeyValueBody(w, key, value, depth);
  w.end(start, 1);
}

export function writeAttributes(w: ProtoWriter, tag: number, attrs: Attributes, depth: number): void {
  for (const k of Object.keys(attrs)) writeAttribute(w, tag, k, attrs[k] as AttributeValue, depth);
}

/** An AnyValue's fields (without its own tag and length), as codec.ts toAnyValue maps values. */
function writeAnyValue(w: ProtoWriter, v: AttributeValue, depth: number): void {
  switch (typeof v) {
    case 'string':
      w.byte(0x0a);
      w.string(wellFormed(v));
      return;
    case 'boolean':
      w.byte(0x10);
      w.byte(v ? 1 : 0);
      return;
    case 'number':
      // Integers travel as int_value, the rest (and -0) as double_value, as on the protobufjs path.
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        w.byte(0x18);
        w.intNumber(v);
      } else {
        w.byte(0x21);
        w.double(v);
      }
      return;
    case 'bigint':
      if (v >= INT64_MIN && v < INT64_LIMIT) {
        w.byte(0x18);
        w.int64(v);
      } else {
        w.byte(0x0a);
        w.string(v.toString());
      }
      return;
    case 'object': {
      if (v === null) return;
      if (depth >= MAX_VALUE_DEPTH) {
        w.byte(0x0a);
        w.string('[nested too deep]');
        return;
      }
      if (Array.isArray(v)) {
        w.byte(0x2a);
        const start = w.begin(1);
        for (const x of v) {
          w.byte(0x0a);
          const s = w.begin(1);
          writeAnyValue(w, x, depth + 1);
          w.end(s, 1);
        }
        w.end(start, 1);
        return;
      }
      w.byte(0x32);
      const start = w.begin(1);
      writeAttributes(w, 0x0a, v, depth + 1);
      w.end(start, 1);
      return;
    }
    default:
      return;
  }
}

/** Nanoseconds as fixed64, or nothing when out of range (0 means "unknown" on the wire). */
function writeTime(w: ProtoWriter, tag: number, ns: bigint): void {
  if (ns > 0n && ns < TWO_64) {
    w.byte(tag);
    w.fixed64(ns);
  }
}

function writeId(w: ProtoWriter, tag: number, hex: string): void {
  const id = fromHex(hex);
  if (id === undefined) return;
  w.byte(tag);
  w.bytes(id);
}

function writeLogRecord(w: ProtoWriter, r: LogRecord): void {
  writeTime(w, 0x09, r.timeUnixNano);
  if (r.severityNumber !== 0) {
    w.byte(0x10);
    w.intNumber(r.severityNumber | 0);
  }
  const severityText = wellFormed(r.severityText);
  if (severityText !== '') {
    w.byte(0x1a);
    w.string(severityText);
  }
  if (r.body !== '') {
    w.byte(0x2a);
    const reserve = varintSize(r.body.length + 3);
    const start = w.begin(reserve);
    w.byte(0x0a);
    w.string(wellFormed(r.body));
    w.end(start, reserve);
  }
  writeAttributes(w, 0x32, r.attributes, 0);
  const flags = r.flags >>> 0;
  if (flags !== 0) {
    w.byte(0x45);
    w.fixed32(flags);
  }
  writeId(w, 0x4a, r.traceId);
  writeId(w, 0x52, r.spanId);
  writeTime(w, 0x59, r.observedTimeUnixNano);
}

/** One record as a `ScopeLogs.log_records` field (tag, length, LogRecord): the unit of core/codec/encoded-logs.ts. */
export function writeLogRecordField(w: ProtoWriter, r: LogRecord): void {
  w.byte(0x12);
  const reserve = varintSize(r.body.length * 3 + 512);
  const lr = w.begin(reserve);
  writeLogRecord(w, r);
  w.end(lr, reserve);
}

/** The request for records already grouped by resource, then scope (codec.ts encodeLogs groups them). */
export function writeExportLogsRequest(groups: Iterable<ResourceGroup>, sizeHint: number): Buffer {
  const w = new ProtoWriter(Math.max(1024, sizeHint));
  for (const g of groups) {
    w.byte(0x0a); // ExportLogsServiceRequest.resource_logs
    const rl = w.begin(3);
    w.byte(0x0a); // ResourceLogs.resource
    const res = w.begin(2);
    writeAttributes(w, 0x0a, g.resource, 0);
    w.end(res, 2);
    for (const scope of g.scopes.values()) {
      w.byte(0x12); // ResourceLogs.scope_logs
      const sl = w.begin(3);
      if (scope.name !== undefined || scope.version !== undefined) {
        w.byte(0x0a); // ScopeLogs.scope
        const sc = w.begin(1);
        const name = wellFormed(scope.name ?? '');
        const version = wellFormed(scope.version ?? '');
        if (name !== '') {
          w.byte(0x0a);
          w.string(name);
        }
        if (version !== '') {
          w.byte(0x12);
          w.string(version);
        }
        w.end(sc, 1);
      }
      for (const r of scope.records) {
        w.byte(0x12); // ScopeLogs.log_records
        const lr = w.begin(2);
        writeLogRecord(w, r);
        w.end(lr, 2);
      }
      w.end(sl, 3);
    }
    w.end(rl, 3);
  }
  return w.finish();
}
