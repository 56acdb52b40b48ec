/**
 * `GET /api/self/metrics-summary`: a few figures of this process's own registry for the overview's
 * "stack health" panel, until Pharos scrapes itself into the real-time store.
 *
 * Counters are returned as totals with the time they were read: the client derives rates from two
 * successive answers, so several viewers never disturb each other's window.
 */
import { Router } from 'express';
import { requireRole } from '../../../core/http/auth.js';
import type { Registry } from '../../../core/telemetry/registry.js';

export interface SelfMetricsSummary {
  /** When the registry was read, ms since the epoch. */
  at: number;
  /** Events taken in by the collector's sources (files, OTLP, host metrics). */
  eventsReceived: number;
  /** Events the collector's sinks delivered to the bus, acknowledged. */
  eventsSent: number;
  /** Rows ClickHouse acknowledged, all tables. */
  rowsInserted: number;
  /** Samples appended to the real-time store. */
  samplesAppended: number;
  /** Component errors plus failed warehouse inserts. */
  errors: number;
  /** Series in the real-time store; null when this process has none. */
  series: number | null;
}

export interface SelfMetricsResponse {
  status: 'success';
  data: SelfMetricsSummary;
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
}

export function selfMetricsRoutes(deps: { registry: Registry; now?: () => number }): Router {
  const now = deps.now ?? Date.now;
  const router = Router();
  router.get('/api/self/metrics-summary', requireRole('viewer'), async (_req, res) => {
    const body: SelfMetricsResponse = { status: 'success', data: await summarize(deps.registry, now()) };
    res.json(body);
  });
  return router;
}

export async function summarize(registry: Registry, at: number): Promise<SelfMetricsSummary> {
  // getMetricsAsJSON runs the gauges' collect callbacks, so the series count is current.
  const metrics = await registry.getMetricsAsJSON();
  const values = (name: string): MetricValue[] | undefined => metrics.find((m) => m.name === name)?.values as MetricValue[] | undefined;
  const sum = (name: string, where: (labels: MetricValue['labels']) => boolean = () => true): number =>
    (values(name) ?? []).filter((v) => where(v.labels)).reduce((acc, v) => acc + v.value, 0);
  const series = values('pharos_realtime_series');
  return {
    at,
    eventsReceived: sum('pharos_component_received_events_total', (l) => l.component_kind === 'source'),
    eventsSent: sum('pharos_component_sent_events_total', (l) => l.component_kind === 'sink'),
    rowsInserted: sum('pharos_warehouse_rows_inserted_total'),
    samplesAppended: sum('pharos_realtime_samples_appended_total'),
    errors: sum('pharos_component_errors_total') + sum('pharos_warehouse_insert_errors_total'),
    series: series && series.length > 0 ? series.reduce((acc, v) => acc + v.value, 0) : null,
  };
}
