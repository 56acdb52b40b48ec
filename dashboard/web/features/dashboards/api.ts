/** The dashboards resource (`dashboard/server/routes/dashboards.ts`) and the reads panels make. */
import type { DashboardDocument, DashboardSummary } from '../../../server/routes/dashboards.js';
import type { MetricsRangeData } from '../../../server/routes/metrics-range.js';
import { apiGet } from '../../ui/api-client.js';
import { apiRequest } from '../../ui/api-request.js';
import type { InstantResult } from '../../ui/prom-api.js';
import type { LogsResult } from '../logs/api.js';
import type { DashboardModel } from './model.js';

export type { DashboardDocument, DashboardSummary, MetricsRangeData };

export const listDashboards = (signal?: AbortSignal) => apiRequest<DashboardSummary[]>('/api/dashboards', { ...(signal ? { signal } : {}) });
export const getDashboard = (id: string, signal?: AbortSignal) => apiRequest<DashboardDocument>(`/api/dashboards/${encodeURIComponent(id)}`, { ...(signal ? { signal } : {}) });
export const createDashboard = (model: unknown) => apiRequest<DashboardDocument>('/api/dashboards', { method: 'POST', body: model });
export const updateDashboard = (id: string, model: DashboardModel, version: number) =>
  apiRequest<DashboardDocument>(`/api/dashboards/${encodeURIComponent(id)}`, { method: 'PUT', body: { model, version } });
export const deleteDashboard = (id: string) => apiRequest<unknown>(`/api/dashboards/${encodeURIComponent(id)}`, { method: 'DELETE' });

/** Values of `label` over the series of `metric` in the last hour (the real-time store). */
export function labelValues(label: string, metric: string, signal?: AbortSignal): Promise<string[]> {
  const end = Date.now() / 1000;
  return apiGet<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, { 'match[]': metric, start: end - 3600, end }, signal);
}

/** A panel's range: from the real-time store or the warehouse, whichever holds it (the answer says). */
export function queryRange(query: string, range: { start: number; end: number; step: number }, signal?: AbortSignal): Promise<MetricsRangeData> {
  return apiGet<MetricsRangeData>('/api/metrics/query_range', { query, ...range }, signal);
}

export function queryInstant(query: string, time: number, signal?: AbortSignal): Promise<InstantResult> {
  return apiGet<InstantResult>('/api/v1/query', { query, time }, signal);
}

export function panelLogs(q: { q?: string; service?: string; host?: string; limit: number; from: string }, signal?: AbortSignal): Promise<LogsResult> {
  return apiGet<LogsResult>('/api/logs', { ...q }, signal);
}

/** Saves the model as a file the browser downloads. */
export function downloadModel(model: DashboardModel): void {
  const blob = new Blob([JSON.stringify(model, null, 2) + '\n'], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${model.title.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '') || 'dashboard'}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
