/**
 * The alert state machine of one alerting rule, as Prometheus's `AlertingRule.Eval` and
 * `sendAlerts` define it (rules/alerting.go). Pure and synchronous (STYLE §5): time and the query
 * result are arguments, the previous state is never mutated, and the same function serves the
 * interval and the sample-driven evaluation.
 */
import { createHash } from 'node:crypto';
import type { Alert, Labels } from '../model.js';

export type AlertState = 'inactive' | 'pending' | 'firing';

export type Fingerprint = string;

export interface ActiveAlert {
  state: AlertState;
  labels: Labels;
  annotations: Labels;
  value: number;
  activeAt: number;
  firedAt?: number;
  /** Set once a firing alert stopped; such an alert is inactive and reported as resolved. */
  resolvedAt?: number;
  keepFiringSince?: number;
  lastSentAt?: number;
  validUntil?: number;
}

/** One element of an alerting rule's result, with its final labels and annotations. */
export interface AlertSample {
  labels: Labels;
  annotations: Labels;
  value: number;
}

export interface RuleTiming {
  forMs: number;
  keepFiringForMs: number;
}

export interface AlertChange {
  fingerprint: Fingerprint;
  labels: Labels;
  from: AlertState;
  to: AlertState;
  value: number;
  alert: ActiveAlert;
}

/** How long a resolved alert is kept (and re-sent), as Prometheus's `resolvedRetention`. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** Prometheus's `--rules.alert.resend-delay` default. */
export const DEFAULT_RESEND_DELAY_MS = 60_000;

/** Stable id of a label set: sorted name/value pairs hashed, whatever the property order. */
export function fingerprint(labels: Labels): Fingerprint {
  const h = createHash('sha256');
  for (const k of Object.keys(labels).sort()) h.update(k).update('\xff').update(labels[k]!).update('\xfe');
  return h.digest('hex').slice(0, 16);
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${String(x)}`);
}

export function evalAlerts(
  prev: ReadonlyMap<Fingerprint, ActiveAlert>,
  result: readonly AlertSample[],
  atMs: number,
  rule: RuleTiming,
): { next: Map<Fingerprint, ActiveAlert>; changes: AlertChange[] } {
  const next = new Map<Fingerprint, ActiveAlert>();
  const changes: AlertChange[] = [];
  const inResult = new Set<Fingerprint>();
  const before = new Map<Fingerprint, AlertState>();
  for (const [fp, a] of prev) before.set(fp, a.state);

  for (const s of result) {
    const fp = fingerprint(s.labels);
    // Duplicate label sets are a rule bug (Prometheus fails the evaluation); the first one wins.
    if (inResult.has(fp)) continue;
    inResult.add(fp);
    const old = prev.get(fp);
    if (old && old.state !== 'inactive') {
      next.set(fp, { ...old, labels: s.labels, annotations: s.annotations, value: s.value });
    } else {
      // A resolved alert that comes back is a new one: a new activeAt, and `for` starts again.
      before.set(fp, 'inactive');
      next.set(fp, { state: 'pending', labels: s.labels, annotations: s.annotations, value: s.value, activeAt: atMs });
    }
  }

  for (const [fp, old] of prev) {
    if (inResult.has(fp)) continue;
    const a: ActiveAlert = { ...old };
    let keepFiring = false;
    if (a.state === 'firing' && rule.keepFiringForMs > 0) {
      a.keepFiringSince ??= atMs;
      if (atMs - a.keepFiringSince < rule.keepFiringForMs) keepFiring = true;
    }
    if (keepFiring) {
      next.set(fp, a);
      continue;
    }
    switch (a.state) {
      case 'pending':
        // Never fired, so nothing to resolve: dropped.
        changes.push({ fingerprint: fp, labels: a.labels, from: 'pending', to: 'inactive', value: a.value, alert: { ...a, state: 'inactive' } });
        continue;
      case 'firing':
        a.state = 'inactive';
        a.resolvedAt = atMs;
        next.set(fp, a);
        continue;
      case 'inactive':
        if (a.resolvedAt !== undefined && atMs - a.resolvedAt > RESOLVED_RETENTION_MS) continue;
        next.set(fp, a);
        continue;
      default:
        assertNever(a.state);
    }
  }

  for (const [fp, a] of next) {
    if (inResult.has(fp)) {
      if (a.keepFiringSince !== undefined) delete a.keepFiringSince;
      if (a.state === 'pending' && atMs - a.activeAt >= rule.forMs) {
        a.state = 'firing';
        a.firedAt = atMs;
      }
    }
    const from = before.get(fp) ?? 'inactive';
    if (from !== a.state) changes.push({ fingerprint: fp, labels: a.labels, from, to: a.state, value: a.value, alert: a });
  }
  return { next, changes };
}

/** Prometheus's `needsSending`: pending never; resolved since the last send; else every resendDelay. */
export function needsSending(a: ActiveAlert, atMs: number, resendDelayMs: number): boolean {
  switch (a.state) {
    case 'pending':
      return false;
    case 'inactive':
    case 'firing':
      if (a.resolvedAt !== undefined && (a.lastSentAt === undefined || a.resolvedAt > a.lastSentAt)) return true;
      return a.lastSentAt === undefined || a.lastSentAt + resendDelayMs < atMs;
    default:
      return assertNever(a.state);
  }
}

export interface SendTiming {
  intervalMs: number;
  resendDelayMs: number;
}

/**
 * The alerts due to be sent at `atMs`, and the state with their `lastSentAt`/`validUntil` moved.
 * `validUntil` = 4 × max(interval, resendDelay), so the alerts of an evaluator that died expire in
 * Alertmanager on their own.
 */
export function alertsToSend(
  active: ReadonlyMap<Fingerprint, ActiveAlert>,
  atMs: number,
  timing: SendTiming,
): { next: Map<Fingerprint, ActiveAlert>; send: ActiveAlert[] } {
  const next = new Map<Fingerprint, ActiveAlert>();
  const send: ActiveAlert[] = [];
  const delta = Math.max(timing.intervalMs, timing.resendDelayMs);
  for (const [fp, a] of active) {
    if (!needsSending(a, atMs, timing.resendDelayMs)) {
      next.set(fp, a);
      continue;
    }
    const sent = { ...a, lastSentAt: atMs, validUntil: atMs + 4 * delta };
    next.set(fp, sent);
    send.push(sent);
  }
  return { next, send };
}

/** The Alert handed to notification: startsAt is when it fired, endsAt resolvedAt or validUntil. */
export function toAlert(a: ActiveAlert, generatorURL: string): Alert {
  return {
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.firedAt ?? a.activeAt,
    endsAt: a.resolvedAt ?? a.validUntil ?? a.activeAt,
    generatorURL,
    fingerprint: fingerprint(a.labels),
  };
}
