/** Prometheus matrices to uPlot's column layout: one shared x column, one y column per series. */
import type uPlot from 'uplot';
import { seriesName, type RangeMatrix } from './prom-api.js';

export interface ChartSeries {
  label: string;
  /** One value per x; null where the series had no sample (a gap, not a zero). */
  values: Array<number | null>;
}

export interface ChartData {
  /** Unix seconds, ascending. */
  xs: number[];
  series: ChartSeries[];
}

export function matrixToChart(matrix: RangeMatrix, label: (metric: Record<string, string>) => string = seriesName): ChartData {
  const xsSet = new Set<number>();
  for (const s of matrix.result) for (const [t] of s.values) xsSet.add(t);
  const xs = [...xsSet].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const series = matrix.result.map((s) => {
    const values: Array<number | null> = new Array<number | null>(xs.length).fill(null);
    for (const [t, v] of s.values) {
      const n = Number(v);
      values[index.get(t)!] = Number.isFinite(n) ? n : null;
    }
    return { label: label(s.metric), values };
  });
  return { xs, series };
}

export function toAligned(data: ChartData): uPlot.AlignedData {
  return [data.xs, ...data.series.map((s) => s.values)];
}

/** Distinct in both themes; series beyond ten reuse them. */
export const PALETTE = ['#2f7ed8', '#e8743b', '#19a979', '#945ecf', '#d64f6b', '#13a4b4', '#c6a700', '#6c8893', '#ee6868', '#5899da'];
