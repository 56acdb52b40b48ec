/** The Alertmanager webhook receiver: POSTs the version 4 JSON message. */
import { redactUrl } from '../../core/errors.js';
import type { Alert, Labels } from '../model.js';
import { postJson } from './http.js';
import { isFiring, type Notifier, type NotifyContext, type NotifyResult } from './stages.js';

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** '0001-01-01T00:00:00Z' while firing, as Alertmanager sends it. */
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookMessage {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function common(sets: readonly Labels[]): Record<string, string> {
  const first = sets[0];
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (sets.every((s) => s[k] === v)) out[k] = v;
  return out;
}

/** The data every receiver renders from (Alertmanager's template.Data). */
export function buildMessage(alerts: readonly Alert[], ctx: NotifyContext, externalURL: string, maxAlerts = 0): WebhookMessage {
  const all: WebhookAlert[] = alerts.map((a) => {
    const firing = isFiring(a, ctx.nowMs);
    return {
      status: firing ? 'firing' : 'resolved',
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: firing ? ZERO_TIME : new Date(a.endsAt).toISOString(),
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    };
  });
  const kept = maxAlerts > 0 ? all.slice(0, maxAlerts) : all;
  return {
    version: '4',
    groupKey: ctx.groupKey,
    truncatedAlerts: all.length - kept.length,
    status: all.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: ctx.receiver,
    groupLabels: { ...ctx.groupLabels },
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL,
    alerts: kept,
  };
}

export class WebhookNotifier implements Notifier {
  constructor(
    private readonly cfg: { url: string; maxAlerts: number; timeoutMs: number; externalURL: string },
  ) {}

  notify(alerts: readonly Alert[], ctx: NotifyContext): Promise<NotifyResult> {
    const msg = buildMessage(alerts, ctx, this.cfg.externalURL, this.cfg.maxAlerts);
    return postJson(this.cfg.url, msg, { timeoutMs: this.cfg.timeoutMs, signal: ctx.signal, shownUrl: redactUrl(this.cfg.url), nowMs: ctx.nowMs });
  }
}
