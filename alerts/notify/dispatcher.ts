/**
 * Aggregation groups (Alertmanager `dispatch/dispatch.go`): alerts are grouped per route and
 * group_by labels; a group first flushes after group_wait, then on every group_interval tick.
 * Each flush runs the pipeline with the tick's time as "now"; dedup decides whether anything is
 * actually sent (something changed, or repeat_interval elapsed). Pharos extension: with
 * group_interval 0 a group flushes on every change instead of on ticks.
 * A route inside a mute time interval (or outside its active ones) sends nothing and records
 * nothing, as Alertmanager's TimeMuteStage; the first flush after the window pages what still fires.
 */
import type { Logger } from '../../core/log.js';
import type { Alert, Clock, Labels } from '../model.js';
import type { Route } from './route.js';
import { isFiring, type Stage } from './stages.js';
import type { TimeIntervals } from './time-intervals.js';

class AggrGroup {
  readonly alerts = new Map<string, Alert>();
  private timer: { dispose(): void } | undefined;
  private running = false;
  private again: { silenceEnded: boolean } | undefined;
  private silenceEnded = false;
  /** A flush was skipped because of a time interval: the first flush after it counts as a silence end. */
  private mutedByTime = false;

  constructor(
    readonly key: string,
    readonly labels: Labels,
    readonly route: Route,
    private readonly d: Dispatcher,
  ) {}

  schedule(ms: number): void {
    this.timer?.dispose();
    this.timer = this.d.clock.setTimer(ms, () => void this.tick());
  }

  /** Flushes now instead of at the next tick. */
  flushNow(silenceEnded: boolean): void {
    this.silenceEnded ||= silenceEnded;
    if (this.running) {
      this.again = { silenceEnded: this.silenceEnded };
      return;
    }
    this.schedule(0);
  }

  stop(): void {
    this.timer?.dispose();
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.d.stopped) return;
    this.running = true;
    const nowMs = this.d.clock.now();
    const snapshot = [...this.alerts.values()];
    const o = this.route.opts;
    const timeMute = this.d.routeMuted(this.route, nowMs);
    const silenceEnded = this.silenceEnded || (!timeMute.muted && this.mutedByTime);
    this.silenceEnded = false;
    try {
      if (timeMute.muted) {
        this.mutedByTime = true;
        this.d.log.debug({ group_key: this.key, receiver: o.receiver, muted_by: timeMute.by }, 'route is in a mute time interval; nothing sent');
      } else {
        await this.d.pipeline.exec(
          {
            receiver: o.receiver,
            groupKey: this.key,
            groupLabels: this.labels,
            nowMs,
            repeatIntervalMs: o.repeatIntervalMs,
            signal: this.d.abort.signal,
            log: this.d.log,
            ...(silenceEnded ? { silenceEnded } : {}),
            ...(o.escalationPolicy !== undefined ? { escalationPolicy: o.escalationPolicy } : {}),
          },
          snapshot,
        );
        // Cleared only once delivered: a failed first flush after the window retries as one.
        this.mutedByTime = false;
      }
      // Resolved alerts were delivered (or did not need to be): forget them unless they changed meanwhile.
      // While muted they stay (unlike Alertmanager), so the resolve of a page sent before the window
      // goes out after it and ends the alert's escalation.
      if (!timeMute.muted)
        for (const a of snapshot) if (!isFiring(a, nowMs) && this.alerts.get(a.fingerprint) === a) this.alerts.delete(a.fingerprint);
    } catch (err) {
      if (this.d.stopped) return;
      this.d.log.error({ group_key: this.key, receiver: o.receiver, err: (err as Error).message }, 'notification failed; retried at the next group interval');
    } finally {
      this.running = false;
    }
    if (this.d.stopped) return;
    if (this.alerts.size === 0) {
      this.d.remove(this);
      return;
    }
    const again = this.again;
    this.again = undefined;
    if (again) {
      this.silenceEnded ||= again.silenceEnded;
      this.schedule(0);
    } else if (o.groupIntervalMs > 0) this.schedule(o.groupIntervalMs);
    // group_interval 0 and muted: wake when the window may end, so a firing alert pages at once then.
    else if (timeMute.muted && timeMute.untilMs !== undefined) this.schedule(Math.min(Math.max(0, timeMute.untilMs - nowMs), o.repeatIntervalMs, 2 ** 31 - 1));
    // group_interval 0: every change flushes at once (see Dispatcher.put), so only a repeat is left to wake for.
    else this.schedule(Math.min(o.repeatIntervalMs, 2 ** 31 - 1));
  }
}

export interface GroupView {
  key: string;
  receiver: string;
  labels: Labels;
  alerts: Alert[];
}

export class Dispatcher {
  private readonly groups = new Map<string, AggrGroup>();
  readonly abort = new AbortController();
  stopped = false;

  constructor(
    readonly route: Route,
    readonly pipeline: Stage,
    readonly clock: Clock,
    readonly log: Logger,
    readonly intervals?: TimeIntervals,
  ) {}

  /** Whether a route's time intervals mute it at `nowMs`, and until when. */
  routeMuted(r: Route, nowMs: number, withUntil = r.opts.groupIntervalMs === 0): { muted: boolean; by: string[]; untilMs?: number | undefined } {
    const o = r.opts;
    if (!this.intervals || (o.muteTimeIntervals.length === 0 && o.activeTimeIntervals.length === 0)) return { muted: false, by: [] };
    return this.intervals.routeMuted(o.muteTimeIntervals, o.activeTimeIntervals, nowMs, withUntil);
  }

  /** Names of the time intervals muting these labels, when every route taking them is muted; else empty. */
  timeMutedBy(labels: Labels, nowMs: number): string[] {
    const states = this.route.match(labels).map((r) => this.routeMuted(r, nowMs, false));
    return states.every((s) => s.muted) ? [...new Set(states.flatMap((s) => s.by))] : [];
  }

  /** Whether every route paging these labels through an escalation policy is muted by a time interval now. */
  escalationMuted(labels: Labels, nowMs: number): boolean {
    const rs = this.route.match(labels).filter((r) => r.opts.escalationPolicy !== undefined);
    return rs.length > 0 && rs.every((r) => this.routeMuted(r, nowMs, false).muted);
  }

  put(alert: Alert): void {
    if (this.stopped) return;
    for (const r of this.route.match(alert.labels)) {
      const labels = r.groupLabels(alert.labels);
      const key = r.groupKey(labels);
      let g = this.groups.get(key);
      if (!g) {
        g = new AggrGroup(key, labels, r, this);
        this.groups.set(key, g);
        g.alerts.set(alert.fingerprint, alert);
        // An alert that started long ago (e.g. re-sent after a restart) has waited long enough.
        const now = this.clock.now();
        g.schedule(alert.startsAt + r.opts.groupWaitMs <= now ? 0 : r.opts.groupWaitMs);
      } else {
        const prev = g.alerts.get(alert.fingerprint);
        g.alerts.set(alert.fingerprint, alert);
        // With group_interval 0 a change (a new alert, one resolving) is sent at once rather than at
        // a tick: sample-driven evaluation then resolves as fast as it fires.
        if (r.opts.groupIntervalMs === 0) {
          const now = this.clock.now();
          if (!prev || isFiring(prev, now) !== isFiring(alert, now)) g.flushNow(false);
        }
      }
    }
  }

  /** Flushes at once every group holding an alert whose labels satisfy `pred`. */
  flushMatching(pred: (labels: Labels) => boolean, silenceEnded: boolean): number {
    let n = 0;
    for (const g of this.groups.values()) {
      if ([...g.alerts.values()].some((a) => pred(a.labels))) {
        g.flushNow(silenceEnded);
        n++;
      }
    }
    return n;
  }

  /** Receivers an alert's labels route to. */
  receivers(labels: Labels): string[] {
    return [...new Set(this.route.match(labels).map((r) => r.opts.receiver))];
  }

  list(): GroupView[] {
    return [...this.groups.values()].map((g) => ({ key: g.key, receiver: g.route.opts.receiver, labels: g.labels, alerts: [...g.alerts.values()] }));
  }

  remove(g: AggrGroup): void {
    g.stop();
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
  }

  stop(): void {
    this.stopped = true;
    for (const g of this.groups.values()) g.stop();
    this.groups.clear();
    this.abort.abort(new Error('notifications stopped'));
  }
}
