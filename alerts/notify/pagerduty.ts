/**
 * PagerDuty Events API v2: a trigger while any alert of the group fires, a resolve once none does.
 * The dedup key is a hash of the group key, so PagerDuty folds repeats into one incident and the
 * resolve closes it.
 */
import { createHash } from 'node:crypto';
import { redactUrl } from '../../core/errors.js';
import type { Alert } from '../model.js';
import { postJson } from './http.js';
import type { Notifier, NotifyContext, NotifyResult } from './stages.js';
import { defaultTitle } from './template.js';
import { buildMessage } from './webhook.js';

export interface PagerdutyTrigger {
  routing_key: string;
  event_action: 'trigger';
  dedup_key: string;
  payload: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp?: string;
    custom_details: Record<string, unknown>;
  };
  client: string;
  client_url: string;
}

export interface PagerdutyResolve {
  routing_key: string;
  event_action: 'resolve';
  dedup_key: string;
}

export type PagerdutyEvent = PagerdutyTrigger | PagerdutyResolve;

export function dedupKey(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex');
}

/** PagerDuty rejects summaries above 1024 characters. */
const MAX_SUMMARY = 1024;

export function pagerdutyEvent(
  alerts: readonly Alert[],
  ctx: NotifyContext,
  cfg: { routingKey: string; severity: PagerdutyTrigger['payload']['severity']; description?: string | undefined; source?: string | undefined; externalURL: string },
): PagerdutyEvent {
  const m = buildMessage(alerts, ctx, cfg.externalURL);
  const key = dedupKey(ctx.groupKey);
  if (m.status === 'resolved') return { routing_key: cfg.routingKey, event_action: 'resolve', dedup_key: key };
  const summary = (cfg.description ?? defaultTitle(m)).slice(0, MAX_SUMMARY);
  return {
    routing_key: cfg.routingKey,
    event_action: 'trigger',
    dedup_key: key,
    payload: {
      summary,
      source: cfg.source ?? m.commonLabels.instance ?? m.commonLabels.host ?? 'pharos',
      severity: cfg.severity,
      custom_details: {
        firing: m.alerts.filter((a) => a.status === 'firing').map((a) => ({ labels: a.labels, annotations: a.annotations, startsAt: a.startsAt })),
        num_firing: m.alerts.filter((a) => a.status === 'firing').length,
        num_resolved: m.alerts.filter((a) => a.status === 'resolved').length,
        group_labels: m.groupLabels,
      },
    },
    client: 'Pharos',
    client_url: cfg.externalURL,
  };
}

export class PagerdutyNotifier implements Notifier {
  constructor(private readonly cfg: { url: string; routingKey: string; severity: PagerdutyTrigger['payload']['severity']; description?: string | undefined; source?: string | undefined; timeoutMs: number; externalURL: string }) {}

  notify(alerts: readonly Alert[], ctx: NotifyContext): Promise<NotifyResult> {
    return postJson(this.cfg.url, pagerdutyEvent(alerts, ctx, this.cfg), { timeoutMs: this.cfg.timeoutMs, signal: ctx.signal, shownUrl: redactUrl(this.cfg.url), nowMs: ctx.nowMs });
  }
}
