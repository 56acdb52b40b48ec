/**
 * The contract between rule evaluation (alerts/rules) and notification (alerts/notify): an
 * alert as Alertmanager receives it from Prometheus. Evaluation sends every active alert on
 * each evaluation (resend), resolved ones with `endsAt` in the past; notification groups,
 * inhibits, silences, deduplicates and delivers.
 */
export type Labels = Readonly<Record<string, string>>;

export interface Alert {
  labels: Labels;
  annotations: Labels;
  /** ms since the epoch. */
  startsAt: number;
  /** ms since the epoch: in the past for a resolved alert, `validUntil` for a firing one. */
  endsAt: number;
  generatorURL: string;
  /** Stable id of the label set (sorted labels hashed). */
  fingerprint: string;
}

export interface AlertSink {
  /** Hands alerts to notification; resolves once they are accepted (not delivered). */
  put(alerts: readonly Alert[]): Promise<void>;
}

/** Injected time, so state machines and timers are tested by stepping a clock. */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): { dispose(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { dispose: () => clearTimeout(t) };
  },
};
