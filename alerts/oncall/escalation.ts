/**
 * Escalation: an alert routed to a policy pages the policy's first level; unless someone
 * acknowledges it within the level's `escalate_after`, the next level is paged, and after the
 * last level the policy starts over `repeat` times. One record per alert (fingerprint) and
 * episode (its startsAt), persisted after every change, so a restart or a standby taking over
 * continues the same escalation — pages what is due, and never a step already paged.
 */
import type { Logger } from '../../core/log.js';
import type { Alert, Clock } from '../model.js';
import type { KeyedStore } from '../store/keyed-store.js';
import { onCallAt, type Schedule } from './schedule.js';

export type Target = { receiver: string } | { schedule: string };

export interface EscalationPolicy {
  name: string;
  levels: ReadonlyArray<{ targets: readonly Target[]; escalateAfterMs: number }>;
  repeat: number;
  nobodyOnCallReceiver?: string | undefined;
}

export interface Page {
  step: number;
  level: number;
  receivers: string[];
  atMs: number;
  /** Set when a level's schedules had nobody on call. */
  nobodyOnCall?: true;
}

export interface EscalationRecord {
  fingerprint: string;
  policy: string;
  /** The alert's startsAt: a new firing episode starts a new escalation. */
  episode: number;
  alert: Alert;
  /** The last step paged, -1 before the first. Step s is level s % levels of round s / levels. */
  step: number;
  /** When the next step is due; absent once acknowledged, resolved or out of steps. */
  nextAtMs?: number;
  acknowledgedBy?: string;
  acknowledgedAtMs?: number;
  owner?: string;
  resolvedAtMs?: number;
  pages: Page[];
}

export interface EscalationsOptions {
  policies: ReadonlyMap<string, EscalationPolicy>;
  schedules: ReadonlyMap<string, Schedule>;
  clock: Clock;
  store: KeyedStore<EscalationRecord>;
  /** Delivers the alert to these receivers; rejects when delivery failed. */
  page(receivers: readonly string[], alert: Alert, rec: EscalationRecord): Promise<void>;
  /** Still muted (silenced, inhibited)? A muted alert does not escalate. */
  isMuted?: (alert: Alert) => boolean;
  log: Logger;
}

/** Records of resolved or finished escalations are kept this long for the API, then dropped. */
const KEEP_DONE_MS = 24 * 3600_000;

export class Escalations {
  private readonly records = new Map<string, EscalationRecord>();
  private readonly timers = new Map<string, { dispose(): void }>();
  /** Per fingerprint, so a timer and a trigger never page the same step twice. */
  private readonly chains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly o: EscalationsOptions) {}

  /** Restores saved escalations and schedules what is due (at once when the time has passed). */
  async load(): Promise<number> {
    const now = this.o.clock.now();
    for (const [fp, rec] of await this.o.store.load()) {
      if (rec.resolvedAtMs !== undefined && rec.resolvedAtMs + KEEP_DONE_MS < now) {
        await this.o.store.put(fp, undefined);
        continue;
      }
      this.records.set(fp, rec);
      this.arm(rec);
    }
    return this.records.size;
  }

  /** A firing alert routed to `policy`: starts its escalation unless this episode already has one. */
  trigger(alert: Alert, policy: string): Promise<void> {
    return this.serial(alert.fingerprint, async () => {
      const rec = this.records.get(alert.fingerprint);
      if (rec && rec.episode === alert.startsAt && rec.resolvedAtMs === undefined) {
        rec.alert = alert;
        return;
      }
      if (!this.o.policies.has(policy)) {
        this.o.log.error({ policy }, 'unknown escalation policy');
        return;
      }
      const fresh: EscalationRecord = { fingerprint: alert.fingerprint, policy, episode: alert.startsAt, alert, step: -1, pages: [] };
      this.records.set(alert.fingerprint, fresh);
      await this.advance(fresh);
    });
  }

  /** The alert resolved: escalation stops; whoever was paged gets the resolve. */
  resolve(alert: Alert): Promise<void> {
    return this.serial(alert.fingerprint, async () => {
      const rec = this.records.get(alert.fingerprint);
      if (!rec || rec.resolvedAtMs !== undefined || rec.episode !== alert.startsAt) return;
      rec.resolvedAtMs = this.o.clock.now();
      rec.alert = alert;
      delete rec.nextAtMs;
      this.disarm(rec.fingerprint);
      const paged = [...new Set(rec.pages.flatMap((p) => p.receivers))];
      await this.o.store.put(rec.fingerprint, rec);
      if (paged.length) await this.o.page(paged, alert, rec).catch((err: unknown) => this.o.log.warn({ fingerprint: rec.fingerprint, err: (err as Error).message }, 'sending the resolve to paged receivers failed'));
    });
  }

  /** Stops the escalation of an alert: someone is on it. undefined when no escalation is known. */
  acknowledge(fingerprint: string, by: string): Promise<EscalationRecord | undefined> {
    return this.serialValue(fingerprint, async () => {
      const rec = this.records.get(fingerprint);
      if (!rec) return undefined;
      if (rec.acknowledgedBy === undefined) {
        rec.acknowledgedBy = by;
        rec.acknowledgedAtMs = this.o.clock.now();
      }
      delete rec.nextAtMs;
      this.disarm(fingerprint);
      await this.o.store.put(fingerprint, rec);
      this.o.log.info({ fingerprint, by, policy: rec.policy, step: rec.step }, 'alert acknowledged; escalation stopped');
      return rec;
    });
  }

  /** Takes ownership: acknowledges and records who owns the incident. */
  own(fingerprint: string, by: string): Promise<EscalationRecord | undefined> {
    return this.serialValue(fingerprint, async () => {
      const rec = this.records.get(fingerprint);
      if (!rec) return undefined;
      rec.owner = by;
      if (rec.acknowledgedBy === undefined) {
        rec.acknowledgedBy = by;
        rec.acknowledgedAtMs = this.o.clock.now();
      }
      delete rec.nextAtMs;
      this.disarm(fingerprint);
      await this.o.store.put(fingerprint, rec);
      this.o.log.info({ fingerprint, by }, 'alert owned; escalation stopped');
      return rec;
    });
  }

  get(fingerprint: string): EscalationRecord | undefined {
    return this.records.get(fingerprint);
  }

  list(): EscalationRecord[] {
    return [...this.records.values()];
  }

  /** Resolves once every change started so far is paged and persisted. */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) t.dispose();
    this.timers.clear();
  }

  /** Receivers a level pages now: its receivers and whoever its schedules have on call. */
  resolveTargets(policy: EscalationPolicy, level: number, nowMs: number): { receivers: string[]; nobodyOnCall: boolean } {
    const receivers = new Set<string>();
    let emptySchedule = false;
    for (const t of policy.levels[level]!.targets) {
      if ('receiver' in t) receivers.add(t.receiver);
      else {
        const s = this.o.schedules.get(t.schedule);
        const c = s ? onCallAt(s, nowMs) : undefined;
        if (c) receivers.add(c.member);
        else emptySchedule = true;
      }
    }
    if (receivers.size === 0 && policy.nobodyOnCallReceiver !== undefined) receivers.add(policy.nobodyOnCallReceiver);
    return { receivers: [...receivers], nobodyOnCall: emptySchedule && receivers.size === 0 ? true : emptySchedule };
  }

  private async advance(rec: EscalationRecord): Promise<void> {
    if (this.stopped) return;
    const policy = this.o.policies.get(rec.policy);
    if (!policy) return;
    const now = this.o.clock.now();
    const steps = policy.levels.length * (policy.repeat + 1);
    const step = rec.step + 1;
    if (step >= steps) {
      delete rec.nextAtMs;
      await this.o.store.put(rec.fingerprint, rec);
      this.o.log.warn({ fingerprint: rec.fingerprint, policy: rec.policy, steps }, 'escalation policy exhausted without an acknowledgement');
      return;
    }
    if (this.o.isMuted?.(rec.alert)) {
      // Muted now (a silence came after the first page): look again after this level's delay.
      rec.nextAtMs = now + policy.levels[rec.step < 0 ? 0 : rec.step % policy.levels.length]!.escalateAfterMs;
      this.arm(rec);
      return;
    }
    const level = step % policy.levels.length;
    const { receivers, nobodyOnCall } = this.resolveTargets(policy, level, now);
    rec.step = step;
    rec.nextAtMs = now + policy.levels[level]!.escalateAfterMs;
    const page: Page = { step, level, receivers, atMs: now, ...(nobodyOnCall ? { nobodyOnCall: true as const } : {}) };
    rec.pages.push(page);
    if (receivers.length === 0) this.o.log.error({ fingerprint: rec.fingerprint, policy: rec.policy, level }, 'nobody on call and no nobody_on_call_receiver: this level pages no one');
    else {
      this.o.log.info({ fingerprint: rec.fingerprint, alertname: rec.alert.labels.alertname, policy: rec.policy, level, step, receivers }, 'paging escalation level');
      await this.o.page(receivers, rec.alert, rec).catch((err: unknown) => this.o.log.error({ fingerprint: rec.fingerprint, receivers, err: (err as Error).message }, 'escalation page failed'));
    }
    this.arm(rec);
    // After the page: a crash in between pages again on restart rather than never.
    await this.o.store.put(rec.fingerprint, rec);
  }

  private arm(rec: EscalationRecord): void {
    this.disarm(rec.fingerprint);
    if (this.stopped || rec.nextAtMs === undefined || rec.acknowledgedBy !== undefined || rec.resolvedAtMs !== undefined) return;
    const fp = rec.fingerprint;
    const t = this.o.clock.setTimer(Math.max(0, rec.nextAtMs - this.o.clock.now()), () => {
      this.timers.delete(fp);
      // Node's timers keep a monotonic clock that can run a millisecond ahead of the wall clock
      // the record is kept in (a page 1,999 ms after the last one was seen): never page early by it.
      if (rec.nextAtMs !== undefined && this.o.clock.now() < rec.nextAtMs) return this.arm(rec);
      void this.serial(fp, async () => {
        const cur = this.records.get(fp);
        if (cur !== rec || rec.acknowledgedBy !== undefined || rec.resolvedAtMs !== undefined) return;
        await this.advance(rec);
      }).catch((err: unknown) => this.o.log.error({ fingerprint: fp, err: (err as Error).message }, 'escalation state could not be saved; it may repeat a page after a restart'));
    });
    this.timers.set(fp, t);
  }

  private disarm(fp: string): void {
    this.timers.get(fp)?.dispose();
    this.timers.delete(fp);
  }

  private serial(fp: string, fn: () => Promise<void>): Promise<void> {
    return this.serialValue(fp, fn);
  }

  private serialValue<T>(fp: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(fp) ?? Promise.resolve();
    const run = prev.then(fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(fp, settled);
    void settled.then(() => {
      if (this.chains.get(fp) === settled) this.chains.delete(fp);
    });
    return run;
  }
}
