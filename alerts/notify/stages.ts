/**
 * The notification pipeline as composable stages (Alertmanager `notify/notify.go`): a stage takes
 * alerts and returns those that pass on; an empty result or a throw stops a sequence.
 */
import type { Logger } from '../../core/log.js';
import type { Alert, Labels } from '../model.js';

export interface NotifyContext {
  readonly receiver: string;
  readonly groupKey: string;
  readonly groupLabels: Labels;
  /** The tick time of the group's timer: every stage decides with this, never a clock of its own. */
  readonly nowMs: number;
  readonly repeatIntervalMs: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Set when a silence over some of these alerts just ended: they are sent at once, not a repeat interval later. */
  readonly silenceEnded?: boolean;
  /** The route's on-call escalation policy, if it has one. */
  readonly escalationPolicy?: string;
}

export interface Stage {
  exec(ctx: NotifyContext, alerts: readonly Alert[]): Promise<readonly Alert[]>;
}

export type FailureReason = 'client_error' | 'server_error' | 'rate_limited' | 'timeout' | 'network' | 'other';

export type NotifyResult =
  | { ok: true }
  | { ok: false; retryable: boolean; reason: FailureReason; retryAfterMs?: number; error: string };

/** One integration of a receiver (a webhook, a Slack channel, ...). */
export interface Notifier {
  notify(alerts: readonly Alert[], ctx: NotifyContext): Promise<NotifyResult>;
}

export function stage(fn: Stage['exec']): Stage {
  return { exec: fn };
}

/** Runs stages in order; stops when one returns no alerts. */
export function sequence(...stages: Stage[]): Stage {
  return stage(async (ctx, alerts) => {
    let cur = alerts;
    for (const s of stages) {
      if (cur.length === 0) return cur;
      cur = await s.exec(ctx, cur);
    }
    return cur;
  });
}

/** Runs stages concurrently on the same alerts; one failure does not stop the others, all failures are thrown together. */
export function fanout(...stages: Stage[]): Stage {
  return stage(async (ctx, alerts) => {
    const results = await Promise.allSettled(stages.map((s) => s.exec(ctx, alerts)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} of ${stages.length} integrations failed`);
    return alerts;
  });
}

/** Picks the pipeline of `ctx.receiver`. */
export function byReceiver(pipelines: ReadonlyMap<string, Stage>): Stage {
  return stage(async (ctx, alerts) => {
    const s = pipelines.get(ctx.receiver);
    // The config schema rejects routes to unknown receivers, so this is a broken invariant.
    if (!s) throw new Error(`no pipeline for receiver "${ctx.receiver}"`);
    return s.exec(ctx, alerts);
  });
}

export function isFiring(a: Alert, nowMs: number): boolean {
  return !(a.endsAt > 0 && a.endsAt <= nowMs);
}
