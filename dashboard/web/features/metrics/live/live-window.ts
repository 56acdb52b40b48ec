/**
 * A live chart's data as a sliding window: the range loaded once, then only new points merged in
 * (pushed samples of the `series` channel, or a small query_range of the newest steps), and the
 * points older than the window dropped — never the whole range fetched again.
 */
import type { ChartData } from '../../../ui/chart-data.js';
import { seriesName, type Labels, type RangeMatrix } from '../../../ui/prom-api.js';

/** New points of one series: unix seconds and a value (null = a gap, e.g. a staleness marker). */
export interface SeriesUpdate {
  label: string;
  points: Array<[number, number | null]>;
}

/**
 * True when the query is a plain vector selector (`name`, `name{…}`, `{…}`), which the server's
 * `series` channel can push; anything else (functions, operators, ranges, offset) cannot be.
 */
export function isPlainSelector(query: string): boolean {
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const value = '"(?:[^"\\\\]|\\\\.)*"|\'(?:[^\'\\\\]|\\\\.)*\'';
  const matcher = `\\s*${name}\\s*(?:=~|!~|!=|=)\\s*(?:${value})\\s*`;
  const braces = `\\{(?:${matcher}(?:,${matcher})*,?\\s*)?\\}`;
  const re = new RegExp(`^\\s*(?:${name}\\s*(?:${braces})?|${braces})\\s*$`);
  const m = re.exec(query);
  if (!m) return false;
  // A bare keyword is not a selector; `{}` alone selects nothing valid in PromQL.
  const bare = query.trim();
  return !/^(?:offset|bool|by|without|on|ignoring|group_left|group_right)$/.test(bare) && bare !== '{}';
}

/** The pushed `series` frames (ms timestamps) as chart updates (seconds). */
export function fromPushed(series: Array<{ labels: Labels; points: Array<[number, number | null]> }>, label: (labels: Labels) => string = seriesName): SeriesUpdate[] {
  return series.map((s) => ({ label: label(s.labels), points: s.points.map(([ms, v]) => [ms / 1000, v === null || !Number.isFinite(v) ? null : v]) }));
}

/**
 * Moves raw sample times onto the range's evaluation grid (`anchor + k·step`), where a range query
 * would show them: at the first step at or after the sample, the latest sample of a step winning.
 * Without it, series scraped at different instants share no x and draw as scattered dots.
 */
export function snapToGrid(updates: SeriesUpdate[], anchor: number, step: number): SeriesUpdate[] {
  return updates.map((u) => {
    const byStep = new Map<number, number | null>();
    for (const [t, v] of u.points) byStep.set(anchor + Math.ceil((t - anchor) / step) * step, v);
    return { label: u.label, points: [...byStep] };
  });
}

/** A query_range answer as chart updates. */
export function fromMatrix(matrix: RangeMatrix, label: (labels: Labels) => string = seriesName): SeriesUpdate[] {
  return matrix.result.map((s) => ({
    label: label(s.metric),
    points: s.values.map(([t, v]) => {
      const n = Number(v);
      return [t, Number.isFinite(n) ? n : null];
    }),
  }));
}

/**
 * Merges `updates` into `data` and keeps only x ≥ `windowStart` (unix seconds). A point at an x
 * already held replaces the value there (the newest step of a range query is re-evaluated as its
 * samples arrive). Returns a new ChartData; `data` is not changed.
 */
export function mergeWindow(data: ChartData, updates: SeriesUpdate[], windowStart: number): ChartData {
  const labels = data.series.map((s) => s.label);
  const byLabel = new Map<string, Map<number, number | null>>();
  data.series.forEach((s) => {
    const m = new Map<number, number | null>();
    s.values.forEach((v, i) => {
      if (v !== null) m.set(data.xs[i]!, v);
    });
    byLabel.set(s.label, m);
  });
  const xs = new Set(data.xs);
  for (const u of updates) {
    let m = byLabel.get(u.label);
    if (!m) {
      m = new Map();
      byLabel.set(u.label, m);
      labels.push(u.label);
    }
    for (const [t, v] of u.points) {
      xs.add(t);
      m.set(t, v);
    }
  }
  const kept = [...xs].filter((t) => t >= windowStart).sort((a, b) => a - b);
  return {
    xs: kept,
    series: labels.map((label) => {
      const m = byLabel.get(label)!;
      return { label, values: kept.map((t) => m.get(t) ?? null) };
    }),
  };
}

/** The newest x of the chart, or undefined when it is empty. */
export function lastX(data: ChartData): number | undefined {
  return data.xs.length ? data.xs[data.xs.length - 1] : undefined;
}

/** Points drawn (non-null values over every series): what a test or a status line counts. */
export function pointCount(data: ChartData): number {
  let n = 0;
  for (const s of data.series) for (const v of s.values) if (v !== null) n++;
  return n;
}
