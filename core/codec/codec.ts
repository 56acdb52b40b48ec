/**
 * The wire codec of the `pharos.logs` and `pharos.metrics` topics: OTLP protobuf, one
 * ExportLogsServiceRequest / ExportMetricsServiceRequest per Kafka message, as the
 * OpenTelemetry Collector's Kafka exporter writes them (`encoding: otlp_proto`). The format,
 * its invariants and the Prometheus mapping are in FORMAT.md beside this file.
 *
 * This is the only module that touches the generated protobuf code.
 */
import Long from 'long';
import { PharosError } from '../errors.js';
import type { AttributeValue, Attributes, LogRecord, MetricSample, MetricType } from '../model/records.js';
import { opentelemetry } from './otlp/generated/otlp.js';
import { type ResourceGroup, writeExportLogsRequest } from './otlp-logs-writer.js';
import { fromHex, MAX_VALUE_DEPTH, TWO_64, wellFormed } from './otlp-values.js';

import otlp = opentelemetry.proto;
type PbAnyValue = otlp.common.v1.AnyValue.$Properties;
type PbKeyValue = otlp.common.v1.KeyValue.$Properties;
type PbLogRecord = otlp.logs.v1.LogRecord.$Properties;
type PbResourceLogs = otlp.logs.v1.ResourceLogs.$Properties;
type PbMetric = otlp.metrics.v1.Metric.$Properties;
type PbNumberDataPoint = otlp.metrics.v1.NumberDataPoint.$Properties;
type PbHistogramDataPoint = otlp.metrics.v1.HistogramDataPoint.$Properties;
type PbSummaryDataPoint = otlp.metrics.v1.SummaryDataPoint.$Properties;
type PbResourceMetrics = otlp.metrics.v1.ResourceMetrics.$Properties;

const ExportLogsServiceRequest = otlp.collector.logs.v1.ExportLogsServiceRequest;
const ExportMetricsServiceRequest = otlp.collector.metrics.v1.ExportMetricsServiceRequest;
const AggregationTemporality = otlp.metrics.v1.AggregationTemporality;
const NO_RECORDED_VALUE = otlp.metrics.v1.DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK;

// ---------------------------------------------------------------------------------------------
// Versioning

export const WIRE_FORMAT = 'otlp_proto';
export const WIRE_VERSION = 1;
/** Kafka header naming the wire format of a message; absent means otlp_proto/1 (a Collector wrote it). */
export const WIRE_HEADER = 'pharos-wire';
/** Default split size: under Kafka's 1 MB default with room for record-batch framing, key and headers. */
export const DEFAULT_MAX_MESSAGE_BYTES = 900 * 1024;

export function wireHeaders(): Record<string, string> {
  return { [WIRE_HEADER]: `${WIRE_FORMAT}/${WIRE_VERSION}` };
}

/** Header values as kafkajs hands them over. */
type HeaderValue = string | Uint8Array | readonly (string | Uint8Array)[] | undefined;

/**
 * Checks a message's headers before decoding. Throws DecodeError for a format or a newer version
 * this build cannot read, so the caller dead-letters the message instead of misreading it.
 */
export function checkWireHeaders(headers: Readonly<Record<string, HeaderValue>> | undefined): { format: string; version: number } {
  let raw = headers?.[WIRE_HEADER];
  if (Array.isArray(raw)) raw = raw[raw.length - 1];
  if (raw === undefined) return { format: WIRE_FORMAT, version: WIRE_VERSION };
  const text = typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8');
  const m = /^([a-z0-9_]+)\/([0-9]+)$/.exec(text.trim());
  if (!m || m[1] !== WIRE_FORMAT || Number(m[2]) < 1 || Number(m[2]) > WIRE_VERSION) {
    throw new DecodeError(`header ${WIRE_HEADER}=${JSON.stringify(text.slice(0, 64))} is not a wire format this build reads (${WIRE_FORMAT}/1..${WIRE_VERSION}): message dead-lettered`);
  }
  return { format: WIRE_FORMAT, version: Number(m[2]) };
}

/** Malformed bytes: the caller dead-letters the message with this reason and goes on. */
export class DecodeError extends PharosError {
  override readonly code = 'decode_failed' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super('decode_failed', message, false, options);
    this.name = 'DecodeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function nanosToLong(ns: bigint): Long {
  // Out of the fixed64 range is not a time; 0 says "unknown" on the wire, as OTLP defines.
  return ns > 0n && ns < TWO_64 ? Long.fromBigInt(ns, true) : Long.UZERO;
}

function longToNanos(v: Long | null | undefined): bigint {
  if (!v) return 0n;
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/** Exact floor(ns / 1e6) from the two 32-bit halves; a float division would round across ms edges. */
function longToMillis(v: Long | null | undefined): number {
  if (!v) return 0;
  const hi = v.high >>> 0;
  const lo = v.low >>> 0;
  // hi * 2^32 = hi * 4294 * 1e6 + hi * 967296; the remainder term stays below 2^53.
  const rest = hi * 967_296 + lo;
  return hi * 4294 + (rest - (rest % 1e6)) / 1e6;
}

function millisToLong(ms: number): Long {
  if (!Number.isFinite(ms) || ms <= 0) return Long.UZERO;
  return nanosToLong(BigInt(Math.trunc(ms)) * 1_000_000n);
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function toHex(b: Uint8Array | null | undefined): string {
  // The Collector prints an all-zero id as "" too (pcommon.TraceID.String).
  if (!b || b.length === 0 || isZero(b)) return '';
  return (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString('hex');
}

function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  // A key named "__proto__" from the wire must be data, not a prototype switch.
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function toAnyValue(v: AttributeValue, depth: number): PbAnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: wellFormed(v) };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      // A JS number says nothing about int vs double: integers travel as int_value (what
      // producers usually mean, e.g. http.status_code), the rest (and -0) as double_value.
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? { intValue: Long.fromNumber(v) } : { doubleValue: v };
    case 'bigint':
      return v >= -(1n << 63n) && v < 1n << 63n ? { intValue: Long.fromBigInt(v) } : { stringValue: v.toString() };
    case 'object': {
      if (v === null) return {};
      if (depth >= MAX_VALUE_DEPTH) return { stringValue: '[nested too deep]' };
      if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => toAnyValue(x, depth + 1)) } };
      return { kvlistValue: { values: toKeyValues(v, depth + 1) } };
    }
    default:
      return {};
  }
}

function toKeyValues(attrs: Attributes, depth = 0): PbKeyValue[] {
  const out: PbKeyValue[] = [];
  for (const k of Object.keys(attrs)) out.push({ key: wellFormed(k), value: toAnyValue(attrs[k] as AttributeValue, depth) });
  return out;
}

function longToValue(v: Long): number | bigint {
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : v.toBigInt();
}

function fromAnyValue(v: PbAnyValue | null | undefined): AttributeValue {
  // Members are tested directly: the generated `value` getter scans Object.keys on every call.
  // Decoding leaves at most one member non-null (prototype defaults are null).
  if (!v) return null;
  if (v.stringValue != null) return v.stringValue;
  if (v.intValue != null) return longToValue(v.intValue);
  if (v.doubleValue != null) return v.doubleValue;
  if (v.boolValue != null) return v.boolValue;
  if (v.kvlistValue != null) return fromKeyValues(v.kvlistValue.values);
  if (v.arrayValue != null) return (v.arrayValue.values ?? []).map(fromAnyValue);
  // No bytes type in the model: base64, as OTLP/JSON and the Collector's AsString() write it.
  if (v.bytesValue != null) return Buffer.from(v.bytesValue).toString('base64');
  return null;
}

function fromKeyValues(kvs: readonly PbKeyValue[] | null | undefined): Attributes {
  const out: Attributes = {};
  if (kvs) for (const kv of kvs) setOwn(out, kv.key ?? '', fromAnyValue(kv.value));
  return out;
}

function jsonOf(v: AttributeValue): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      if (v === null) return 'null';
      if (Array.isArray(v)) return `[${v.map(jsonOf).join(',')}]`;
      return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${jsonOf(v[k] as AttributeValue)}`).join(',')}}`;
  }
}

/** The model's body is a string; structured bodies become their JSON text, scalars their plain text. */
function bodyOf(v: PbAnyValue | null | undefined): string {
  const a = fromAnyValue(v);
  if (typeof a === 'string') return a;
  if (a === null) return '';
  if (typeof a === 'object') return jsonOf(a);
  return String(a);
}

/** Canonical identity of an attribute set: same key ⇔ same OTLP resource. */
function attrsKey(v: AttributeValue): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Object.is(v, -0) ? 'n-0' : `n${v}`;
    case 'bigint':
      return `i${v}`;
    case 'boolean':
      return v ? 'T' : 'F';
    default:
      if (v === null) return 'Z';
      if (Array.isArray(v)) return `[${v.map(attrsKey).join(',')}]`;
      return `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${attrsKey(v[k] as AttributeValue)}`)
        .join(',')}}`;
  }
}

function decodeFailed(what: string, err: unknown, bytes: Uint8Array): DecodeError {
  const reason = err instanceof Error ? err.message : String(err);
  return new DecodeError(`${what} of ${bytes.length} bytes is not valid OTLP protobuf (${reason}): message dead-lettered`, { cause: err });
}

function asBuffer(bytes: Uint8Array): Buffer {
  // protobufjs reads strings from a Buffer with Node's native UTF-8 decoder (fast, lenient).
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function splitEncode<T>(items: readonly T[], maxBytes: number, encode: (slice: readonly T[]) => Uint8Array): Uint8Array[] {
  if (!(maxBytes > 0) || !Number.isFinite(maxBytes)) throw new RangeError(`maxBytes must be a positive number of bytes, got ${maxBytes}`);
  const out: Uint8Array[] = [];
  const visit = (lo: number, hi: number): void => {
    const bytes = encode(items.slice(lo, hi));
    if (bytes.length <= maxBytes || hi - lo === 1) {
      out.push(bytes);
      return;
    }
    // Aim each part at 90% of the limit so uneven items rarely need a second cut; contiguous
    // slices keep the input order across messages.
    const parts = Math.max(2, Math.ceil(bytes.length / (maxBytes * 0.9)));
    const step = Math.ceil((hi - lo) / parts);
    for (let s = lo; s < hi; s += step) visit(s, Math.min(hi, s + step));
  };
  if (items.length > 0) visit(0, items.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Logs

function toPbLogRecord(r: LogRecord): PbLogRecord {
  const pb: PbLogRecord = {
    timeUnixNano: nanosToLong(r.timeUnixNano),
    observedTimeUnixNano: nanosToLong(r.observedTimeUnixNano),
    severityNumber: r.severityNumber,
    severityText: wellFormed(r.severityText),
    attributes: toKeyValues(r.attributes),
    flags: r.flags >>> 0,
  };
  if (r.body !== '') pb.body = { stringValue: wellFormed(r.body) };
  const traceId = fromHex(r.traceId);
  if (traceId) pb.traceId = traceId;
  const spanId = fromHex(r.spanId);
  if (spanId) pb.spanId = spanId;
  return pb;
}

/** Records grouped by identical resource, then by scope, in input order. */
function groupLogs(records: readonly LogRecord[]): Map<string, ResourceGroup> {
  // Records of one source usually share one resource object: identity first, canonical key second.
  const byObject = new Map<Attributes, ResourceGroup>();
  const byKey = new Map<string, ResourceGroup>();
  for (const r of records) {
    let group = byObject.get(r.resource);
    if (!group) {
      const key = attrsKey(r.resource);
      group = byKey.get(key);
      if (!group) {
        group = { resource: r.resource, scopes: new Map() };
        byKey.set(key, group);
      }
      byObject.set(r.resource, group);
    }
    const scopeKey = r.scopeName === undefined && r.scopeVersion === undefined ? '' : `${r.scopeName ?? ''}\u0000${r.scopeVersion ?? ''}\u0000`;
    let scope = group.scopes.get(scopeKey);
    if (!scope) {
      scope = { name: r.scopeName, version: r.scopeVersion, records: [] };
      group.scopes.set(scopeKey, scope);
    }
    scope.records.push(r);
  }
  return byKey;
}

/** One ExportLogsServiceRequest: records grouped by identical resource, then by scope, in input order. */
export function encodeLogs(records: readonly LogRecord[]): Uint8Array {
  // Generous: a file's record carries ~170 bytes of times, severity and attributes around its
  // body, and a guess short by one byte doubles the buffer and copies all of it.
  let sizeHint = 0;
  for (const r of records) sizeHint += r.body.length + 224;
  return writeExportLogsRequest(groupLogs(records).values(), sizeHint);
}

/** The same request through protobufjs: the reference the hand-written writer is tested against. */
export function encodeLogsWithProtobufjs(records: readonly LogRecord[]): Uint8Array {
  const resourceLogs: PbResourceLogs[] = [];
  for (const g of groupLogs(records).values()) {
    const scopeLogs = [...g.scopes.values()].map((scope) => ({
      ...(scope.name !== undefined || scope.version !== undefined ? { scope: { name: wellFormed(scope.name ?? ''), version: wellFormed(scope.version ?? '') } } : {}),
      logRecords: scope.records.map(toPbLogRecord),
    }));
    resourceLogs.push({ resource: { attributes: toKeyValues(g.resource) }, scopeLogs });
  }
  return ExportLogsServiceRequest.encode({ resourceLogs }).finish();
}

/**
 * Splits records into messages of at most maxBytes each, in input order. A single record larger
 * than maxBytes is still emitted, alone: the caller decides what to do with it.
 */
export function encodeLogBatches(records: readonly LogRecord[], maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Uint8Array[] {
  if (!(maxBytes > 0) || !Number.isFinite(maxBytes)) throw new RangeError(`maxBytes must be a positive number of bytes, got ${maxBytes}`);
  // Cut by an estimate first, so a big batch is not encoded whole only to be cut and encoded
  // again; the estimate learns from each message, and splitEncode still cuts a slice it missed.
  const target = maxBytes * 0.85;
  let scale = 1;
  const out: Uint8Array[] = [];
  for (let start = 0; start < records.length; ) {
    let end = start;
    let estimate = 0;
    while (end < records.length && (end === start || estimate + scale * estimatedLogBytes(records[end]!) <= target)) {
      estimate += scale * estimatedLogBytes(records[end]!);
      end++;
    }
    const slice = start === 0 && end === records.length ? records : records.slice(start, end);
    const parts = splitEncode(slice, maxBytes, encodeLogs);
    let actual = 0;
    for (const part of parts) {
      actual += part.length;
      out.push(part);
    }
    if (estimate > 0) scale = Math.min(64, Math.max(0.25, (scale * actual) / estimate));
    start = end;
  }
  return out;
}

/** Roughly the bytes a record takes in a request: its body and severity, and a typical attribute set. */
function estimatedLogBytes(r: LogRecord): number {
  return r.body.length + r.severityText.length + 150;
}

/**
 * Every record of every ResourceLogs/ScopeLogs, flattened. Records of one ResourceLogs share one
 * frozen `resource` object (it is decoded once); copy it before changing it. Nothing returned
 * points into `bytes`.
 */
export function decodeLogs(bytes: Uint8Array): LogRecord[] {
  let req: otlp.collector.logs.v1.ExportLogsServiceRequest;
  try {
    req = ExportLogsServiceRequest.decode(asBuffer(bytes));
  } catch (err) {
    throw decodeFailed('ExportLogsServiceRequest', err, bytes);
  }
  const out: LogRecord[] = [];
  for (const rl of req.resourceLogs ?? []) {
    const resource = Object.freeze(fromKeyValues(rl.resource?.attributes));
    for (const sl of rl.scopeLogs ?? []) {
      const scopeName = sl.scope?.name || undefined;
      const scopeVersion = sl.scope?.version || undefined;
      for (const lr of sl.logRecords ?? []) {
        const attributes = fromKeyValues(lr.attributes);
        // The model has no event name field; keep it as the attribute it used to be.
        if (lr.eventName && !Object.hasOwn(attributes, 'event.name')) attributes['event.name'] = lr.eventName;
        const rec: LogRecord = {
          timeUnixNano: longToNanos(lr.timeUnixNano),
          observedTimeUnixNano: longToNanos(lr.observedTimeUnixNano),
          severityNumber: lr.severityNumber ?? 0,
          severityText: lr.severityText ?? '',
          body: bodyOf(lr.body),
          resource,
          attributes,
          traceId: toHex(lr.traceId),
          spanId: toHex(lr.spanId),
          flags: (lr.flags ?? 0) >>> 0,
        };
        if (scopeName !== undefined) rec.scopeName = scopeName;
        if (scopeVersion !== undefined) rec.scopeVersion = scopeVersion;
        out.push(rec);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Metrics: Prometheus samples <-> OTLP, after Prometheus's own OTLP translation

const JOB = 'job';
const INSTANCE = 'instance';
const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';
/** Metric.metadata key the Collector's Prometheus receiver uses for types OTLP has no word for. */
const PROMETHEUS_TYPE = 'prometheus.type';
/**
 * Scope name of the metrics Pharos encodes: their names are Prometheus names already (host
 * metrics, scrapes, recording rules such as `job:http_requests:rate5m`), so decoding keeps them
 * instead of applying the OTLP translation, which would turn `:` into `_` or add `_total`.
 */
export const PROMETHEUS_NAMES_SCOPE = 'pharos.prometheus_names';

const VALID_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALID_METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Prometheus 2.x's OTLP label rules (NormalizeLabel): invalid characters become `_`, a leading
 * digit gets `key_`, a single leading `_` gets `key` (`__` is left: reserved names stay reserved).
 */
export function sanitizeLabelName(name: string): string {
  const s = VALID_LABEL.test(name) ? name : name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) return `key_${s}`;
  return s.startsWith('_') && !s.startsWith('__') ? `key${s}` : s;
}

/** Prometheus metric-name rules: invalid characters become `_`, a leading digit gets `_`. */
export function sanitizeMetricName(name: string): string {
  if (VALID_METRIC.test(name)) return name;
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64), which Prometheus uses for `le` and `quantile`. */
export function formatPromFloat(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const intLen = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = `0.${'0'.repeat(-intLen)}${digits}`;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  return neg ? `-${out}` : out;
}

/** OTLP (UCUM) units → Prometheus base-unit words, as Prometheus 2.x's OTLP translator maps them. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', TiBy: 'tibibytes', KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes', TBy: 'terabytes',
  m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams',
  Cel: 'celsius', Hz: 'hertz', '1': '', '%': 'percent',
};
const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

function unitTokens(word: string): string[] {
  return word.split(/[^a-zA-Z0-9]+/).filter(Boolean);
}

/**
 * The Prometheus name of an OTLP metric, as Prometheus 2.x's OTLP receiver builds it (its
 * `normalizeName`, with metric suffixes on — what its write handler always asks for; Prometheus
 * 3.x's default `UnderscoreEscapingWithSuffixes` gives the same for these names). The name is cut
 * into alphanumeric tokens (so `.`, `-`, `:` and runs of `_` all become one `_`); the unit's word
 * is appended unless a token already says it (`s` → `seconds`, `By` → `bytes`, `By/s` →
 * `bytes_per_second`; units in braces such as `{request}` add nothing); a monotonic sum ends in
 * `_total` (moved to the end if it was elsewhere); a gauge with unit `1` ends in `_ratio`.
 * Deviation: only ASCII letters and digits are kept (Go keeps any Unicode letter, which Prometheus's
 * own name check then refuses).
 */
export function otlpMetricName(name: string, unit: string, kind: 'gauge' | 'sum' | 'histogram' | 'summary', monotonic = false): string {
  let tokens = name.split(/[^a-zA-Z0-9]+/).filter(Boolean);
  const [main, per] = unit.split('/', 2).map((u) => u.trim());
  if (main && !/[{}]/.test(main)) {
    const word = unitTokens(UNIT_WORDS[main] ?? main).join('_');
    if (word !== '' && !tokens.includes(word)) tokens.push(word);
  }
  if (per && !/[{}]/.test(per)) {
    const word = unitTokens(PER_UNIT_WORDS[per] ?? per).join('_');
    if (word !== '' && !tokens.includes(word)) tokens.push('per', word);
  }
  if (kind === 'sum' && monotonic) tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  const out = tokens.join('_');
  return /^[0-9]/.test(out) ? `_${out}` : out;
}

function parsePromFloat(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim().toLowerCase();
  if (t === '+inf' || t === 'inf' || t === '+infinity' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === '' || t === 'nan') return undefined;
  const n = Number(t);
  return Number.isNaN(n) ? undefined : n;
}

function stripSuffix(name: string, suffix: string): string {
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : name;
}

function labelsKey(labels: Readonly<Record<string, string>>, skip: string): string {
  const keys = Object.keys(labels).filter((k) => k !== skip && k !== JOB && k !== INSTANCE).sort();
  return keys.map((k) => `${k}\u0001${labels[k]}`).join('\u0002');
}

function pointAttributes(labels: Readonly<Record<string, string>>, skip?: string): PbKeyValue[] {
  const out: PbKeyValue[] = [];
  for (const k of Object.keys(labels)) {
    if (k === JOB || k === INSTANCE || k === skip) continue;
    out.push({ key: wellFormed(k), value: { stringValue: wellFormed(labels[k] ?? '') } });
  }
  return out;
}

interface HistogramAcc {
  kind: 'histogram';
  base: string;
  labels: Record<string, string>;
  timestampMs: number;
  buckets: { le: number; value: number }[];
  sum?: number;
  count?: number;
  stale: boolean;
}

interface SummaryAcc {
  kind: 'summary';
  base: string;
  labels: Record<string, string>;
  timestampMs: number;
  quantiles: { q: number; value: number }[];
  sum?: number;
  count?: number;
  stale: boolean;
}

interface ResourceMetricsAcc {
  job: string | undefined;
  instance: string | undefined;
  metrics: Map<string, PbMetric>;
  families: Map<string, HistogramAcc | SummaryAcc>;
}

function familyOf(s: MetricSample): { kind: 'histogram' | 'summary'; base: string; skip: string } | undefined {
  switch (s.type) {
    case 'histogram_bucket':
      return parsePromFloat(s.labels.le) === undefined ? undefined : { kind: 'histogram', base: stripSuffix(s.name, '_bucket'), skip: 'le' };
    case 'histogram_sum':
      return { kind: 'histogram', base: stripSuffix(s.name, '_sum'), skip: 'le' };
    case 'histogram_count':
      return { kind: 'histogram', base: stripSuffix(s.name, '_count'), skip: 'le' };
    case 'summary':
      return parsePromFloat(s.labels.quantile) === undefined ? undefined : { kind: 'summary', base: s.name, skip: 'quantile' };
    case 'summary_sum':
      return { kind: 'summary', base: stripSuffix(s.name, '_sum'), skip: 'quantile' };
    case 'summary_count':
      return { kind: 'summary', base: stripSuffix(s.name, '_count'), skip: 'quantile' };
    default:
      return undefined;
  }
}

function numberPoint(s: MetricSample): PbNumberDataPoint {
  const dp: PbNumberDataPoint = { attributes: pointAttributes(s.labels), timeUnixNano: millisToLong(s.timestampMs) };
  if (s.stale) dp.flags = NO_RECORDED_VALUE;
  else dp.asDouble = s.value;
  return dp;
}

function withoutLabel(labels: Readonly<Record<string, string>>, skip: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels)) if (k !== skip) out[k] = labels[k] ?? '';
  return out;
}

function count64(v: number): Long {
  return Long.fromNumber(Number.isFinite(v) && v > 0 ? Math.round(v) : 0, true);
}

function histogramPoint(h: HistogramAcc): PbHistogramDataPoint {
  const buckets = [...h.buckets].sort((a, b) => a.le - b.le);
  const bounds: number[] = [];
  const cumulative: number[] = [];
  let inf: number | undefined;
  for (const b of buckets) {
    if (b.le === Infinity) inf = b.value;
    else if (bounds.length > 0 && bounds[bounds.length - 1] === b.le) cumulative[cumulative.length - 1] = b.value;
    else {
      bounds.push(b.le);
      cumulative.push(b.value);
    }
  }
  const lastFinite = cumulative.length > 0 ? (cumulative[cumulative.length - 1] as number) : 0;
  const total = h.count ?? inf ?? lastFinite;
  const dp: PbHistogramDataPoint = {
    attributes: pointAttributes(h.labels, 'le'),
    timeUnixNano: millisToLong(h.timestampMs),
    explicitBounds: bounds,
  };
  if (h.stale) {
    // Bounds are kept so the reader can name every bucket series it marks stale.
    dp.flags = NO_RECORDED_VALUE;
    dp.bucketCounts = buckets.length > 0 ? new Array<Long>(bounds.length + 1).fill(Long.UZERO) : [];
    return dp;
  }
  if (buckets.length > 0) {
    const counts: Long[] = [];
    let prev = 0;
    for (const c of cumulative) {
      counts.push(count64(c - prev));
      prev = c;
    }
    counts.push(count64((inf ?? total) - lastFinite));
    dp.bucketCounts = counts;
  }
  dp.count = count64(total);
  if (h.sum !== undefined) dp.sum = h.sum;
  return dp;
}

function summaryPoint(s: SummaryAcc): PbSummaryDataPoint {
  const dp: PbSummaryDataPoint = {
    attributes: pointAttributes(s.labels, 'quantile'),
    timeUnixNano: millisToLong(s.timestampMs),
    quantileValues: [...s.quantiles].sort((a, b) => a.q - b.q).map((q) => ({ quantile: q.q, value: s.stale ? 0 : q.value })),
  };
  if (s.stale) {
    dp.flags = NO_RECORDED_VALUE;
    return dp;
  }
  dp.count = count64(s.count ?? 0);
  dp.sum = s.sum ?? 0;
  return dp;
}

function metricOf(acc: ResourceMetricsAcc, key: string, make: () => PbMetric): PbMetric {
  let m = acc.metrics.get(key);
  if (!m) {
    m = make();
    acc.metrics.set(key, m);
  }
  return m;
}

/** One ExportMetricsServiceRequest; `job`/`instance` become the resource, other labels data point attributes. */
export function encodeMetrics(samples: readonly MetricSample[]): Uint8Array {
  const resources = new Map<string, ResourceMetricsAcc>();
  for (const s of samples) {
    const job = s.labels[JOB];
    const instance = s.labels[INSTANCE];
    const rkey = `${job === undefined ? '\u0000' : `=${job}`}\u0001${instance === undefined ? '\u0000' : `=${instance}`}`;
    let acc = resources.get(rkey);
    if (!acc) {
      acc = { job, instance, metrics: new Map(), families: new Map() };
      resources.set(rkey, acc);
    }
    const family = familyOf(s);
    if (family) {
      const fkey = `${family.kind}\u0000${family.base}\u0000${labelsKey(s.labels, family.skip)}\u0000${s.timestampMs}`;
      let f = acc.families.get(fkey);
      if (!f) {
        const labels = withoutLabel(s.labels, family.skip);
        f =
          family.kind === 'histogram'
            ? { kind: 'histogram', base: family.base, labels, timestampMs: s.timestampMs, buckets: [], stale: false }
            : { kind: 'summary', base: family.base, labels, timestampMs: s.timestampMs, quantiles: [], stale: false };
        acc.families.set(fkey, f);
        // Reserve the metric's place so metrics keep the order their first sample had.
        const mkey = `${family.kind}\u0000${family.base}`;
        metricOf(acc, mkey, () =>
          family.kind === 'histogram'
            ? { name: wellFormed(family.base), histogram: { dataPoints: [], aggregationTemporality: AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE } }
            : { name: wellFormed(family.base), summary: { dataPoints: [] } },
        );
      }
      if (s.stale) f.stale = true;
      if (s.type === 'histogram_bucket' && f.kind === 'histogram') f.buckets.push({ le: parsePromFloat(s.labels.le) as number, value: s.value });
      else if (s.type === 'summary' && f.kind === 'summary') f.quantiles.push({ q: parsePromFloat(s.labels.quantile) as number, value: s.value });
      else if (s.type === 'histogram_sum' || s.type === 'summary_sum') f.sum = s.value;
      else f.count = s.value;
      continue;
    }
    if (s.type === 'counter') {
      const m = metricOf(acc, `counter\u0000${s.name}`, () => ({
        name: wellFormed(s.name),
        sum: { dataPoints: [], aggregationTemporality: AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE, isMonotonic: true },
      }));
      m.sum?.dataPoints?.push(numberPoint(s));
    } else {
      // gauge, unknown, and family samples whose le/quantile label does not parse.
      const unknown = s.type !== 'gauge';
      const m = metricOf(acc, `${unknown ? 'unknown' : 'gauge'}\u0000${s.name}`, () => {
        const metric: PbMetric = { name: wellFormed(s.name), gauge: { dataPoints: [] } };
        if (unknown) metric.metadata = [{ key: PROMETHEUS_TYPE, value: { stringValue: 'unknown' } }];
        return metric;
      });
      m.gauge?.dataPoints?.push(numberPoint(s));
    }
  }
  const resourceMetrics: PbResourceMetrics[] = [];
  for (const acc of resources.values()) {
    for (const f of acc.families.values()) {
      const m = acc.metrics.get(`${f.kind}\u0000${f.base}`);
      if (f.kind === 'histogram') m?.histogram?.dataPoints?.push(histogramPoint(f));
      else m?.summary?.dataPoints?.push(summaryPoint(f));
    }
    const attributes: PbKeyValue[] = [];
    if (acc.job !== undefined) attributes.push({ key: SERVICE_NAME, value: { stringValue: wellFormed(acc.job) } });
    if (acc.instance !== undefined) attributes.push({ key: SERVICE_INSTANCE_ID, value: { stringValue: wellFormed(acc.instance) } });
    resourceMetrics.push({ resource: { attributes }, scopeMetrics: [{ scope: { name: PROMETHEUS_NAMES_SCOPE }, metrics: [...acc.metrics.values()] }] });
  }
  return ExportMetricsServiceRequest.encode({ resourceMetrics }).finish();
}

/**
 * Splits samples into messages of at most maxBytes each, never cutting the buckets, sum and count
 * of one histogram or summary point apart. An oversized single point is emitted alone.
 */
export function encodeMetricBatches(samples: readonly MetricSample[], maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Uint8Array[] {
  const units = new Map<string, MetricSample[]>();
  let n = 0;
  for (const s of samples) {
    const family = familyOf(s);
    const key = family
      ? `${family.kind}\u0000${family.base}\u0000${s.labels[JOB] ?? ''}\u0000${s.labels[INSTANCE] ?? ''}\u0000${labelsKey(s.labels, family.skip)}\u0000${s.timestampMs}`
      : `#${n++}`;
    const unit = units.get(key);
    if (unit) unit.push(s);
    else units.set(key, [s]);
  }
  return splitEncode([...units.values()], maxBytes, (slice) => encodeMetrics(slice.flat()));
}

export type MetricDropReason =
  /** Delta Sum or Histogram: Prometheus series are cumulative; accumulating deltas here would be guesswork. */
  | 'delta_temporality'
  /** Sum or Histogram without a temporality: not valid OTLP. */
  | 'unspecified_temporality'
  /** ExponentialHistogram: no classic-bucket equivalent without a native-histogram store. */
  | 'exponential_histogram'
  /** Data point with time_unix_nano 0: a sample needs a time. */
  | 'missing_timestamp';

export interface DecodedMetrics {
  samples: MetricSample[];
  /** Data points not turned into samples, by reason (only reasons that occurred). */
  dropped: { reason: MetricDropReason; count: number }[];
}

export interface DecodeMetricsOptions {
  /** Resource attributes copied onto every sample as labels (as Prometheus's `promote_resource_attributes`). */
  promoteResourceAttributes?: readonly string[];
  /** Emit a `target_info` gauge per resource carrying its other attributes, as Prometheus does. Default true. */
  targetInfo?: boolean;
}

function labelValue(v: PbAnyValue | null | undefined): string {
  const a = fromAnyValue(v);
  if (typeof a === 'string') return a;
  if (a === null) return '';
  if (typeof a === 'object') return jsonOf(a);
  return String(a);
}

function addLabel(labels: Record<string, string>, rawKey: string, value: string): void {
  if (value === '') return; // Prometheus has no empty labels.
  const name = sanitizeLabelName(rawKey);
  if (name === '' || name === '__name__') return;
  const prev = labels[name];
  // Two keys that sanitise alike are merged, as Prometheus does.
  setOwn(labels, name, prev === undefined ? value : `${prev};${value}`);
}

/** Samples only; see decodeMetricsDetailed for what was dropped and why. */
export function decodeMetrics(bytes: Uint8Array, options?: DecodeMetricsOptions): MetricSample[] {
  return decodeMetricsDetailed(bytes, options).samples;
}

export function decodeMetricsDetailed(bytes: Uint8Array, options: DecodeMetricsOptions = {}): DecodedMetrics {
  let req: otlp.collector.metrics.v1.ExportMetricsServiceRequest;
  try {
    req = ExportMetricsServiceRequest.decode(asBuffer(bytes));
  } catch (err) {
    throw decodeFailed('ExportMetricsServiceRequest', err, bytes);
  }
  const promote = options.promoteResourceAttributes ?? [];
  const wantTargetInfo = options.targetInfo ?? true;
  const samples: MetricSample[] = [];
  const dropped = new Map<MetricDropReason, number>();
  const drop = (reason: MetricDropReason, n: number): void => {
    if (n > 0) dropped.set(reason, (dropped.get(reason) ?? 0) + n);
  };

  for (const rm of req.resourceMetrics ?? []) {
    const rattrs = rm.resource?.attributes ?? [];
    let serviceName: string | undefined;
    let serviceNamespace: string | undefined;
    let instance: string | undefined;
    const base: Record<string, string> = {};
    const others: PbKeyValue[] = [];
    for (const kv of rattrs) {
      const key = kv.key ?? '';
      if (key === SERVICE_NAME) serviceName = labelValue(kv.value);
      else if (key === SERVICE_NAMESPACE) serviceNamespace = labelValue(kv.value);
      else if (key === SERVICE_INSTANCE_ID) instance = labelValue(kv.value);
      else {
        others.push(kv);
        if (promote.includes(key)) addLabel(base, key, labelValue(kv.value));
      }
    }
    const job = serviceName ? (serviceNamespace ? `${serviceNamespace}/${serviceName}` : serviceName) : undefined;
    let latestMs = 0;

    const labelsOf = (attrs: readonly PbKeyValue[] | null | undefined): Record<string, string> => {
      const labels: Record<string, string> = { ...base };
      // Data point attributes win over promoted resource attributes of the same name.
      for (const k of Object.keys(base)) if (attrs?.some((a) => sanitizeLabelName(a.key ?? '') === k)) delete labels[k];
      if (attrs) for (const a of attrs) addLabel(labels, a.key ?? '', labelValue(a.value));
      if (job) labels[JOB] = job;
      if (instance) labels[INSTANCE] = instance;
      return labels;
    };
    const push = (name: string, labels: Record<string, string>, timestampMs: number, value: number, type: MetricType, stale: boolean): void => {
      const s: MetricSample = { name, labels, timestampMs, value: stale ? NaN : value, type };
      if (stale) s.stale = true;
      samples.push(s);
    };

    for (const sm of rm.scopeMetrics ?? []) {
      const prometheusNames = sm.scope?.name === PROMETHEUS_NAMES_SCOPE;
      for (const m of sm.metrics ?? []) {
        const data = (m as otlp.metrics.v1.Metric).data;
        const kind = data === 'sum' ? 'sum' : data === 'histogram' || data === 'exponentialHistogram' ? 'histogram' : data === 'summary' ? 'summary' : 'gauge';
        const name = prometheusNames ? sanitizeMetricName(m.name ?? '') : otlpMetricName(m.name ?? '', m.unit ?? '', kind, m.sum?.isMonotonic === true);
        switch (data) {
          case 'gauge':
          case 'sum': {
            let type: MetricType = 'gauge';
            const points = (m.gauge ?? m.sum)?.dataPoints ?? [];
            if (m.sum) {
              const t = m.sum.aggregationTemporality ?? 0;
              if (t === AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA) {
                drop('delta_temporality', points.length);
                break;
              }
              if (t !== AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE) {
                drop('unspecified_temporality', points.length);
                break;
              }
              // A non-monotonic cumulative sum can go down: a gauge, as Prometheus maps it.
              if (m.sum.isMonotonic) type = 'counter';
            } else if (m.metadata?.some((kv) => kv.key === PROMETHEUS_TYPE && kv.value?.stringValue === 'unknown')) {
              type = 'unknown';
            }
            for (const dp of points) {
              const ts = longToMillis(dp.timeUnixNano);
              if (ts === 0) {
                drop('missing_timestamp', 1);
                continue;
              }
              if (ts > latestMs) latestMs = ts;
              const stale = ((dp.flags ?? 0) & NO_RECORDED_VALUE) !== 0;
              // Not the `value` getter: it scans Object.keys on every call.
              const value = dp.asInt != null ? dp.asInt.toNumber() : (dp.asDouble ?? 0);
              push(name, labelsOf(dp.attributes), ts, value, type, stale);
            }
            break;
          }
          case 'histogram': {
            const h = m.histogram;
            const points = h?.dataPoints ?? [];
            const t = h?.aggregationTemporality ?? 0;
            if (t !== AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE) {
              drop(t === AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA ? 'delta_temporality' : 'unspecified_temporality', points.length);
              break;
            }
            for (const dp of points) {
              const ts = longToMillis(dp.timeUnixNano);
              if (ts === 0) {
                drop('missing_timestamp', 1);
                continue;
              }
              if (ts > latestMs) latestMs = ts;
              const stale = ((dp.flags ?? 0) & NO_RECORDED_VALUE) !== 0;
              const labels = labelsOf(dp.attributes);
              const count = dp.count ? dp.count.toNumber() : 0;
              const counts = dp.bucketCounts ?? [];
              if (counts.length > 0) {
                const bounds = dp.explicitBounds ?? [];
                let cumulative = 0;
                for (let i = 0; i < bounds.length && i < counts.length; i++) {
                  cumulative += (counts[i] as Long).toNumber();
                  push(`${name}_bucket`, { ...labels, le: formatPromFloat(bounds[i] as number) }, ts, cumulative, 'histogram_bucket', stale);
                }
                // +Inf is the point's count, as Prometheus writes it.
                push(`${name}_bucket`, { ...labels, le: '+Inf' }, ts, count, 'histogram_bucket', stale);
              }
              if (dp.sum != null || stale) push(`${name}_sum`, { ...labels }, ts, dp.sum ?? 0, 'histogram_sum', stale);
              push(`${name}_count`, labels, ts, count, 'histogram_count', stale);
            }
            break;
          }
          case 'summary': {
            for (const dp of m.summary?.dataPoints ?? []) {
              const ts = longToMillis(dp.timeUnixNano);
              if (ts === 0) {
                drop('missing_timestamp', 1);
                continue;
              }
              if (ts > latestMs) latestMs = ts;
              const stale = ((dp.flags ?? 0) & NO_RECORDED_VALUE) !== 0;
              const labels = labelsOf(dp.attributes);
              for (const q of dp.quantileValues ?? []) {
                push(name, { ...labels, quantile: formatPromFloat(q.quantile ?? 0) }, ts, q.value ?? 0, 'summary', stale);
              }
              push(`${name}_sum`, { ...labels }, ts, dp.sum ?? 0, 'summary_sum', stale);
              push(`${name}_count`, labels, ts, dp.count ? dp.count.toNumber() : 0, 'summary_count', stale);
            }
            break;
          }
          case 'exponentialHistogram':
            drop('exponential_histogram', m.exponentialHistogram?.dataPoints?.length ?? 0);
            break;
          default:
            break;
        }
      }
    }

    if (wantTargetInfo && others.length > 0 && latestMs > 0) {
      const labels: Record<string, string> = {};
      for (const kv of others) addLabel(labels, kv.key ?? '', labelValue(kv.value));
      if (job) labels[JOB] = job;
      if (instance) labels[INSTANCE] = instance;
      if (Object.keys(labels).length > 0) samples.push({ name: 'target_info', labels, timestampMs: latestMs, value: 1, type: 'gauge' });
    }
  }
  return { samples, dropped: [...dropped].map(([reason, count]) => ({ reason, count })) };
}
