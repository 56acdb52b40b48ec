/**
 * Matching lines per interval over the explorer's range, as uPlot bars (the app's chart library
 * and theme colours, as ui/TimeSeriesChart.tsx). Dragging across it picks a narrower range.
 * The total rides on a data attribute so tests and scripts can read what the chart was given.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatShort } from '../../../ui/format-number.js';
import { useThemeColors } from '../../../ui/useThemeColors.js';
import type { HistogramResult } from '../api.js';
import chartStyles from '../../../ui/TimeSeriesChart.module.css';

interface Props {
  histogram: HistogramResult;
  height?: number;
  /** A dragged interval, unix ms. */
  onSelect?: (fromMs: number, toMs: number) => void;
}

export function MatchHistogram({ histogram, height = 120, onSelect }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const colors = useThemeColors();
  const select = useRef(onSelect);
  select.current = onSelect;
  const total = histogram.buckets.reduce((n, b) => n + b.count, 0);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = histogram.buckets.map((b) => Number(BigInt(b.startNs) / 1_000_000n) / 1000);
    // An empty interval draws nothing, rather than a flat stroke along the axis.
    const ys = histogram.buckets.map((b) => (b.count > 0 ? b.count : null));
    const fromS = Date.parse(histogram.from) / 1000;
    const toS = Date.parse(histogram.to) / 1000;
    const axis: uPlot.Axis = { stroke: colors.muted, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 }, font: '11px ui-sans-serif, system-ui, sans-serif' };
    const u = new uPlot(
      {
        width: Math.max(el.clientWidth, 50),
        height,
        padding: [8, 12, 0, 4],
        legend: { show: false },
        cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
        scales: { x: { time: true, range: () => [fromS, toS] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
        axes: [
          { ...axis, space: 80 },
          { ...axis, size: 48, values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? formatShort(v) : '')) },
        ],
        series: [
          {},
          {
            label: 'Matches',
            stroke: colors.accent,
            fill: `${colors.accent}99`,
            width: 1,
            paths: uPlot.paths.bars!({ size: [0.9, 40], align: 1 }),
            points: { show: false },
          },
        ],
        hooks: {
          setSelect: [
            (plot) => {
              const { left, width } = plot.select;
              if (width < 2) return;
              const a = plot.posToVal(left, 'x');
              const b = plot.posToVal(left + width, 'x');
              plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              select.current?.(Math.round(a * 1000), Math.round(b * 1000));
            },
          ],
        },
      },
      [xs, ys],
      el,
    );
    const resize = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== u.width) u.setSize({ width: w, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
    };
  }, [histogram, colors, height]);

  return (
    <div
      ref={box}
      className={chartStyles.chart}
      role="img"
      aria-label={`Matching lines over time: ${total} in all`}
      data-testid="histogram"
      data-total={total}
      data-buckets={histogram.buckets.length}
      title="Drag across the bars to narrow the range"
    />
  );
}
