/**
 * A LogRecord as one `otel_logs` row in the JSONEachRow input format.
 *
 * The mapping follows the OpenTelemetry Collector's ClickHouse exporter: `ServiceName` from the
 * resource's `service.name`, attribute values as strings (scalars printed, arrays and maps as
 * JSON), hex trace and span ids. Rows never fail an insert on their content: a row ClickHouse
 * refused would stall its partition, so every string is made well-formed UTF-16 (a lone
 * surrogate makes ClickHouse's JSON parser reject the whole insert) and every number is clamped
 * into its column type.
 */
import { effectiveTimeNano, type AttributeValue, type Attributes, type LogRecord } from '../../core/model/records.js';

export interface OtelLogRow {
  /** Nanoseconds since the epoch as a decimal string; needs `date_time_input_format = 'basic'` (see below). */
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  TraceFlags: number;
  SeverityText: string;
  SeverityNumber: number;
  ServiceName: string;
  Body: string;
  ResourceSchemaUrl: string;
  ResourceAttributes: Record<string, string>;
  ScopeSchemaUrl: string;
  ScopeName: string;
  ScopeVersion: string;
  ScopeAttributes: Record<string, string>;
  LogAttributes: Record<string, string>;
  EventName: string;
}

/**
 * Settings an insert of these rows needs. chDB defaults to `best_effort` date parsing, which
 * reads an integer as nanoseconds only from 2001-09-09 on and refuses earlier ones; `basic` (the
 * server default) reads every integer of 12 to 19 digits as the DateTime64(9) value itself
 * (measured on chDB 26.7).
 */
export const OTEL_LOGS_INSERT_SETTINGS = { date_time_input_format: 'basic' } as const;

/**
 * `basic` parsing reads an integer of 10 digits or fewer as seconds and refuses 11 digits, so
 * times before 1e12 ns (1970-01-01 00:16:40) cannot be written as integers; they are not real
 * event times either, and are treated as missing.
 */
const MIN_STORABLE_NANO = 1_000_000_000_000n;
/** Last second a `DateTime` (TimestampTime, the partition key) can hold: 2106-02-07. */
const MAX_STORABLE_NANO = 4_294_967_295_999_999_999n;
const NANOS_PER_DAY = 86_400_000_000_000n;

/**
 * The time a record is stored at: its event time, else when it was observed (a `filelog`
 * record has no event time), else `fallbackNano` (the caller's: the Kafka message's time) —
 * never 1970, and never outside what the table's time columns can hold.
 */
export function storedTimeNano(r: LogRecord, fallbackNano: bigint): bigint {
  for (const t of [effectiveTimeNano(r), r.observedTimeUnixNano]) {
    if (t >= MIN_STORABLE_NANO && t <= MAX_STORABLE_NANO) return t;
  }
  // Clamped, because a row ClickHouse cannot parse would fail its whole insert again and again.
  return fallbackNano < MIN_STORABLE_NANO ? MIN_STORABLE_NANO : fallbackNano > MAX_STORABLE_NANO ? MAX_STORABLE_NANO : fallbackNano;
}

/** UTC day number of a stored time, the unit `otel_logs` is partitioned by. */
export function utcDay(timeNano: bigint): number {
  return Number(timeNano / NANOS_PER_DAY);
}

export function toOtelLogRow(r: LogRecord, timeNano: bigint): OtelLogRow {
  const service = r.resource['service.name'];
  return {
    Timestamp: timeNano.toString(),
    TraceId: wellFormed(r.traceId).toLowerCase(),
    SpanId: wellFormed(r.spanId).toLowerCase(),
    TraceFlags: uint8(r.flags),
    SeverityText: wellFormed(r.severityText),
    SeverityNumber: uint8(r.severityNumber),
    ServiceName: service === undefined ? '' : attributeString(service),
    Body: wellFormed(r.body),
    ResourceSchemaUrl: '',
    ResourceAttributes: attributeMap(r.resource),
    ScopeSchemaUrl: '',
    ScopeName: wellFormed(r.scopeName ?? ''),
    ScopeVersion: wellFormed(r.scopeVersion ?? ''),
    ScopeAttributes: {},
    LogAttributes: attributeMap(r.attributes),
    EventName: '',
  };
}

export function attributeMap(attrs: Attributes): Record<string, string> {
  // No prototype: an attribute named "__proto__" must stay a key, not vanish into a prototype switch.
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(attrs)) out[wellFormed(k)] = attributeString(v);
  return out;
}

/** As the exporter's `AsString()`: strings as they are, scalars printed, arrays and maps as JSON, null empty. */
export function attributeString(v: AttributeValue): string {
  if (typeof v === 'string') return wellFormed(v);
  if (v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return wellFormed(json(v));
}

// JSON.stringify throws on bigint; an int64 attribute is printed as the JSON number it is.
function json(v: AttributeValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(json).join(',')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${json(x)}`)
    .join(',')}}`;
}

function uint8(n: number): number {
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : Number.isFinite(n) ? Math.min(255, Math.max(0, Math.trunc(n))) : 0;
}

// String.prototype.toWellFormed is in Node 20 but not in the ES2023 lib this project compiles against.
const toWellFormed = (String.prototype as unknown as { toWellFormed: (this: string) => string }).toWellFormed;

function wellFormed(s: string): string {
  return toWellFormed.call(s);
}
