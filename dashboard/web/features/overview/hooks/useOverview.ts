/**
 * The overview's data, refreshed every 5 s: hosts and the stack's own counters, fetched together.
 *
 * One round at a time (the next is scheduled when the previous settles); a hidden tab skips
 * rounds. Rates of the stack's counters come from two successive summaries, so the first round
 * shows totals only. A failed round keeps the last good figures on screen with the error beside.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../../ui/api-client.js';
import { useToken } from '../../../ui/auth-token.js';
import { fetchHosts, fetchSelfSummary, type HostOverview, type SelfMetricsSummary } from '../api.js';

export const REFRESH_MS = 5000;

export interface StackHealth {
  summary: SelfMetricsSummary;
  /** Per second over the last refresh interval; null on the first round or after a restart. */
  rates: { eventsReceived: number; rowsInserted: number; samplesAppended: number; errors: number } | null;
}

export interface Overview {
  hosts: HostOverview[] | null;
  stack: StackHealth | null;
  error: ApiError | null;
  updatedAt: number | null;
  reload(): void;
}

export function useOverview(): Overview {
  const token = useToken();
  const [nonce, setNonce] = useState(0);
  const [hosts, setHosts] = useState<HostOverview[] | null>(null);
  const [stack, setStack] = useState<StackHealth | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const previous = useRef<SelfMetricsSummary | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const round = async () => {
      if (document.hidden) {
        timer = setTimeout(round, REFRESH_MS);
        return;
      }
      const now = Date.now();
      const [h, s] = await Promise.allSettled([fetchHosts(now, controller.signal), fetchSelfSummary(controller.signal)]);
      if (controller.signal.aborted) return;
      if (h.status === 'fulfilled') setHosts(h.value);
      if (s.status === 'fulfilled') {
        setStack({ summary: s.value, rates: ratesBetween(previous.current, s.value) });
        previous.current = s.value;
      }
      const failed = [h, s].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      const err = failed ? toApiError(failed.reason) : null;
      setError(err);
      if (!err) setUpdatedAt(now);
      if (err?.unauthorized) return;
      timer = setTimeout(round, REFRESH_MS);
    };
    void round();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [token, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { hosts, stack, error, updatedAt, reload };
}

function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'client', (err as Error).message);
}

export function ratesBetween(prev: SelfMetricsSummary | null, next: SelfMetricsSummary): StackHealth['rates'] {
  if (!prev) return null;
  const seconds = (next.at - prev.at) / 1000;
  if (seconds <= 0) return null;
  const rate = (k: 'eventsReceived' | 'rowsInserted' | 'samplesAppended' | 'errors') => {
    const d = next[k] - prev[k];
    return d >= 0 ? d / seconds : NaN;
  };
  const rates = { eventsReceived: rate('eventsReceived'), rowsInserted: rate('rowsInserted'), samplesAppended: rate('samplesAppended'), errors: rate('errors') };
  // A counter that went down means the process restarted: no rate is honest for that interval.
  return Object.values(rates).some(Number.isNaN) ? null : rates;
}
