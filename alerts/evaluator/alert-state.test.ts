import { describe, expect, test } from 'vitest';
import {
  alertsToSend,
  evalAlerts,
  fingerprint,
  needsSending,
  RESOLVED_RETENTION_MS,
  toAlert,
  type ActiveAlert,
  type AlertSample,
  type Fingerprint,
  type RuleTiming,
} from './alert-state.js';

const M = 60_000;
const labels = { alertname: 'HighRequests', instance: '0', job: 'app-server' };
const fp = fingerprint(labels);
const hit = (value = 75): AlertSample[] => [{ labels, annotations: { summary: `v=${value}` }, value }];

/** Runs the state machine over a series of evaluations (one per minute); undefined = no result. */
function run(rule: RuleTiming, steps: Array<number | undefined>, start = 0) {
  let state: ReadonlyMap<Fingerprint, ActiveAlert> = new Map();
  return steps.map((v, i) => {
    const at = start + i * M;
    const r = evalAlerts(state, v === undefined ? [] : hit(v), at, rule);
    state = r.next;
    return { at, alert: r.next.get(fp), changes: r.changes.map((c) => `${c.from}->${c.to}`) };
  });
}

describe('evalAlerts', () => {
  test('goes pending, then firing once `for` has elapsed, keeping activeAt', () => {
    const s = run({ forMs: 2 * M, keepFiringForMs: 0 }, [75, 85, 70, 70]);
    expect(s.map((x) => x.alert?.state)).toEqual(['pending', 'pending', 'firing', 'firing']);
    expect(s.map((x) => x.changes)).toEqual([['inactive->pending'], [], ['pending->firing'], []]);
    expect(s[3]!.alert).toMatchObject({ activeAt: 0, firedAt: 2 * M, value: 70, annotations: { summary: 'v=70' } });
  });

  test('fires at once with for: 0', () => {
    const s = run({ forMs: 0, keepFiringForMs: 0 }, [75]);
    expect(s[0]!.alert).toMatchObject({ state: 'firing', activeAt: 0, firedAt: 0 });
    expect(s[0]!.changes).toEqual(['inactive->firing']);
  });

  test('drops a pending alert whose condition cleared before `for`, without resolving it', () => {
    const s = run({ forMs: 5 * M, keepFiringForMs: 0 }, [75, undefined, 75]);
    expect(s[1]!.alert).toBeUndefined();
    expect(s[1]!.changes).toEqual(['pending->inactive']);
    // It starts over: a new activeAt.
    expect(s[2]!.alert).toMatchObject({ state: 'pending', activeAt: 2 * M });
  });

  test('resolves a firing alert, keeps it 15 minutes, then forgets it', () => {
    const steps: Array<number | undefined> = [75, undefined, ...Array<undefined>(15).fill(undefined), undefined];
    const s = run({ forMs: 0, keepFiringForMs: 0 }, steps);
    expect(s[1]!.alert).toMatchObject({ state: 'inactive', resolvedAt: M, firedAt: 0 });
    expect(s[1]!.changes).toEqual(['firing->inactive']);
    expect(s[16]!.alert?.state).toBe('inactive'); // 15 min after resolvedAt: still kept
    expect(s[16]!.at - M).toBe(RESOLVED_RETENTION_MS);
    expect(s[17]!.alert).toBeUndefined();
  });

  test('a resolved alert that comes back is new: new activeAt, for counts again', () => {
    const s = run({ forMs: M, keepFiringForMs: 0 }, [75, 75, undefined, 75, 75]);
    expect(s[2]!.alert?.state).toBe('inactive');
    expect(s[3]!.alert).toMatchObject({ state: 'pending', activeAt: 3 * M });
    expect(s[3]!.alert?.resolvedAt).toBeUndefined();
    expect(s[4]!.alert).toMatchObject({ state: 'firing', firedAt: 4 * M });
  });

  // Prometheus rules/alerting_test.go TestKeepFiringFor, in spirit.
  test('keep_firing_for keeps a firing alert firing after its condition cleared', () => {
    const s = run({ forMs: 0, keepFiringForMs: 2 * M }, [75, undefined, undefined, undefined]);
    expect(s.map((x) => x.alert?.state)).toEqual(['firing', 'firing', 'firing', 'inactive']);
    expect(s[1]!.alert?.keepFiringSince).toBe(M);
    expect(s[3]!.alert).toMatchObject({ resolvedAt: 3 * M, firedAt: 0 });
    expect(s.map((x) => x.changes)).toEqual([['inactive->firing'], [], [], ['firing->inactive']]);
  });

  test('keep_firing_for starts again when the condition returns', () => {
    const s = run({ forMs: 0, keepFiringForMs: 2 * M }, [75, undefined, 75, undefined, undefined, undefined]);
    expect(s[2]!.alert?.keepFiringSince).toBeUndefined();
    expect(s.map((x) => x.alert?.state)).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'inactive']);
  });

  test('keep_firing_for does not apply to pending alerts', () => {
    const s = run({ forMs: 5 * M, keepFiringForMs: 10 * M }, [75, undefined]);
    expect(s[1]!.alert).toBeUndefined();
  });

  test('never mutates the previous state', () => {
    const prev = evalAlerts(new Map(), hit(), 0, { forMs: M, keepFiringForMs: 0 }).next;
    const snapshot = structuredClone([...prev]);
    evalAlerts(prev, hit(), 2 * M, { forMs: M, keepFiringForMs: 0 });
    evalAlerts(prev, [], 2 * M, { forMs: M, keepFiringForMs: 0 });
    expect([...prev]).toEqual(snapshot);
  });
});

describe('sending', () => {
  const firing: ActiveAlert = { state: 'firing', labels, annotations: {}, value: 1, activeAt: 0, firedAt: 0 };

  test('needsSending: never pending; firing every resend delay; resolved once at once', () => {
    expect(needsSending({ ...firing, state: 'pending' }, 0, M)).toBe(false);
    expect(needsSending(firing, 0, M)).toBe(true);
    expect(needsSending({ ...firing, lastSentAt: 0 }, M, M)).toBe(false);
    expect(needsSending({ ...firing, lastSentAt: 0 }, M + 1, M)).toBe(true);
    expect(needsSending({ ...firing, state: 'inactive', lastSentAt: 30_000, resolvedAt: 40_000 }, 40_000, M)).toBe(true);
    expect(needsSending({ ...firing, state: 'inactive', lastSentAt: 40_000, resolvedAt: 40_000 }, 50_000, M)).toBe(false);
  });

  test('validUntil is 4 × max(interval, resend delay), and endsAt carries it', () => {
    const { next, send } = alertsToSend(new Map([[fp, firing]]), 1000, { intervalMs: 15_000, resendDelayMs: M });
    expect(send).toHaveLength(1);
    expect(next.get(fp)).toMatchObject({ lastSentAt: 1000, validUntil: 1000 + 4 * M });
    expect(toAlert(send[0]!, 'http://x')).toEqual({ labels, annotations: {}, startsAt: 0, endsAt: 1000 + 4 * M, generatorURL: 'http://x', fingerprint: fp });
    const long = alertsToSend(new Map([[fp, firing]]), 0, { intervalMs: 5 * M, resendDelayMs: M }).send[0]!;
    expect(long.validUntil).toBe(20 * M);
  });

  test('a resolved alert is sent with endsAt = resolvedAt', () => {
    const resolved: ActiveAlert = { ...firing, state: 'inactive', resolvedAt: 5 * M, lastSentAt: 4 * M };
    const { send } = alertsToSend(new Map([[fp, resolved]]), 5 * M, { intervalMs: M, resendDelayMs: M });
    expect(toAlert(send[0]!, '').endsAt).toBe(5 * M);
  });

  test('fingerprints do not depend on label order', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: '1', b: '2' })).not.toBe(fingerprint({ a: '1', b: '3' }));
  });
});
