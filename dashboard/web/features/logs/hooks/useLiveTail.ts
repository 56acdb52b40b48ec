/**
 * The live tail of a filter over the dashboard's WebSocket: history first, then every new line
 * as the bus delivers it. Pausing keeps receiving (and counts what waits) without moving the
 * rows on screen; a changed filter starts a new subscription.
 */
import { useCallback, useEffect, useReducer, useState } from 'react';
import { useToken } from '../../../ui/auth-token.js';
import { LiveLogConnection, type ConnectionStatus, type LogFilter } from '../live/live-connection.js';
import { addHistory, addLive, emptyTail, lineKey, marker, pause, resume, type TailItem, type TailState } from '../live/tail-buffer.js';
import type { LogRow } from '../api.js';

type Action =
  | { type: 'reset'; paused: boolean }
  | { type: 'history'; rows: LogRow[] }
  | { type: 'live'; items: TailItem[] }
  | { type: 'dropped'; count: number }
  | { type: 'pause' }
  | { type: 'resume' };

function reducer(state: TailState, action: Action): TailState {
  switch (action.type) {
    case 'reset':
      return emptyTail(action.paused);
    case 'history':
      return addHistory(state, action.rows);
    case 'live':
      return addLive(state, action.items);
    case 'dropped':
      return { ...addLive(state, [marker('dropped', `${action.count} ${action.count === 1 ? 'line' : 'lines'} dropped: this browser read too slowly`)]), dropped: state.dropped + action.count };
    case 'pause':
      return pause(state);
    case 'resume':
      return resume(state);
  }
}

export interface LiveTail {
  state: TailState;
  status: ConnectionStatus;
  /** True once the history for the current filter arrived (or failed). */
  loaded: boolean;
  source: string | undefined;
  error: string | null;
  setPaused(paused: boolean): void;
}

/** `enabled` false (the explorer shows a fixed range) holds no connection open. */
export function useLiveTail(filter: LogFilter, enabled = true): LiveTail {
  const token = useToken();
  const [state, dispatch] = useReducer(reducer, undefined, () => emptyTail());
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  const [loaded, setLoaded] = useState(false);
  const [source, setSource] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const filterKey = JSON.stringify(filter);

  useEffect(() => {
    dispatch({ type: 'reset', paused: false });
    setLoaded(false);
    setError(null);
    if (!enabled) return;
    const conn = new LiveLogConnection(JSON.parse(filterKey) as LogFilter, token, {
      status: (s, detail) => {
        setStatus(s);
        if (s === 'refused') setError(detail ? `The server refused the live connection: ${detail}.` : 'The server refused the live connection.');
      },
      subscribed: (info) => setSource(info.source),
      history: (rows) => {
        dispatch({ type: 'history', rows });
        setLoaded(true);
      },
      rows: (rows) => {
        dispatch({ type: 'live', items: rows.map((row) => ({ kind: 'row', key: lineKey(row), row, offset: row.offset })) });
        setLoaded(true);
      },
      dropped: (count) => dispatch({ type: 'dropped', count }),
      gap: (missed, reason) =>
        dispatch({ type: 'live', items: [marker('gap', missed === null ? `Reconnected: ${reason}` : `Reconnected: ${missed} ${missed === 1 ? 'line' : 'lines'} missed while disconnected (older than the server keeps)`)] }),
      error: (message) => {
        setError(message);
        setLoaded(true);
      },
    });
    return () => conn.close();
  }, [filterKey, token, enabled]);

  const setPaused = useCallback((p: boolean) => dispatch({ type: p ? 'pause' : 'resume' }), []);
  return { state, status, loaded, source, error, setPaused };
}
