/**
 * The drop filters' counter, `pharos_collector_records_dropped_total{source, reason}`: records
 * the collector chose not to ship. `source` is the record's `pharos.source` (`file:<path>`, or a
 * receiver's name), `reason` the rule that dropped it (collector/transforms/filter.ts). A drop is
 * intended, so it is counted and never logged: a log line per dropped record would replace the
 * noise the rule removed.
 */
import type { Counter } from 'prom-client';
import type { LogRecord } from '../../core/model/records.js';
import { counter, type Registry } from '../../core/telemetry/registry.js';

/** The `source` label of a record that has no `pharos.source` yet. */
export const UNKNOWN_SOURCE = 'unknown';

/** Cached counter children past which the cache starts over: sources with dated file names come and go. */
const MAX_CACHED = 10_000;

export interface DropEvents {
  readonly counter: Counter<'source' | 'reason'>;
  /** source → reason → child: a drop costs two map lookups, not prom-client's label hashing. */
  readonly children: Map<string, Map<string, Counter.Internal>>;
  cached: number;
}

export function dropEvents(registry: Registry): DropEvents {
  const c = counter(
    registry,
    'pharos_collector_records_dropped_total',
    'Log records the collector did not ship because a drop/keep filter said so, by source (pharos.source) and reason (the rule).',
    ['source', 'reason'],
  );
  return { counter: c, children: new Map(), cached: 0 };
}

/** Counts `record` as dropped for `reason`, under its `pharos.source`. */
export function countDrop(events: DropEvents, record: LogRecord, reason: string): void {
  const source = record.attributes['pharos.source'];
  countDropFrom(events, typeof source === 'string' && source !== '' ? source : UNKNOWN_SOURCE, reason);
}

/** For callers that know the source without a record at hand. */
export function countDropFrom(events: DropEvents, source: string, reason: string, count = 1): void {
  let bySource = events.children.get(source);
  let child = bySource?.get(reason);
  if (child === undefined) {
    if (events.cached >= MAX_CACHED) {
      events.children.clear();
      events.cached = 0;
      bySource = undefined;
    }
    if (bySource === undefined) events.children.set(source, (bySource = new Map()));
    child = events.counter.labels({ source, reason });
    bySource.set(reason, child);
    events.cached++;
  }
  child.inc(count);
}
