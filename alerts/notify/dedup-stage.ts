/**
 * Dedup (Alertmanager `DedupStage`): passes a group on only when needsNotify says so, and, after a
 * successful delivery, records what was sent (`SetNotifiesStage`).
 */
import type { Alert } from '../model.js';
import { needsNotify, type NotificationLog, type NotifyReason } from './notification-log.js';
import { isFiring, stage, type NotifyContext, type Stage } from './stages.js';

function split(alerts: readonly Alert[], nowMs: number): { firing: Set<string>; resolved: Set<string> } {
  const firing = new Set<string>();
  const resolved = new Set<string>();
  for (const a of alerts) (isFiring(a, nowMs) ? firing : resolved).add(a.fingerprint);
  return { firing, resolved };
}

export function dedupStage(log: NotificationLog, integration: string, sendResolved: boolean, onReason?: (r: NotifyReason, ctx: NotifyContext) => void): Stage {
  return stage(async (ctx, alerts) => {
    const { firing, resolved } = split(alerts, ctx.nowMs);
    const reason = ctx.silenceEnded && firing.size > 0 ? 'silence_ended' : needsNotify(log.get(ctx.groupKey, integration), firing, resolved, ctx.repeatIntervalMs, ctx.nowMs, sendResolved);
    if (reason === null) return [];
    onReason?.(reason, ctx);
    ctx.log.debug({ integration, group_key: ctx.groupKey, reason }, 'notifying');
    return alerts;
  });
}

export function setNotifiesStage(log: NotificationLog, integration: string): Stage {
  return stage(async (ctx, alerts) => {
    const { firing, resolved } = split(alerts, ctx.nowMs);
    await log.log({ groupKey: ctx.groupKey, receiver: integration, firing: [...firing], resolved: [...resolved], atMs: ctx.nowMs });
    return alerts;
  });
}
