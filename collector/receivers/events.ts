/**
 * The receivers' internal events: what a push or pull source refused, and why. Every refusal is
 * one increment of `pharos_collector_rejected_total{reason}` and, at most once per 10 s per
 * reason, a log line naming the limit: nothing is refused silently.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../../core/log.js';
import { counter, type Registry } from '../../core/telemetry/registry.js';

/** Bounded: a metric label. */
export type RejectReason =
  | 'body_too_large'
  | 'line_too_long'
  | 'too_many_labels'
  | 'label_value_too_long'
  | 'series_limit'
  | 'bad_request'
  | 'unsupported_media_type'
  | 'unsupported_point'
  | 'backpressure';

export const REJECT_REASONS: readonly RejectReason[] = [
  'body_too_large',
  'line_too_long',
  'too_many_labels',
  'label_value_too_long',
  'series_limit',
  'bad_request',
  'unsupported_media_type',
  'unsupported_point',
  'backpressure',
];

const LOG_EVERY_MS = 10_000;

export interface RejectEvents {
  /** Counts `count` refused items (requests, records or samples) and logs the reason, rate-limited. */
  rejected(reason: RejectReason, count: number, message: string, fields?: Record<string, unknown>): void;
}

export function rejectEvents(registry: Registry, log: Logger, now: () => number = Date.now): RejectEvents {
  const total: Counter<'reason'> = counter(registry, 'pharos_collector_rejected_total', 'Requests, records or samples a collector receiver refused, by reason (limits, bad data, backpressure).', ['reason']);
  for (const r of REJECT_REASONS) total.labels({ reason: r }).inc(0);
  const last = new Map<RejectReason, { at: number; suppressed: number }>();
  return {
    rejected(reason, count, message, fields = {}) {
      if (count <= 0) return;
      total.labels({ reason }).inc(count);
      const t = now();
      const state = last.get(reason);
      if (state && t - state.at < LOG_EVERY_MS) {
        state.suppressed += count;
        return;
      }
      log.warn({ ...fields, reason, count, ...(state?.suppressed ? { suppressed: state.suppressed } : {}) }, message);
      last.set(reason, { at: t, suppressed: 0 });
    },
  };
}
