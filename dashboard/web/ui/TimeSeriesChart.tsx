/**
 * A uPlot time-series chart that fills its container's width. The plot is built once per set of
 * series (names and theme) and only fed new data afterwards, so a live refresh does not flicker.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { PALETTE, toAligned, type ChartData } from './chart-data.js';
import { cx } from './cx.js';
import { formatShort } from './format-number.js';
import { useThemeColors } from './useThemeColors.js';
import styles from './TimeSeriesChart.module.css';

interface Props {
  data: ChartData;
  height: number;
  /** A sparkline: no axes, legend or cursor, a soft fill under the line. */
  compact?: boolean;
  formatValue?: (v: number) => string;
  /** Fixed y range (e.g. 0..1 for ratios); default fits the data. */
  yRange?: [number, number];
  /** The x window in unix seconds, so the chart spans the range asked for even where there is no data yet. */
  xRange?: [number, number];
  /** The accessible name of the chart; the legend carries the series names. */
  label: string;
  className?: string;
}

export function TimeSeriesChart({ data, height, compact = false, formatValue = formatShort, yRange, xRange, label, className }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const colors = useThemeColors();
  const shape = useMemo(() => data.series.map((s) => s.label).join('\u0000'), [data.series]);
  const latest = useRef(data);
  latest.current = data;
  const yMin = yRange?.[0];
  const yMax = yRange?.[1];
  const xRef = useRef(xRange);
  xRef.current = xRange;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const series = latest.current.series;
    const axis: uPlot.Axis = {
      stroke: colors.muted,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
      font: '11px ui-sans-serif, system-ui, sans-serif',
    };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 50),
      height,
      padding: compact ? [5, 4, 5, 0] : [12, 12, 0, 4],
      legend: { show: !compact, live: true },
      cursor: compact ? { show: false } : { drag: { x: true, y: false }, points: { size: 6 } },
      select: { show: !compact, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: true, range: (_u, min, max) => xRef.current ?? [min, max] },
        y: yMin !== undefined && yMax !== undefined ? { range: () => [yMin, yMax] } : { range: (_u, min, max) => fitRange(min, max) },
      },
      axes: compact
        ? [{ show: false }, { show: false }]
        : [
            { ...axis, space: 80, incrs: TIME_INCRS, values: (_u, splits, _ai, _space, incr) => splits.map((v) => formatTick(v, incr)) },
            { ...axis, size: 60, values: (_u, splits, _ai, _space, incr) => splits.map((v) => (Math.abs(v) >= 1000 || formatValue !== formatShort ? formatValue(v) : v.toFixed(decimalsOf(incr)))) },
          ],
      series: [
        { label: 'Time', value: (_u: uPlot, v: number | null, _si: number, idx: number | null) => (idx == null || v == null ? 'latest' : formatTime(v)) },
        ...series.map((s, i) => {
          const color = compact ? colors.accent : PALETTE[i % PALETTE.length]!;
          return {
            label: s.label,
            stroke: color,
            width: compact ? 1.5 : 1.6,
            // A lone sample between gaps (a host that just started) has no line to draw: show it as a dot.
            points: { show: (u: uPlot, si: number) => countNonNull(u.data[si] as Array<number | null>) < 4, size: compact ? 4 : 5 },
            spanGaps: false,
            // Away from the cursor the legend shows each series' latest value, not a blank.
            value: (u: uPlot, v: number | null, si: number, idx: number | null) => {
              const shown = idx == null ? lastNonNull(u.data[si] as Array<number | null>) : v;
              return shown == null ? '–' : formatValue(shown);
            },
            ...(compact ? { fill: `${color}22` } : {}),
          } satisfies uPlot.Series;
        }),
      ],
    };
    const u = new uPlot(opts, toAligned(latest.current), el);
    plot.current = u;
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== u.width) u.setSize({ width: w, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, colors, height, compact, formatValue, yMin, yMax]);

  useEffect(() => {
    plot.current?.setData(toAligned(data));
  }, [data]);

  return <div ref={box} className={cx(styles.chart, compact && styles.compact, className)} role="img" aria-label={label} data-testid="chart" />;
}

function lastNonNull(values: Array<number | null> | undefined): number | null {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i--) if (values[i] != null) return values[i]!;
  return null;
}

/** Whole seconds and up: PromQL steps are never finer, and sub-second ticks only crowd the axis. */
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800];

function countNonNull(values: Array<number | null> | undefined): number {
  let n = 0;
  for (const v of values ?? []) if (v != null) n++;
  return n;
}

/** Axis ticks keep the decimals of their increment, so 2.975 is not shown as 2.98 beside 3. */
function decimalsOf(incr: number): number {
  if (!Number.isFinite(incr) || incr >= 1) return 0;
  const text = String(Number(incr.toPrecision(6)));
  const exp = /e-(\d+)$/.exec(text);
  if (exp) return Number(exp[1]);
  return text.split('.')[1]?.length ?? 0;
}

/** 24-hour clock, the same as the rest of the app; seconds only when the ticks are that close. */
function formatTick(unixSeconds: number, incr: number): string {
  const d = new Date(unixSeconds * 1000);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  if (incr >= 86_400) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  if (incr < 60) return d.toLocaleTimeString([], { hour12: false });
  return hm;
}

function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour12: false });
}

/** A flat line sits mid-chart instead of on the edge, and zero stays in view for small values. */
function fitRange(min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min == null || max == null) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    return [min - pad, max + pad];
  }
  const pad = (max - min) * 0.08;
  return [min >= 0 && min - pad < 0 ? 0 : min - pad, max + pad];
}
