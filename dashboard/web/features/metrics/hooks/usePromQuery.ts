/**
 * Runs the explorer's query whenever it, the range or the view changes, on demand (Run), and every
 * 5 s while live. The previous result stays on screen while the next one loads, so a live chart
 * does not blank between refreshes; an error replaces it, since it belongs to the new query.
 */
import { useEffect, useState } from 'react';
import { ApiError } from '../../../ui/api-client.js';
import { useToken } from '../../../ui/auth-token.js';
import { runGraph, runTable, type GraphResult, type TableResult } from '../api.js';

export const LIVE_INTERVAL_MS = 5000;

export interface QueryState {
  result: GraphResult | TableResult | null;
  loading: boolean;
  error: ApiError | null;
  /** How long the last answer took, ms. */
  tookMs: number | null;
}

export function usePromQuery({ query, rangeSeconds, view, live, runNonce }: { query: string; rangeSeconds: number; view: 'graph' | 'table'; live: boolean; runNonce: number }): QueryState {
  const token = useToken();
  const [state, setState] = useState<QueryState>({ result: null, loading: false, error: null, tookMs: null });

  useEffect(() => {
    if (!query.trim()) {
      setState({ result: null, loading: false, error: null, tookMs: null });
      return;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (document.hidden && live) {
        timer = setTimeout(run, LIVE_INTERVAL_MS);
        return;
      }
      setState((s) => ({ ...s, loading: true }));
      const started = performance.now();
      try {
        const result = view === 'graph' ? await runGraph(query, rangeSeconds, Date.now(), controller.signal) : await runTable(query, Date.now(), controller.signal);
        setState({ result, loading: false, error: null, tookMs: Math.round(performance.now() - started) });
      } catch (err) {
        if (controller.signal.aborted) return;
        const error = err instanceof ApiError ? err : new ApiError(0, 'client', (err as Error).message);
        setState({ result: null, loading: false, error, tookMs: null });
        if (error.unauthorized) return;
      }
      if (live && !controller.signal.aborted) timer = setTimeout(run, LIVE_INTERVAL_MS);
    };
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [query, rangeSeconds, view, live, runNonce, token]);

  return state;
}
