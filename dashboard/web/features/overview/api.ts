/**
 * What the overview reads: per-host figures from the real-time store's PromQL API (node_exporter
 * names the collector ships) and the stack's own counters from `/api/self/metrics-summary`.
 */
import type { SelfMetricsSummary } from '../../../server/routes/self-metrics.js';
import { apiGet } from '../../ui/api-client.js';
import { matrixToChart, type ChartData } from '../../ui/chart-data.js';
import { promQuery, promQueryRange, promSeries } from '../../ui/prom-api.js';

export type { SelfMetricsSummary };

export const WINDOW_SECONDS = 15 * 60;
export const STEP_SECONDS = 15;
/** A host whose clock sample is older than this is shown as down. */
export const UP_WITHIN_SECONDS = 30;

/** Each query keeps `instance`, so one answer serves every host card. */
export const HOST_QUERIES = {
  cpu: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))',
  memory: 'max by (instance) (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)',
  // Pseudo file systems report a size of 0 or are always full: neither is a disk filling up.
  disk: 'max by (instance) (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|devtmpfs|ramfs|squashfs|proc|sysfs|nsfs"} / (node_filesystem_size_bytes > 0))',
  netIn: 'sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[1m]))',
  netOut: 'sum by (instance) (rate(node_network_transmit_bytes_total{device!="lo"}[1m]))',
} as const;

export type HostFigure = keyof typeof HOST_QUERIES;

export interface HostSeries {
  data: ChartData;
  /** The most recent value in the window, null when the host sent none. */
  current: number | null;
}

export interface HostOverview {
  instance: string;
  up: boolean;
  /** When the host's last sample was taken, unix seconds; null if not in the last five minutes. */
  lastSeen: number | null;
  figures: Record<HostFigure, HostSeries>;
}

export async function fetchHosts(nowMs: number, signal?: AbortSignal): Promise<HostOverview[]> {
  // Aligned to the step so successive refreshes draw the same points, and the sparkline does not jitter.
  const end = Math.floor(nowMs / 1000 / STEP_SECONDS) * STEP_SECONDS;
  const range = { start: end - WINDOW_SECONDS, end, step: STEP_SECONDS };
  const figureNames = Object.keys(HOST_QUERIES) as HostFigure[];
  const [known, seen, ...matrices] = await Promise.all([
    promSeries('node_time_seconds', { start: range.start, end: nowMs / 1000 }, signal),
    promQuery('max by (instance) (timestamp(node_time_seconds))', nowMs / 1000, signal),
    ...figureNames.map((f) => promQueryRange(HOST_QUERIES[f], range, signal)),
  ]);

  const lastSeen = new Map<string, number>();
  if (seen.resultType === 'vector') for (const s of seen.result) lastSeen.set(s.metric.instance ?? '', Number(s.value[1]));
  const instances = [...new Set([...known.map((l) => l.instance ?? ''), ...lastSeen.keys()])].filter(Boolean).sort();

  return instances.map((instance) => {
    const figures = {} as Record<HostFigure, HostSeries>;
    figureNames.forEach((name, i) => {
      const matrix = matrices[i]!;
      const one = { resultType: 'matrix' as const, result: matrix.result.filter((s) => s.metric.instance === instance) };
      const data = matrixToChart(one, () => name);
      // The x column must cover the whole window even when the host started late, so every card shares a time axis.
      figures[name] = { data: padWindow(data, range), current: lastValue(data) };
    });
    const at = lastSeen.get(instance) ?? null;
    return { instance, lastSeen: at, up: at !== null && nowMs / 1000 - at <= UP_WITHIN_SECONDS, figures };
  });
}

export function fetchSelfSummary(signal?: AbortSignal): Promise<SelfMetricsSummary> {
  return apiGet<SelfMetricsSummary>('/api/self/metrics-summary', {}, signal);
}

function lastValue(data: ChartData): number | null {
  const values = data.series[0]?.values ?? [];
  for (let i = values.length - 1; i >= 0; i--) if (values[i] != null) return values[i]!;
  return null;
}

function padWindow(data: ChartData, range: { start: number; end: number; step: number }): ChartData {
  const xs: number[] = [];
  for (let t = range.start; t <= range.end; t += range.step) xs.push(t);
  const src = data.series[0];
  const byTime = new Map(data.xs.map((t, i) => [t, src?.values[i] ?? null]));
  return { xs, series: [{ label: src?.label ?? '', values: xs.map((t) => byTime.get(t) ?? null) }] };
}
