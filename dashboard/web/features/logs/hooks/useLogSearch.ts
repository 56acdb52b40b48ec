/**
 * The explorer's search over a fixed range: the newest matching lines, the histogram of all
 * matches, and "Load older" pages (each ends just before the oldest line shown). A changed query
 * aborts what is in flight, so a late answer never overwrites a newer one.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { fetchHistogram, fetchLogs, type HistogramResult, type LogRow } from '../api.js';
import { olderThan } from '../explorer/time-range.js';
import { lineKey } from '../live/tail-buffer.js';

export interface SearchQuery {
  q?: string;
  service?: string;
  host?: string;
  from: string;
  to?: string;
}

const PAGE = 200;

export interface LogSearchState {
  rows: LogRow[];
  histogram: HistogramResult | null;
  loading: boolean;
  loadingOlder: boolean;
  /** False once a page came back shorter than asked: nothing older matches. */
  more: boolean;
  error: string | null;
  histogramError: string | null;
  loadOlder(): void;
}

export function useLogSearch(query: SearchQuery | null): LogSearchState {
  const [rows, setRows] = useState<LogRow[]>([]);
  const [histogram, setHistogram] = useState<HistogramResult | null>(null);
  // The query whose first page has answered: loading is derived, so the very render that shows a
  // new query already says so (no frame with the old lines under the new range).
  const [answered, setAnswered] = useState('');
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [histogramError, setHistogramError] = useState<string | null>(null);
  const key = query ? JSON.stringify(query) : '';
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    setRows([]);
    setHistogram(null);
    setError(null);
    setHistogramError(null);
    setMore(false);
    setLoadingOlder(false);
    if (!key) return;
    const q = JSON.parse(key) as SearchQuery;
    const ctl = new AbortController();
    abort.current = ctl;
    fetchLogs({ ...q, limit: PAGE }, ctl.signal)
      .then((data) => {
        setRows(data.rows);
        setMore(data.rows.length === PAGE);
      })
      .catch((err: Error) => ctl.signal.aborted || setError(`The search failed: ${err.message}`))
      .finally(() => ctl.signal.aborted || setAnswered(key));
    fetchHistogram({ ...q, buckets: 60 }, ctl.signal)
      .then(setHistogram)
      .catch((err: Error) => ctl.signal.aborted || setHistogramError(`The histogram failed: ${err.message}`));
    return () => ctl.abort();
  }, [key]);

  const loadOlder = useCallback(() => {
    const oldest = rows[rows.length - 1];
    const ctl = abort.current;
    if (!key || !oldest || !ctl) return;
    const q = JSON.parse(key) as SearchQuery;
    setLoadingOlder(true);
    fetchLogs({ ...q, to: olderThan(oldest.timeUnixNano), limit: PAGE }, ctl.signal)
      .then((data) => {
        // The page starts at the oldest line's own instant, so lines sharing it come back again.
        setRows((shown) => {
          const seen = new Set(shown.map(lineKey));
          return [...shown, ...data.rows.filter((r) => !seen.has(lineKey(r)))];
        });
        setMore(data.rows.length === PAGE);
      })
      .catch((err: Error) => ctl.signal.aborted || setError(`Loading older lines failed: ${err.message}`))
      .finally(() => ctl.signal.aborted || setLoadingOlder(false));
  }, [key, rows]);

  const loading = Boolean(key) && answered !== key;
  return { rows, histogram, loading, loadingOlder, more, error, histogramError, loadOlder };
}
