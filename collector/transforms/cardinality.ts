/**
 * A series budget per metric name, at the edge: once a metric name has `maxSeriesPerMetric`
 * live series, samples of new series of that name are refused (counted), while samples of known
 * series keep flowing. What an operator needs next is which label explodes, so the budget
 * counts distinct values per label over the name's series (known and refused) and names the
 * label with the most: `pharos_collector_series_rejected_total{metric, label}`.
 *
 * A series not seen for `idleMs` (default 1 h) stops counting against the budget: pods come and
 * go, and a budget that never forgot would fill with the dead. Memory is bounded by the budget
 * (each name holds at most its limit of series keys, plus a bounded sample of refused values).
 */
import type { Counter } from 'prom-client';
import type { MetricSample } from '../../core/model/records.js';
import { counter, type Registry } from '../../core/telemetry/registry.js';

export interface CardinalityBudgetOptions {
  /** 0 turns the budget off. */
  maxSeriesPerMetric: number;
  registry: Registry;
  idleMs?: number;
  now?: () => number;
}

/** Distinct values remembered per label: enough to rank labels, bounded in memory. */
const MAX_TRACKED_VALUES = 1000;
/** Metric names with refusals tracked at once (the counter itself is per name, so names are bounded by the budget's victims). */
const MAX_TRACKED_METRICS = 1000;

interface NameState {
  /** Series key → when last seen and its labels (kept to rank labels once the budget is hit). */
  series: Map<string, { seen: number; labels: Record<string, string> }>;
  /** Label → distinct values seen among refused series. */
  refused: Map<string, Set<string>>;
}

export class CardinalityBudget {
  private readonly names = new Map<string, NameState>();
  private readonly rejected: Counter<'metric' | 'label'>;
  private readonly idleMs: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(private readonly opts: CardinalityBudgetOptions) {
    this.idleMs = opts.idleMs ?? 3_600_000;
    this.now = opts.now ?? Date.now;
    this.rejected = counter(
      opts.registry,
      'pharos_collector_series_rejected_total',
      'Samples of new series refused by the per-metric series budget (collector.metrics.max_series_per_metric), by metric and the label with the most distinct values among the refused series.',
      ['metric', 'label'],
    );
  }

  /** Keeps samples of known series and of new series that fit; returns the rest's count. */
  admit(samples: MetricSample[]): { kept: MetricSample[]; rejected: number; metrics: string[] } {
    const limit = this.opts.maxSeriesPerMetric;
    if (limit <= 0) return { kept: samples, rejected: 0, metrics: [] };
    const now = this.now();
    if (now - this.lastSweep > this.idleMs / 4) this.sweep(now);
    const kept: MetricSample[] = [];
    let rejected = 0;
    const victims = new Set<string>();
    for (const s of samples) {
      let state = this.names.get(s.name);
      if (!state) this.names.set(s.name, (state = { series: new Map(), refused: new Map() }));
      const key = seriesKey(s.labels);
      const known = state.series.get(key);
      if (known) {
        known.seen = now;
        kept.push(s);
        continue;
      }
      if (state.series.size < limit) {
        state.series.set(key, { seen: now, labels: s.labels });
        kept.push(s);
        continue;
      }
      rejected++;
      victims.add(s.name);
      const label = this.noteRefused(state, s.labels);
      this.rejected.labels({ metric: s.name, label }).inc();
    }
    return { kept, rejected, metrics: [...victims] };
  }

  /** The label with the most distinct values among a metric's refused series ('' if none yet). */
  drivingLabel(metric: string): string {
    const state = this.names.get(metric);
    return state ? topLabel(state.refused) : '';
  }

  seriesCount(metric: string): number {
    return this.names.get(metric)?.series.size ?? 0;
  }

  private noteRefused(state: NameState, labels: Record<string, string>): string {
    if (state.refused.size === 0) {
      if (this.trackedMetrics() >= MAX_TRACKED_METRICS) return '';
      // Ranked over every series of the name, not only the refused ones: one refused series
      // alone cannot tell `user` (new each time) from `region` (always the same).
      for (const known of state.series.values()) this.addValues(state, known.labels);
    }
    this.addValues(state, labels);
    return topLabel(state.refused);
  }

  private addValues(state: NameState, labels: Record<string, string>): void {
    for (const [k, v] of Object.entries(labels)) {
      let values = state.refused.get(k);
      if (!values) state.refused.set(k, (values = new Set()));
      if (values.size < MAX_TRACKED_VALUES) values.add(v);
    }
  }

  private trackedMetrics(): number {
    let n = 0;
    for (const s of this.names.values()) if (s.refused.size > 0) n++;
    return n;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [name, state] of this.names) {
      for (const [key, known] of state.series) if (now - known.seen > this.idleMs) state.series.delete(key);
      if (state.series.size === 0) this.names.delete(name);
    }
  }
}

function topLabel(refused: Map<string, Set<string>>): string {
  let best = '';
  let most = 0;
  for (const [label, values] of refused) {
    if (values.size > most || (values.size === most && label < best)) {
      best = label;
      most = values.size;
    }
  }
  return best;
}

function seriesKey(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  let out = '';
  for (const k of keys) out += `${k}\u0001${labels[k]}\u0002`;
  return out;
}
