/**
 * The drop filters' counter, `pharos_collector_records_dropped_total{host, source, reason}`:
 * records the collector chose not to ship. `host` is the record's `host.name` (a push receiver
 * takes records of other hosts: their drops belong with those hosts' records in the delivery
 * report, not with the collector's), `source` its `pharos.source` (`file:<path>`, or a
 * receiver's name), `reason` the rule that dropped it (collector/transforms/filter.ts). A drop is
 * intended, so it is counted and never logged: a log line per dropped record would replace the
 * noise the rule removed.
 */
import type { Counter } from 'prom-client';
import type { LogRecord } from '../../core/model/records.js';
import { counter, type Registry } from '../../core/telemetry/registry.js';

export const DROPPED_RECORDS_METRIC = 'pharos_collector_records_dropped_total';

/** The `source` label of a record that has no `pharos.source` yet. */
export const UNKNOWN_SOURCE = 'unknown';

/** Cached counter children past which the cache starts over: sources with dated file names come and go. */
const MAX_CACHED = 10_000;

export interface DropEvents {
  readonly counter: Counter<'host' | 'source' | 'reason'>;
  /** host and source → reason → child: a drop costs two map lookups, not prom-client's label hashing. */
  readonly children: Map<string, Map<string, Counter.Internal>>;
  cached: number;
}

export function dropEvents(registry: Registry): DropEvents {
  const c = counter(
    registry,
    DROPPED_RECORDS_METRIC,
    'Log records the collector did not ship because a drop/keep filter said so, by host (host.name), source (pharos.source) and reason (the rule).',
    ['host', 'source', 'reason'],
  );
  return { counter: c, children: new Map(), cached: 0 };
}

/** Counts `record` as dropped for `reason`, under its `host.name` and `pharos.source`. */
export function countDrop(events: DropEvents, record: LogRecord, reason: string): void {
  const source = record.attributes['pharos.source'];
  const host = record.resource['host.name'];
  countDropFrom(events, typeof host === 'string' ? host : '', typeof source === 'string' && source !== '' ? source : UNKNOWN_SOURCE, reason);
}

/** For callers that know the host and source without a record at hand. */
export function countDropFrom(events: DropEvents, host: string, source: string, reason: string, count = 1): void {
  const key = `${host}\u0000${source}`;
  let bySource = events.children.get(key);
  let child = bySource?.get(reason);
  if (child === undefined) {
    if (events.cached >= MAX_CACHED) {
      events.children.clear();
      events.cached = 0;
      bySource = undefined;
    }
    if (bySource === undefined) events.children.set(key, (bySource = new Map()));
    child = events.counter.labels({ host, source, reason });
    bySource.set(reason, child);
    events.cached++;
  }
  child.inc(count);
}
