/**
 * The transforms' internal events (parse, redact): each function counts and, where an operator
 * needs to hear about it, logs at most once per 10 s per component. Metric names of transforms
 * live here only, as the sources' and sinks' live in ../events.ts.
 */
import type { Counter } from 'prom-client';
import { counter, type Registry } from '../../core/telemetry/registry.js';
import type { ComponentTelemetry } from '../events.js';

const LOG_EVERY_MS = 10_000;

export interface ParseEvents {
  parseFailed(reason: string): void;
}

/** Bound to one source and its parser when the source is built, so the hot path only increments. */
export function parseEvents(registry: Registry, source: ComponentTelemetry, parser: string): ParseEvents {
  const errors = counter(registry, 'pharos_collector_parse_errors_total', 'Lines a parser could not read whole: shipped as plain records tagged log.parse_error.', [
    'component_id',
    'parser',
  ]).labels({ component_id: source.id, parser });
  errors.inc(0);
  return {
    parseFailed(reason) {
      errors.inc();
      const now = source.now();
      const state = source.limits.get('parse_error');
      if (state && now - state.at < LOG_EVERY_MS) {
        state.suppressed++;
        return;
      }
      source.log.warn(
        { parser, reason, error_code: 'decode_failed', ...(state?.suppressed ? { suppressed: state.suppressed } : {}) },
        `a line did not parse as ${parser}: shipped whole, tagged log.parse_error`,
      );
      source.limits.set('parse_error', { at: now, suppressed: 0 });
    },
  };
}

/** A parser's events that go nowhere: for callers (tests, tools) with no registry. */
export const IGNORE_PARSE_EVENTS: ParseEvents = { parseFailed: () => {} };

export interface RedactEvents {
  /** Counter children per pattern name, created at build so every pattern's series reads 0 from the start. */
  readonly byPattern: ReadonlyMap<string, Counter.Internal>;
}

export function redactEvents(registry: Registry, patterns: readonly string[]): RedactEvents {
  const c = counter(registry, 'pharos_collector_redactions_total', 'Secrets replaced before records left the host, by pattern.', ['pattern']);
  const byPattern = new Map<string, Counter.Internal>();
  for (const p of patterns) {
    const child = c.labels({ pattern: p });
    child.inc(0);
    byPattern.set(p, child);
  }
  return { byPattern };
}

export function redacted(e: RedactEvents, pattern: string, count: number): void {
  e.byPattern.get(pattern)?.inc(count);
}
