/** Reports each delivery, sent or failed, so the caller can write `alert_events` and count it. */
import type { Alert, Clock } from '../model.js';
import { stage, type Stage } from './stages.js';

export interface NotificationEvent {
  atMs: number;
  receiver: string;
  groupKey: string;
  alerts: readonly Alert[];
  status: 'sent' | 'failed';
  error?: string;
}

export function recordStage(inner: Stage, receiver: string, clock: Clock, onEvent: (e: NotificationEvent) => void): Stage {
  return stage(async (ctx, alerts) => {
    try {
      const out = await inner.exec(ctx, alerts);
      onEvent({ atMs: clock.now(), receiver, groupKey: ctx.groupKey, alerts, status: 'sent' });
      return out;
    } catch (err) {
      onEvent({ atMs: clock.now(), receiver, groupKey: ctx.groupKey, alerts, status: 'failed', error: (err as Error).message });
      throw err;
    }
  });
}
