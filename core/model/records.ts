/**
 * The record model Pharos moves around, after the OpenTelemetry data model (logs) and the
 * Prometheus data model (metric samples). Every part speaks these types; the wire codec
 * (core/codec) turns batches of them into OTLP protobuf and back.
 */

/** Attribute values as OTLP carries them, flattened to what logs and labels need. */
export type AttributeValue = string | number | boolean | bigint | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

/** OpenTelemetry severity numbers (1-24); 0 means unspecified. */
export const SeverityNumber = {
  UNSPECIFIED: 0,
  TRACE: 1,
  DEBUG: 5,
  INFO: 9,
  WARN: 13,
  ERROR: 17,
  FATAL: 21,
} as const;

export interface LogRecord {
  /** Event time in nanoseconds since the epoch; 0n when the source gave none (use observedTimeUnixNano). */
  timeUnixNano: bigint;
  /** When the collector saw the record, nanoseconds since the epoch. */
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: string;
  /** Resource attributes: at least `service.name` and `host.name`. */
  resource: Attributes;
  /** Log attributes (parsed fields, file path, source identity and sequence, flags). */
  attributes: Attributes;
  /** Instrumentation scope, when the producer set one. */
  scopeName?: string;
  scopeVersion?: string;
  /** Hex-encoded ids, empty when absent. */
  traceId: string;
  spanId: string;
  flags: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram_bucket' | 'histogram_sum' | 'histogram_count' | 'summary' | 'summary_sum' | 'summary_count' | 'unknown';

export interface MetricSample {
  name: string;
  /** Labels without `__name__`. */
  labels: Record<string, string>;
  /** Milliseconds since the epoch. */
  timestampMs: number;
  value: number;
  type: MetricType;
  /** True for an explicit staleness marker (OTLP NO_RECORDED_VALUE). */
  stale?: boolean;
}

/** The event time a log record is stored at: its own time, else when it was observed (never 1970). */
export function effectiveTimeNano(r: LogRecord): bigint {
  return r.timeUnixNano > 0n ? r.timeUnixNano : r.observedTimeUnixNano;
}

export function nowNano(): bigint {
  // Date.now() has ms resolution; hrtime adds a monotonic sub-ms part so records observed in the
  // same millisecond keep their order.
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}
