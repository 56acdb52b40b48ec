/**
 * A metric panel under auto-refresh "live": its range is loaded once (the panel's usual read),
 * then kept current by the explorer's live mechanism (features/metrics/live/live-graph.ts) —
 * samples pushed over the tab's live socket for a selector, small newest-step reads otherwise.
 */
import { useEffect, useState } from 'react';
import { useToken } from '../../ui/auth-token.js';
import type { ChartData } from '../../ui/chart-data.js';
import { startLiveGraph, type LiveMode } from '../metrics/live/live-graph.js';
import { queryRange } from './api.js';

export interface LivePanelData {
  chart: ChartData;
  start: number;
  end: number;
  mode: LiveMode;
}

export function useLivePanel(opts: { live: boolean; query: string; rangeSeconds: number; initial: { chart: ChartData; start: number; end: number } | null; label: (labels: Record<string, string>) => string }): LivePanelData | null {
  const token = useToken();
  const [data, setData] = useState<LivePanelData | null>(null);
  const { live, query, rangeSeconds, initial } = opts;
  const labelRef = opts.label;

  useEffect(() => {
    setData(null);
    if (!live || !initial) return;
    return startLiveGraph({
      query,
      rangeSeconds,
      step: Math.max(1, Math.ceil(rangeSeconds / 240)),
      token,
      initial: { data: initial.chart, start: initial.start, end: initial.end },
      readRange: (range, signal) => queryRange(query, range, signal),
      label: labelRef,
      onUpdate: (g, mode) => setData({ chart: g.data, start: g.start, end: g.end, mode }),
      // A failed small read leaves the chart as it is; the next one tries again.
      onError: () => undefined,
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the label function follows the panel, which `initial` already tracks
  }, [live, query, rangeSeconds, initial, token]);

  return data;
}
