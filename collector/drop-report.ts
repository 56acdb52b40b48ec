/**
 * Drops by reason, as metric samples the warehouse can account for.
 *
 * A record a filter drops is never shipped and takes no `pharos.seq`, so the warehouse cannot
 * tell it from a record that was never read: only the collector's counter
 * `pharos_collector_records_dropped_total{source, reason}` knows. This turns that counter into
 * samples published with the host metrics, labelled with the host so the delivery report
 * (pipeline/warehouse/delivery.ts) can put them next to the host's and source's received and
 * missing records.
 *
 * Labels: `job="pharos"` and `instance` as the self-monitoring publisher
 * (core/telemetry/self-publisher.ts) gives the process's own series, then the counter's own
 * labels. `host` is the counter's (the dropped records' `host.name`: a push receiver drops other
 * hosts' records); a counter without one, or a record without a `host.name`, reports the node
 * name, the `host.name` the collector writes on its own records. Self-monitoring does the same: prom-client's default `host` label
 * yields to a series' own.
 * When self-monitoring publishes the same counter too, the series differ by its `component`
 * label; the report reads one of them per host, source and reason, never their sum.
 */
import type { MetricSample } from '../core/model/records.js';
import type { Registry } from '../core/telemetry/registry.js';

export const DROPPED_RECORDS_METRIC = 'pharos_collector_records_dropped_total';

interface CounterValues {
  type?: string;
  values: Array<{ value: number; labels: Record<string, string | number | undefined> }>;
}

/**
 * One counter sample per source and reason, stamped `nowMs`. Empty while no filter is configured
 * (the counter is not registered) or nothing was dropped yet (a labelled counter has no series
 * before its first increment).
 */
export async function dropSamples(registry: Registry, nodeName: string, nowMs: number): Promise<MetricSample[]> {
  const metric = registry.getSingleMetric(DROPPED_RECORDS_METRIC);
  if (!metric) return [];
  const data = (await metric.get()) as unknown as CounterValues;
  // Something else registered under this name (a gauge, a histogram): not ours to report.
  if (data.type !== undefined && data.type !== 'counter') return [];
  const out: MetricSample[] = [];
  for (const v of data.values) {
    if (!Number.isFinite(v.value)) continue;
    const labels: Record<string, string> = { job: 'pharos', instance: nodeName };
    for (const [k, x] of Object.entries(v.labels)) if (x !== undefined) labels[k] = String(x);
    // As prom-client merges default labels (an empty value yields): both publish paths agree.
    labels.host ||= nodeName;
    out.push({ name: DROPPED_RECORDS_METRIC, labels, timestampMs: nowMs, value: v.value, type: 'counter' });
  }
  return out;
}
