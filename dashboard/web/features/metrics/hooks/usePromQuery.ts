/**
 * Runs the explorer's query whenever it, the range or the view changes, and on demand (Run).
 * Live, a graph loads its range once and then only receives new points (metrics/live/live-graph.ts:
 * streamed over the live socket, or incremental small range reads); a live table re-runs its
 * instant query every 5 s. The previous result stays on screen while the next one loads; an
 * error replaces it, since it belongs to the new query.
 */
import { useEffect, useState } from 'react';
import { ApiError } from '../../../ui/api-client.js';
import { useToken } from '../../../ui/auth-token.js';
import { promQueryRange } from '../../../ui/prom-api.js';
import { runGraph, runTable, type GraphResult, type TableResult } from '../api.js';
import { startLiveGraph, type LiveMode } from '../live/live-graph.js';

export const LIVE_INTERVAL_MS = 5000;

export interface QueryState {
  result: GraphResult | TableResult | null;
  loading: boolean;
  error: ApiError | null;
  /** How long the last answer took, ms. */
  tookMs: number | null;
  /** How a live graph is kept current; null when not live. */
  liveMode: LiveMode | null;
}

const asApiError = (err: unknown) => (err instanceof ApiError ? err : new ApiError(0, 'client', (err as Error).message));

export function usePromQuery({ query, rangeSeconds, view, live, runNonce }: { query: string; rangeSeconds: number; view: 'graph' | 'table'; live: boolean; runNonce: number }): QueryState {
  const token = useToken();
  const [state, setState] = useState<QueryState>({ result: null, loading: false, error: null, tookMs: null, liveMode: null });

  useEffect(() => {
    if (!query.trim()) {
      setState({ result: null, loading: false, error: null, tookMs: null, liveMode: null });
      return;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopLive: (() => void) | undefined;
    const run = async () => {
      if (document.hidden && live) {
        timer = setTimeout(run, LIVE_INTERVAL_MS);
        return;
      }
      setState((s) => ({ ...s, loading: true }));
      const started = performance.now();
      let result: GraphResult | TableResult;
      try {
        result = view === 'graph' ? await runGraph(query, rangeSeconds, Date.now(), controller.signal) : await runTable(query, Date.now(), controller.signal);
        setState({ result, loading: false, error: null, tookMs: Math.round(performance.now() - started), liveMode: null });
      } catch (err) {
        if (controller.signal.aborted) return;
        setState({ result: null, loading: false, error: asApiError(err), tookMs: null, liveMode: null });
        if (asApiError(err).unauthorized) return;
        if (live) timer = setTimeout(run, LIVE_INTERVAL_MS);
        return;
      }
      if (!live || controller.signal.aborted) return;
      if (result.kind === 'table') {
        timer = setTimeout(run, LIVE_INTERVAL_MS);
        return;
      }
      const graph = result;
      stopLive = startLiveGraph({
        query,
        rangeSeconds,
        step: graph.step,
        token,
        initial: { data: graph.data, start: graph.start, end: graph.end },
        readRange: (range, signal) => promQueryRange(query, range, signal),
        intervalMs: LIVE_INTERVAL_MS,
        onUpdate: (g, liveMode) => setState((s) => ({ ...s, result: { ...graph, ...g }, error: null, liveMode })),
        onError: (err) => setState((s) => ({ ...s, error: asApiError(err) })),
      });
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
      stopLive?.();
    };
  }, [query, rangeSeconds, view, live, runNonce, token]);

  return state;
}
