/**
 * What the alerts page reads and changes: rule evaluation state (Prometheus's `/api/v1/alerts`),
 * notification state and silences (Alertmanager's v2 API, bare JSON), the history from
 * `alert_events` (`/api/alerts/history`), and acknowledgements when the server offers on-call.
 */
import type { AlertHistoryEvent } from '../../../server/routes/alert-history.js';
import { ApiError } from '../../ui/api-client.js';
import { apiRequest } from '../../ui/api-request.js';

export type { AlertHistoryEvent };
export type Labels = Record<string, string>;

/** An alerting rule's alert as the evaluator holds it. */
export interface RuleAlert {
  group: string;
  rule: string;
  fingerprint: string;
  state: 'pending' | 'firing' | 'inactive';
  labels: Labels;
  annotations: Labels;
  value: number;
  /** ms since the epoch. */
  activeAt: number;
  firedAt?: number;
}

/** An alert as notification sees it (Alertmanager v2 `GettableAlert`). */
export interface NotifiedAlert {
  fingerprint: string;
  labels: Labels;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  untilResolved?: boolean;
}

export interface Escalation {
  fingerprint: string;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  owner?: string;
}

export interface AlertsSnapshot {
  rules: RuleAlert[];
  notified: NotifiedAlert[];
  silences: Silence[];
  /** null when this server has no on-call (no acknowledgements). */
  escalations: Escalation[] | null;
}

export async function fetchAlerts(signal: AbortSignal): Promise<AlertsSnapshot> {
  const [rules, notified, silences, escalations] = await Promise.all([
    apiRequest<{ alerts: RuleAlert[] }>('/api/v1/alerts', { signal }).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) {
        throw new ApiError(404, 'not_found', 'This Pharos process does not run alerting (pharos dashboard alone): open the dashboard of `pharos all`, or of the process that evaluates the rules.');
      }
      throw err;
    }),
    apiRequest<NotifiedAlert[]>('/api/v2/alerts', { envelope: false, signal }),
    apiRequest<Silence[]>('/api/v2/silences', { envelope: false, signal }),
    apiRequest<{ escalations: Escalation[] }>('/api/v2/oncall', { envelope: false, signal }).then(
      (o) => o.escalations,
      (err: unknown) => {
        // No on-call on this server: acknowledging is not offered.
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      },
    ),
  ]);
  return { rules: rules.alerts, notified, silences, escalations };
}

export function fetchHistory(range: string, alertname: string, signal: AbortSignal): Promise<{ events: AlertHistoryEvent[] }> {
  const q = new URLSearchParams({ from: `now-${range}`, limit: '500' });
  if (alertname) q.set('alertname', alertname);
  return apiRequest(`/api/alerts/history?${q}`, { signal });
}

export function createSilence(body: { matchers: Matcher[]; endsAt?: string; untilResolved?: boolean; createdBy: string; comment: string }): Promise<{ silenceID: string }> {
  return apiRequest('/api/v2/silences', { method: 'POST', body, envelope: false });
}

export function expireSilence(id: string): Promise<unknown> {
  return apiRequest(`/api/v2/silence/${encodeURIComponent(id)}`, { method: 'DELETE', envelope: false });
}

export function acknowledge(fingerprint: string): Promise<Escalation> {
  return apiRequest(`/api/v2/alerts/${encodeURIComponent(fingerprint)}/ack`, { method: 'POST', envelope: false });
}

/** The notification-side view of a rule's alert: same fingerprint, else the same labels. */
export function notifiedFor(a: RuleAlert, notified: NotifiedAlert[]): NotifiedAlert | undefined {
  return notified.find((n) => n.fingerprint === a.fingerprint) ?? notified.find((n) => Object.entries(a.labels).every(([k, v]) => n.labels[k] === v));
}

export function matcherText(m: Matcher): string {
  return `${m.name}${m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!='}"${m.value}"`;
}
