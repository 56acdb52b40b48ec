/**
 * Drops by reason, as metric samples the warehouse can account for.
 *
 * A record a filter drops is never shipped and takes no `pharos.seq`, so the warehouse cannot
 * tell it from a record that was never read: only the collector's counter
 * `pharos_collector_records_dropped_total{host, source, reason}` (transforms/drop-events.ts)
 * knows. This turns that counter into samples published with the host metrics, so the delivery
 * report (pipeline/warehouse/delivery.ts) can put them next to the host's and source's received
 * and missing records.
 *
 * Labels as self-monitoring (core/telemetry/self-publisher.ts) gives the process's own series:
 * `job="pharos"`, `instance`, then the counter's own. `host` is the dropped records' `host.name`
 * (a push receiver drops other hosts' records); a counter without one, or a record without a
 * `host.name`, reports the node name, as prom-client's default `host` label does there. When
 * self-monitoring publishes the same counter too, the series differ by its `component` label;
 * the report reads one of them per host, source and reason, never their sum.
 */
import type { MetricSample } from '../core/model/records.js';
import type { Registry } from '../core/telemetry/registry.js';
import { metricSamples, type JsonMetric } from '../core/telemetry/self-publisher.js';
import { DROPPED_RECORDS_METRIC } from './transforms/drop-events.js';

export { DROPPED_RECORDS_METRIC };

/**
 * One counter sample per host, source and reason, stamped `nowMs`. Empty while no filter is
 * configured (the counter is not registered) or nothing was dropped yet (a labelled counter has
 * no series before its first increment).
 */
export async function dropSamples(registry: Registry, nodeName: string, nowMs: number): Promise<MetricSample[]> {
  const metric = registry.getSingleMetric(DROPPED_RECORDS_METRIC);
  if (!metric) return [];
  const data = (await metric.get()) as unknown as JsonMetric;
  // Something else registered under this name (a gauge, a histogram): not ours to report.
  if (data.type !== 'counter') return [];
  const out = metricSamples(data, nodeName, nowMs).filter((s) => Number.isFinite(s.value));
  for (const s of out) s.labels.host ||= nodeName;
  return out;
}
