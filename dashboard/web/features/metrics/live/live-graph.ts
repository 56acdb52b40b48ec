/**
 * Keeps a loaded range chart live without ever fetching the whole range again. A plain vector
 * selector is *streamed*: the `series` channel of the tab's live socket pushes its new samples.
 * Anything computed (rate(…), sums…) cannot be pushed, so it is *incremental*: every few seconds
 * a small query_range from the chart's last point to now. Either way the window slides and points
 * older than the range are dropped. After a (re)subscription a small catch-up query fills what
 * arrived while the socket was away.
 */
import type { ChartData } from '../../../ui/chart-data.js';
import { subscribeLive, type LiveSubscription } from '../../../ui/live-client.js';
import type { RangeMatrix } from '../../../ui/prom-api.js';
import { fromMatrix, fromPushed, isPlainSelector, lastX, mergeWindow, snapToGrid, type SeriesUpdate } from './live-window.js';

export type LiveMode = 'streamed' | 'incremental';

export interface LiveGraph {
  data: ChartData;
  /** The window, unix seconds. */
  start: number;
  end: number;
}

export interface LiveGraphOptions {
  query: string;
  rangeSeconds: number;
  step: number;
  token: string | null;
  initial: LiveGraph;
  /** A small range read (start/end/step in unix seconds); the caller's API (Prometheus or the dashboard's). */
  readRange: (range: { start: number; end: number; step: number }, signal: AbortSignal) => Promise<RangeMatrix>;
  /** A series' chart label, as the initial chart named it; by default as Prometheus prints it. */
  label?: (labels: Record<string, string>) => string;
  onUpdate: (graph: LiveGraph, mode: LiveMode) => void;
  onError: (err: Error) => void;
  intervalMs?: number;
  now?: () => number;
}

export function startLiveGraph(opts: LiveGraphOptions): () => void {
  const intervalMs = opts.intervalMs ?? 5000;
  const now = opts.now ?? Date.now;
  const toUpdates = (m: RangeMatrix) => fromMatrix(m, opts.label);
  const controller = new AbortController();
  let graph = opts.initial;
  let mode: LiveMode = isPlainSelector(opts.query) ? 'streamed' : 'incremental';
  let sub: LiveSubscription | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let reading = false;

  const apply = (updates: SeriesUpdate[]) => {
    const nowSec = Math.floor(now() / 1000);
    const start = nowSec - opts.rangeSeconds;
    const data = mergeWindow(graph.data, updates, start);
    // A sample snapped to the step after it may sit up to a step ahead of now: keep it in view.
    graph = { data, start, end: Math.max(nowSec, lastX(data) ?? nowSec) };
    opts.onUpdate(graph, mode);
  };

  /** Reads only from the newest point held (or the last step) to now. */
  const readNewest = async () => {
    if (reading || controller.signal.aborted) return;
    reading = true;
    try {
      const end = Math.floor(now() / 1000);
      const from = Math.max(lastX(graph.data) ?? graph.end - opts.step, end - opts.rangeSeconds);
      const matrix = await opts.readRange({ start: Math.floor(from), end, step: opts.step }, controller.signal);
      if (!controller.signal.aborted) apply(toUpdates(matrix));
    } catch (err) {
      if (!controller.signal.aborted) opts.onError(err as Error);
    } finally {
      reading = false;
    }
  };

  const poll = () => {
    timer = setTimeout(async () => {
      if (mode === 'incremental' && !document.hidden) await readNewest();
      // Streamed: nothing to read, but the window still slides when no sample arrives.
      else if (mode === 'streamed') apply([]);
      if (!controller.signal.aborted) poll();
    }, intervalMs);
  };

  const fallBack = () => {
    sub?.close();
    sub = undefined;
    mode = 'incremental';
    opts.onUpdate(graph, mode);
  };

  if (mode === 'streamed') {
    sub = subscribeLive(opts.token, 'series', () => ({ channel: 'series', query: opts.query }), {
      status: (s) => {
        // A socket the server refuses cannot stream: reading the newest steps still works.
        if (s === 'refused' || s === 'unauthorized') fallBack();
      },
      message: (msg) => {
        if (msg.type === 'subscribed') void readNewest();
        else if (msg.type === 'series') {
          const pushed = fromPushed(msg.series as Array<{ labels: Record<string, string>; points: Array<[number, number | null]> }>, opts.label);
          apply(snapToGrid(pushed, opts.initial.start, opts.step));
        } else if (msg.type === 'error' && msg.id !== undefined) fallBack(); // e.g. no real-time store here
      },
    });
  }
  opts.onUpdate(graph, mode);
  poll();

  return () => {
    controller.abort();
    clearTimeout(timer);
    sub?.close();
  };
}
