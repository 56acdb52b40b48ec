/**
 * Loads something slow and keeps its state for the page: the value, whether a load is running,
 * and the error. Re-runs when `deps` change or `reload()` is called, every `refreshMs` when given,
 * and aborts the request it replaces. The last value stays shown while a refresh runs, so a
 * periodic refresh does not blank the page.
 */
import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';
import { ApiError } from './api-client.js';

export interface AsyncState<T> {
  value: T | undefined;
  loading: boolean;
  error: ApiError | Error | undefined;
  reload: () => void;
  /** When the value was last loaded, ms since the epoch. */
  loadedAt: number | undefined;
}

export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList, refreshMs?: number): AsyncState<T> {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<ApiError | Error>();
  const [loading, setLoading] = useState(true);
  const [loadedAt, setLoadedAt] = useState<number>();
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      setLoading(true);
      loadRef
        .current(ac.signal)
        .then((v) => {
          if (ac.signal.aborted) return;
          setValue(v);
          setError(undefined);
          setLoadedAt(Date.now());
        })
        .catch((err: unknown) => {
          if (ac.signal.aborted) return;
          setError(err instanceof Error ? err : new Error(String(err)));
        })
        .finally(() => {
          if (ac.signal.aborted) return;
          setLoading(false);
          if (refreshMs) timer = setTimeout(run, refreshMs);
        });
    };
    run();
    return () => {
      ac.abort();
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce, refreshMs]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { value, loading, error, reload, loadedAt };
}
