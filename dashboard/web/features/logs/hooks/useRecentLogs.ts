/**
 * Recent log lines for a filter, refreshed every second while live.
 *
 * Polling over HTTP, one request at a time (the next is scheduled when the previous settles, so a
 * slow warehouse is never stacked with requests). Pausing freezes the rows on screen; a hidden
 * tab does not poll. A 401 stops polling until the token changes.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../../ui/api-client.js';
import { useToken } from '../../../ui/auth-token.js';
import { fetchLogs, type LogRow } from '../api.js';

export const LIVE_INTERVAL_MS = 1000;
export const RECENT_LIMIT = 100;

export interface RecentLogs {
  rows: LogRow[];
  /** True until the first answer for the current filter. */
  loading: boolean;
  error: ApiError | null;
  /** When the rows were last fetched, ms since the epoch. */
  updatedAt: number | null;
  reload(): void;
}

interface State {
  rows: LogRow[];
  loading: boolean;
  error: ApiError | null;
  updatedAt: number | null;
}

export function useRecentLogs({ q, live }: { q: string; live: boolean }): RecentLogs {
  const token = useToken();
  const [nonce, setNonce] = useState(0);
  const [state, setState] = useState<State>({ rows: [], loading: true, error: null, updatedAt: null });
  /** What the rows on screen answer: pausing must not refetch them, a new filter must not show old rows. */
  const shown = useRef<{ q: string; key: string } | null>(null);

  useEffect(() => {
    const key = `${q}\u0000${token ?? ''}\u0000${nonce}`;
    if (!live && shown.current?.key === key) return;
    if (shown.current && shown.current.q !== q) setState({ rows: [], loading: true, error: null, updatedAt: null });
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const load = async () => {
      if (live && document.hidden) {
        timer = setTimeout(load, LIVE_INTERVAL_MS);
        return;
      }
      try {
        const page = await fetchLogs({ q, limit: RECENT_LIMIT }, controller.signal);
        shown.current = { q, key };
        setState({ rows: page.rows, loading: false, error: null, updatedAt: Date.now() });
      } catch (err) {
        if (controller.signal.aborted) return;
        const error = err instanceof ApiError ? err : new ApiError(0, 'client', (err as Error).message);
        shown.current = { q, key };
        setState((s) => ({ ...s, loading: false, error }));
        if (error.unauthorized) return;
      }
      if (live && !controller.signal.aborted) timer = setTimeout(load, LIVE_INTERVAL_MS);
    };
    void load();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [q, live, token, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}
