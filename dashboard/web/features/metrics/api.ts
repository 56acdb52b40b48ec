/** The metrics explorer's reads: one PromQL expression as a range (graph) or at an instant (table). */
import { matrixToChart, type ChartData } from '../../ui/chart-data.js';
import { promQuery, promQueryRange, stepFor, type InstantResult } from '../../ui/prom-api.js';

export const RANGES = [
  { id: '5m', label: 'Last 5 minutes', seconds: 5 * 60 },
  { id: '15m', label: 'Last 15 minutes', seconds: 15 * 60 },
  { id: '1h', label: 'Last 1 hour', seconds: 60 * 60 },
  { id: '2h', label: 'Last 2 hours', seconds: 2 * 60 * 60 },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];
export const DEFAULT_RANGE: RangeId = '15m';

export function rangeById(id: string): (typeof RANGES)[number] {
  return RANGES.find((r) => r.id === id) ?? RANGES.find((r) => r.id === DEFAULT_RANGE)!;
}

export interface GraphResult {
  kind: 'graph';
  data: ChartData;
  step: number;
  /** The window asked for, unix seconds. */
  start: number;
  end: number;
}

export interface TableResult {
  kind: 'table';
  result: InstantResult;
}

export async function runGraph(query: string, rangeSeconds: number, nowMs: number, signal?: AbortSignal): Promise<GraphResult> {
  const step = stepFor(rangeSeconds);
  const end = Math.floor(nowMs / 1000);
  const start = end - rangeSeconds;
  const matrix = await promQueryRange(query, { start, end, step }, signal);
  return { kind: 'graph', data: matrixToChart(matrix), step, start, end };
}

export async function runTable(query: string, nowMs: number, signal?: AbortSignal): Promise<TableResult> {
  return { kind: 'table', result: await promQuery(query, nowMs / 1000, signal) };
}
