/** The logs resource of the dashboard API (`dashboard/server/routes/logs.ts` is the other side). */
import type { LogRow } from '../../../../core/model/log-search.js';
import type { LogsResponse } from '../../../server/routes/logs.js';
import { apiGet } from '../../ui/api-client.js';

export type { LogRow };
export type LogsResult = LogsResponse['data'];

export interface RecentLogsQuery {
  /** Words that must all be in the body; "quoted phrases" whole. */
  q?: string;
  service?: string;
  host?: string;
  /** Relative (`now-1h`), RFC 3339 or unix ms; the server defaults to the last hour. */
  from?: string;
  to?: string;
  limit?: number;
}

export function fetchLogs(query: RecentLogsQuery, signal?: AbortSignal): Promise<LogsResult> {
  return apiGet<LogsResult>('/api/logs', { ...query }, signal);
}

export interface LogContextResult {
  /** Oldest first; `index` is the line asked about. */
  rows: LogRow[];
  index: number;
}

/** The lines around one line of a service (and host): `GET /api/logs/context`. */
export function fetchContext(row: LogRow, signal?: AbortSignal, around = 15): Promise<LogContextResult> {
  return apiGet<LogContextResult>('/api/logs/context', { service: row.serviceName, host: row.hostName || undefined, time: row.timeUnixNano, before: around, after: around }, signal);
}

export interface HistogramQuery {
  q?: string;
  service?: string;
  host?: string;
  from?: string;
  to?: string;
  buckets?: number;
}

export interface HistogramResult {
  /** `startNs` is the interval's start in nanoseconds; each runs to the next one's start. */
  buckets: Array<{ startNs: string; count: number }>;
  from: string;
  to: string;
}

/** Counts of matching lines over a range: `GET /api/logs/histogram`. */
export function fetchHistogram(query: HistogramQuery, signal?: AbortSignal): Promise<HistogramResult> {
  return apiGet<HistogramResult>('/api/logs/histogram', { ...query }, signal);
}
