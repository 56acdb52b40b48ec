import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { DeliveryError, fallbackStage, retryStage } from './retry-stage.js';
import { fanout, stage, type Notifier, type NotifyContext, type NotifyResult } from './stages.js';
import { alert, FakeClock, settle } from './test-helpers.js';

const T0 = 1_800_000_000_000;
const ctx = (): NotifyContext => ({ receiver: 'r', groupKey: 'g', groupLabels: {}, nowMs: T0, repeatIntervalMs: 1, signal: new AbortController().signal, log: silentLogger() });
const a = [alert({ alertname: 'X' }, T0, T0 + 1000)];

function scripted(results: NotifyResult[]): Notifier & { calls: number } {
  const n = {
    calls: 0,
    notify: async () => results[Math.min(n.calls++, results.length - 1)]!,
  };
  return n;
}
const down: NotifyResult = { ok: false, retryable: true, reason: 'server_error', error: 'HTTP 503' };

describe('retryStage', () => {
  it('stops at the first non-retryable failure', async () => {
    const clock = new FakeClock(T0);
    const n = scripted([{ ok: false, retryable: false, reason: 'client_error', error: 'HTTP 400' }]);
    const s = retryStage(n, 'r/webhook[0]', { clock, deadlineMs: 60_000, initialBackoffMs: 1000, maxBackoffMs: 8000, rng: () => 0 });
    await expect(s.exec(ctx(), a)).rejects.toMatchObject({ reason: 'client_error', attempts: 1 });
    expect(n.calls).toBe(1);
  });

  it('backs off exponentially with jitter and gives up at the deadline', async () => {
    const clock = new FakeClock(T0);
    const n = scripted([down]);
    // rng 0: the jittered delay is half the backoff (1 s doubling, capped at 4 s): 500, 1000, 2000, 2000 ms.
    const s = retryStage(n, 'r/webhook[0]', { clock, deadlineMs: 6000, initialBackoffMs: 1000, maxBackoffMs: 4000, rng: () => 0 });
    let err: unknown;
    const done = s.exec(ctx(), a).catch((e: unknown) => (err = e));
    const steps: number[] = [];
    for (let i = 0; i < 40 && err === undefined; i++) {
      await settle(5);
      const before = n.calls;
      clock.advance(250);
      await settle(5);
      if (n.calls > before) steps.push(clock.now() - T0);
    }
    await done;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(steps).toEqual([500, 1500, 3500, 5500]);
    expect((err as Error).message).toMatch(/deadline of 6000 ms reached/);
  });
});

describe('fallbackStage and fanout', () => {
  it('uses the fallback only from the threshold on, and resets after a success', async () => {
    let primaryOk = false;
    const primary = stage(async (_c, al) => {
      if (!primaryOk) throw new Error('down');
      return al;
    });
    let fallbackCalls = 0;
    const fb = stage(async (_c, al) => {
      fallbackCalls++;
      return al;
    });
    const s = fallbackStage(primary, fb, 2);
    await expect(s.exec(ctx(), a)).rejects.toThrow('down');
    await expect(s.exec(ctx(), a)).resolves.toEqual(a);
    expect(fallbackCalls).toBe(1);
    primaryOk = true;
    await s.exec(ctx(), a);
    primaryOk = false;
    await expect(s.exec(ctx(), a)).rejects.toThrow('down');
  });

  it('runs every integration even when one fails, then reports the failures together', async () => {
    let ran = 0;
    const ok = stage(async (_c, al) => {
      ran++;
      return al;
    });
    const bad = stage(async () => {
      throw new Error('boom');
    });
    await expect(fanout(bad, ok).exec(ctx(), a)).rejects.toBeInstanceOf(AggregateError);
    expect(ran).toBe(1);
  });
});
