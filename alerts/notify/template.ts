/**
 * A small subset of Alertmanager's Go templates for titles and texts: `{{ .Status }}`,
 * `{{ .Receiver }}`, `{{ .ExternalURL }}`, `{{ .GroupLabels.x }}`, `{{ .CommonLabels.x }}`,
 * `{{ .CommonAnnotations.x }}`, `{{ .Alerts.Firing | len }}`, `{{ .Alerts.Resolved | len }}`,
 * `{{ .Alerts | len }}`. Anything else is left as written, so a template never fails a page.
 */
import type { WebhookMessage } from './webhook.js';

export function render(tpl: string, m: WebhookMessage): string {
  return tpl.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (whole, expr: string) => {
    const e = expr.replace(/\s+/g, ' ');
    if (e === '.Status') return m.status;
    if (e === '.Receiver') return m.receiver;
    if (e === '.ExternalURL') return m.externalURL;
    if (e === '.GroupKey') return m.groupKey;
    if (e === '.Alerts | len') return String(m.alerts.length);
    if (e === '.Alerts.Firing | len') return String(m.alerts.filter((a) => a.status === 'firing').length);
    if (e === '.Alerts.Resolved | len') return String(m.alerts.filter((a) => a.status === 'resolved').length);
    const f = /^\.(GroupLabels|CommonLabels|CommonAnnotations)\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(e);
    if (f) {
      const map = f[1] === 'GroupLabels' ? m.groupLabels : f[1] === 'CommonLabels' ? m.commonLabels : m.commonAnnotations;
      return map[f[2]!] ?? '';
    }
    return whole;
  });
}

/** Alertmanager's default title: `[FIRING:2] DiskFull (host1 /data)`. */
export function defaultTitle(m: WebhookMessage): string {
  const firing = m.alerts.filter((a) => a.status === 'firing').length;
  const head = `[${m.status.toUpperCase()}${m.status === 'firing' ? `:${firing}` : ''}]`;
  const name = m.groupLabels.alertname ?? m.commonLabels.alertname ?? '';
  const rest = Object.entries(m.groupLabels)
    .filter(([k]) => k !== 'alertname')
    .map(([, v]) => v)
    .join(' ');
  return [head, name, rest ? `(${rest})` : ''].filter(Boolean).join(' ');
}

export function defaultText(m: WebhookMessage): string {
  return m.alerts
    .map((a) => {
      const summary = a.annotations.summary ?? a.annotations.description ?? '';
      const labels = Object.entries(a.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      return `${a.status === 'firing' ? '🔥' : '✅'} ${summary ? `${summary} ` : ''}[${labels}]`;
    })
    .join('\n');
}
