/**
 * The collector's internal events: each function writes the log line (pino) and moves the
 * counters (prom-client) of one happening, so components never touch prom-client directly and
 * every metric name lives in this one file (STYLE.md §4, after Vector's internal_events).
 *
 * Component series carry `component_kind`, `component_id` and `component_type`, bound once when
 * the component is built by caching the `.labels()` children. Error logs are rate-limited per
 * (event, component): at most one line per 10 s, the next one saying how many were suppressed.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { ErrorCode } from '../core/errors.js';
import { PharosError } from '../core/errors.js';
import { componentLogger, type Logger } from '../core/log.js';
import { counter, gauge, histogram, type Registry } from '../core/telemetry/registry.js';

export type ComponentKind = 'source' | 'sink' | 'service';

/** Bounded: both become metric labels. */
export type ErrorType = 'reader_failed' | 'request_failed' | 'encoder_failed' | 'io_failed' | 'acknowledgement_failed';
export type ErrorStage = 'receiving' | 'processing' | 'sending' | 'checkpointing';

const LOG_EVERY_MS = 10_000;
const COMPONENT_LABELS = ['component_kind', 'component_id', 'component_type'] as const;
type ComponentLabel = (typeof COMPONENT_LABELS)[number];

export interface ComponentTelemetry {
  readonly kind: ComponentKind;
  readonly id: string;
  readonly type: string;
  readonly log: Logger;
  /** Injected so rate limits and durations are testable without a real clock. */
  readonly now: () => number;
  readonly receivedEvents: Counter.Internal;
  readonly receivedBytes: Counter.Internal;
  readonly sentEvents: Counter.Internal;
  readonly sentBytes: Counter.Internal;
  readonly errors: Counter<ComponentLabel | 'error_type' | 'stage'>;
  readonly truncatedLines: Counter.Internal;
  readonly truncatedBytes: Counter.Internal;
  readonly invalidUtf8: Counter.Internal;
  readonly filesWatched: Gauge.Internal<'component_id'>;
  readonly sendDuration: Histogram.Internal<'component_id'>;
  readonly sentBatches: Counter.Internal;
  readonly acksOutstanding: Gauge.Internal<'component_id'>;
  /** Last time each rate-limited event logged, and how many lines it held back since. */
  readonly limits: Map<string, { at: number; suppressed: number }>;
}

export function componentTelemetry(
  registry: Registry,
  rootLog: Logger,
  ref: { kind: ComponentKind; id: string; type: string },
  now: () => number = Date.now,
): ComponentTelemetry {
  const labels = { component_kind: ref.kind, component_id: ref.id, component_type: ref.type };
  const byId = { component_id: ref.id };
  const errors = counter(registry, 'pharos_component_errors_total', 'Errors met by a component, by type and stage.', [...COMPONENT_LABELS, 'error_type', 'stage']);
  return {
    ...ref,
    log: componentLogger(rootLog, ref.kind, ref.id, ref.type),
    now,
    receivedEvents: counter(registry, 'pharos_component_received_events_total', 'Events a component took in.', COMPONENT_LABELS).labels(labels),
    receivedBytes: counter(registry, 'pharos_component_received_bytes_total', 'Raw bytes a component took in.', COMPONENT_LABELS).labels(labels),
    sentEvents: counter(registry, 'pharos_component_sent_events_total', 'Events a component delivered downstream (acknowledged).', COMPONENT_LABELS).labels(labels),
    sentBytes: counter(registry, 'pharos_component_sent_bytes_total', 'Encoded bytes a component delivered downstream (acknowledged).', COMPONENT_LABELS).labels(labels),
    errors,
    truncatedLines: counter(registry, 'pharos_collector_lines_truncated_total', 'Lines cut at max_line_bytes and tagged log.truncated.', ['component_id']).labels(byId),
    truncatedBytes: counter(registry, 'pharos_collector_truncated_bytes_total', 'Bytes dropped from lines cut at max_line_bytes.', ['component_id']).labels(byId),
    invalidUtf8: counter(registry, 'pharos_collector_invalid_utf8_total', 'Lines that were not valid UTF-8 (decoded with U+FFFD, tagged log.invalid_utf8).', ['component_id']).labels(byId),
    filesWatched: gauge(registry, 'pharos_collector_files_watched', 'Files a file source currently tails.', ['component_id']).labels(byId),
    sendDuration: histogram(registry, 'pharos_collector_send_duration_seconds', 'Time from handing a batch to the bus to its acknowledgement, per attempt.', ['component_id'], [
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]).labels(byId),
    sentBatches: counter(registry, 'pharos_collector_batches_sent_total', 'Batches (one Kafka produce request each) a sink delivered and had acknowledged.', ['component_id']).labels(byId),
    acksOutstanding: gauge(registry, 'pharos_acks_outstanding', 'Records handed to a sink and not yet acknowledged: a stall shows here, not as loss.', ['component_id']).labels(byId),
    limits: new Map(),
  };
}

/** Creates the error series a component can emit, so they read 0 instead of being absent. */
export function declareErrors(t: ComponentTelemetry, kinds: ReadonlyArray<{ error_type: ErrorType; stage: ErrorStage }>): void {
  for (const k of kinds) t.errors.labels({ component_kind: t.kind, component_id: t.id, component_type: t.type, ...k }).inc(0);
}

export function eventsReceived(t: ComponentTelemetry, count: number, bytes: number): void {
  t.receivedEvents.inc(count);
  t.receivedBytes.inc(bytes);
}

export function eventsSent(t: ComponentTelemetry, count: number, bytes: number): void {
  t.sentEvents.inc(count);
  t.sentBytes.inc(bytes);
}

export function componentError(
  t: ComponentTelemetry,
  what: { error_type: ErrorType; stage: ErrorStage; error_code?: ErrorCode },
  err: unknown,
  message: string,
  fields: Record<string, unknown> = {},
): void {
  t.errors.labels({ component_kind: t.kind, component_id: t.id, component_type: t.type, error_type: what.error_type, stage: what.stage }).inc();
  const error_code = what.error_code ?? errorCode(err);
  limited(t, `error:${what.error_type}:${what.stage}`, (suppressed) =>
    t.log.error({ ...fields, error_type: what.error_type, stage: what.stage, error_code, err: errorText(err), ...(suppressed ? { suppressed } : {}) }, message),
  );
}

/** An error that cleared: logged once so the operator sees the outage end. */
export function componentRecovered(t: ComponentTelemetry, message: string, fields: Record<string, unknown>): void {
  t.log.info(fields, message);
}

export function lineTruncated(t: ComponentTelemetry, f: { path: string; offset: number; maxLineBytes: number; droppedBytes: number }): void {
  t.truncatedLines.inc();
  t.truncatedBytes.inc(f.droppedBytes);
  limited(t, 'line_too_long', (suppressed) =>
    t.log.warn(
      { path: f.path, offset: f.offset, max_line_bytes: f.maxLineBytes, dropped_bytes: f.droppedBytes, error_code: 'line_too_long', ...(suppressed ? { suppressed } : {}) },
      `line at byte ${f.offset} of ${f.path} exceeds max_line_bytes (${f.maxLineBytes}): truncated, tagged log.truncated`,
    ),
  );
}

export function invalidUtf8(t: ComponentTelemetry, f: { path: string; offset: number }): void {
  t.invalidUtf8.inc();
  limited(t, 'invalid_utf8', (suppressed) =>
    t.log.warn(
      { path: f.path, offset: f.offset, error_code: 'invalid_utf8', ...(suppressed ? { suppressed } : {}) },
      `line at byte ${f.offset} of ${f.path} is not valid UTF-8: decoded with replacement characters, tagged log.invalid_utf8`,
    ),
  );
}

export type FileEventKind = 'added' | 'resumed' | 'renamed' | 'rotated' | 'truncated' | 'removed';

/** File lifecycle: rare, so every one is logged. */
export function fileEvent(t: ComponentTelemetry, kind: FileEventKind, fields: { path: string; file_id: string } & Record<string, unknown>): void {
  t.log.info({ ...fields, event: kind }, `file ${kind}`);
}

export function filesWatched(t: ComponentTelemetry, count: number): void {
  t.filesWatched.set(count);
}

export function sendDuration(t: ComponentTelemetry, seconds: number): void {
  t.sendDuration.observe(seconds);
}

export function batchSent(t: ComponentTelemetry): void {
  t.sentBatches.inc();
}

export function acksOutstanding(t: ComponentTelemetry, records: number): void {
  t.acksOutstanding.set(records);
}

/** The disk spool's series (collector/spool/spool.ts); one spool per collector, so no component labels. */
export interface SpoolTelemetry {
  readonly log: Logger;
  readonly bytes: Gauge;
  readonly segments: Gauge;
  readonly batches: Gauge;
  readonly written: Counter;
  readonly replayed: Counter;
  readonly quarantined: Counter;
  readonly damagedBytes: Counter;
  readonly full: Counter;
}

export function spoolTelemetry(registry: Registry, rootLog: Logger): SpoolTelemetry {
  return {
    log: componentLogger(rootLog, 'service', 'spool', 'disk_spool'),
    bytes: gauge(registry, 'pharos_collector_spool_bytes', 'Bytes of batches held in the disk spool, waiting for Kafka.'),
    segments: gauge(registry, 'pharos_collector_spool_segments', 'Segment files of the disk spool (quarantined ones excluded).'),
    batches: gauge(registry, 'pharos_collector_spool_batches', 'Batches in the disk spool not yet acknowledged by Kafka.'),
    written: counter(registry, 'pharos_collector_spool_batches_written_total', 'Batches written to the disk spool because Kafka did not take them.'),
    replayed: counter(registry, 'pharos_collector_spool_batches_replayed_total', 'Spooled batches delivered to Kafka and removed from the spool.'),
    quarantined: counter(registry, 'pharos_collector_spool_segments_quarantined_total', 'Spool segments that failed their checksum and were renamed aside (*.quarantined).'),
    damagedBytes: counter(registry, 'pharos_collector_spool_damaged_bytes_total', 'Bytes of spool segments that belonged to no valid block (torn writes, garbage): skipped.'),
    full: counter(registry, 'pharos_collector_spool_full_total', 'Times the spool was full: file reading paused and push endpoints answered 503 until it drained.'),
  };
}

export function spoolQuarantined(t: SpoolTelemetry, f: { segment: string; aside: string; damaged_bytes: number; valid_batches: number }): void {
  t.quarantined.inc();
  t.damagedBytes.inc(f.damaged_bytes);
  t.log.error(
    { ...f, error_type: 'io_failed', error_code: 'spool_corrupt' },
    `spool segment ${f.segment} failed its checksum: moved to ${f.aside}; its ${f.valid_batches} valid batch(es) are still delivered, ${f.damaged_bytes} damaged byte(s) skipped`,
  );
}

export function spoolFull(t: SpoolTelemetry, f: { bytes: number; max_bytes: number }): void {
  t.full.inc();
  t.log.warn(f, `spool full (${f.bytes} of ${f.max_bytes} bytes): file reading paused and push endpoints refused until Kafka takes batches again`);
}

function limited(t: ComponentTelemetry, key: string, emit: (suppressed: number) => void): void {
  const now = t.now();
  const state = t.limits.get(key);
  if (state && now - state.at < LOG_EVERY_MS) {
    state.suppressed++;
    return;
  }
  emit(state?.suppressed ?? 0);
  t.limits.set(key, { at: now, suppressed: 0 });
}

/** Classified once here, from what the error says about itself, never from its message text. */
function errorCode(err: unknown): ErrorCode {
  if (err instanceof PharosError) return err.code;
  const name = (err as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && /^KafkaJS(Connection|Broker|NumberOfRetriesExceeded|RequestTimeout|Timeout)/.test(name)) return 'broker_unreachable';
  return 'internal';
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}
