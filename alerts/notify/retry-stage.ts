/**
 * Delivery with retries (Alertmanager `RetryStage`): jittered exponential backoff until a deadline,
 * waiting at least as long as a receiver's Retry-After asks; non-retryable failures stop at once.
 * Waits go through the injected Clock, so tests step time instead of sleeping.
 */
import type { Alert, Clock } from '../model.js';
import { stage, type FailureReason, type Notifier, type NotifyContext, type NotifyResult, type Stage } from './stages.js';

export interface RetryOptions {
  clock: Clock;
  deadlineMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Injected so tests are deterministic; [0, 1). */
  rng: () => number;
  /** Each attempt, with its duration: metrics. */
  onAttempt?: (integration: string, result: NotifyResult, seconds: number) => void;
}

export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    readonly integration: string,
    readonly reason: FailureReason,
    readonly attempts: number,
    message: string,
  ) {
    super(message);
  }
}

function wait(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      t.dispose();
      reject(signal.reason as Error);
    };
    const t = clock.setTimer(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function retryStage(notifier: Notifier, integration: string, opts: RetryOptions): Stage {
  return stage(async (ctx: NotifyContext, alerts: readonly Alert[]) => {
    const { clock } = opts;
    const started = clock.now();
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      const result = await notifier.notify(alerts, ctx);
      opts.onAttempt?.(integration, result, (performance.now() - t0) / 1000);
      if (result.ok) return alerts;
      const fail = (why: string) =>
        new DeliveryError(integration, result.reason, attempt, `${integration}: ${result.error} (${result.reason}, ${attempt} attempt${attempt > 1 ? 's' : ''}); ${why}`);
      if (!result.retryable) throw fail('not retryable, giving up');
      const backoff = Math.min(opts.maxBackoffMs, opts.initialBackoffMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + opts.rng() * (backoff / 2);
      const delay = Math.max(jittered, result.retryAfterMs ?? 0);
      if (clock.now() + delay > started + opts.deadlineMs) throw fail(`deadline of ${opts.deadlineMs} ms reached, giving up`);
      ctx.log.warn({ integration, reason: result.reason, attempt, retry_in_ms: Math.round(delay) }, 'notification failed, retrying');
      await wait(clock, delay, ctx.signal);
    }
  });
}

/**
 * Sends to `fallback` once `primary` has failed `threshold` deliveries in a row; a success of
 * either counts as delivered (so the notification log keeps the page from repeating).
 */
export function fallbackStage(primary: Stage, fallback: Stage | undefined, threshold: number, onFallback?: (ctx: NotifyContext, failures: number) => void): Stage {
  let failures = 0;
  return stage(async (ctx, alerts) => {
    try {
      const out = await primary.exec(ctx, alerts);
      failures = 0;
      return out;
    } catch (err) {
      failures++;
      if (!fallback || failures < threshold || ctx.signal.aborted) throw err;
      onFallback?.(ctx, failures);
      ctx.log.error({ receiver: ctx.receiver, failures, err: (err as Error).message }, 'receiver keeps failing, sending to the fallback receiver');
      return fallback.exec(ctx, alerts);
    }
  });
}
