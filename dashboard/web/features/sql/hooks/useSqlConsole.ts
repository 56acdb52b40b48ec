/**
 * The console's state: Run asks ClickHouse for an estimate first; a costly statement (over the
 * server's `confirm_above_rows`) waits for "Run anyway", a cheap one runs at once. While running,
 * Cancel stops it in the engine (DELETE /api/sql/:queryId) and the elapsed time ticks.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { cancelSql, estimateSql, newQueryId, runSql, SqlError, type SqlEstimate, type SqlResult } from '../api.js';

export type SqlState =
  | { phase: 'idle' }
  | { phase: 'estimating'; query: string }
  | { phase: 'confirm'; query: string; estimate: SqlEstimate }
  | { phase: 'running'; query: string; queryId: string; startedAt: number; estimate?: SqlEstimate | undefined; cancelling: boolean }
  | { phase: 'done'; query: string; result: SqlResult; estimate?: SqlEstimate | undefined }
  | { phase: 'failed'; query: string; error: SqlError };

export interface SqlConsoleApi {
  state: SqlState;
  /** Milliseconds since the running statement started (ticks while running). */
  elapsedMs: number;
  run: (query: string) => void;
  runConfirmed: () => void;
  estimateOnly: (query: string) => void;
  cancel: () => void;
}

export function useSqlConsole(): SqlConsoleApi {
  const [state, setState] = useState<SqlState>({ phase: 'idle' });
  const [now, setNow] = useState(() => Date.now());
  const abort = useRef<AbortController | null>(null);
  // Answers of a superseded request are dropped.
  const generation = useRef(0);

  useEffect(() => {
    if (state.phase !== 'running') return;
    const t = setInterval(() => setNow(Date.now()), 100);
    return () => clearInterval(t);
  }, [state.phase]);

  useEffect(() => () => abort.current?.abort(), []);

  const fail = (query: string, err: unknown) => {
    const error = err instanceof SqlError ? err : new SqlError(0, 'internal', err instanceof Error ? err.message : String(err), undefined);
    setState({ phase: 'failed', query, error });
  };

  const execute = useCallback((query: string, estimate: SqlEstimate | undefined) => {
    const gen = ++generation.current;
    const queryId = newQueryId();
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    const startedAt = Date.now();
    setNow(startedAt);
    setState({ phase: 'running', query, queryId, startedAt, estimate, cancelling: false });
    runSql(query, queryId, controller.signal).then(
      (result) => gen === generation.current && setState({ phase: 'done', query, result, estimate }),
      (err: unknown) => gen === generation.current && !controller.signal.aborted && fail(query, err),
    );
  }, []);

  const run = useCallback(
    (query: string) => {
      if (!query.trim()) return;
      const gen = ++generation.current;
      setState({ phase: 'estimating', query });
      estimateSql(query).then(
        (estimate) => {
          if (gen !== generation.current) return;
          if (estimate.costly) setState({ phase: 'confirm', query, estimate });
          else execute(query, estimate);
        },
        (err: unknown) => gen === generation.current && fail(query, err),
      );
    },
    [execute],
  );

  const estimateOnly = useCallback((query: string) => {
    if (!query.trim()) return;
    const gen = ++generation.current;
    setState({ phase: 'estimating', query });
    estimateSql(query).then(
      (estimate) => gen === generation.current && setState({ phase: 'confirm', query, estimate }),
      (err: unknown) => gen === generation.current && fail(query, err),
    );
  }, []);

  const runConfirmed = useCallback(() => {
    if (state.phase === 'confirm') execute(state.query, state.estimate);
  }, [state, execute]);

  const cancel = useCallback(() => {
    if (state.phase === 'running') {
      setState({ ...state, cancelling: true });
      // The run's own answer (400, cancelled) ends the state; a failed DELETE drops the request instead.
      cancelSql(state.queryId).catch(() => abort.current?.abort());
    } else if (state.phase === 'confirm' || state.phase === 'estimating') {
      generation.current++;
      setState({ phase: 'idle' });
    }
  }, [state]);

  const elapsedMs = state.phase === 'running' ? Math.max(0, now - state.startedAt) : 0;
  return { state, elapsedMs, run, runConfirmed, estimateOnly, cancel };
}
