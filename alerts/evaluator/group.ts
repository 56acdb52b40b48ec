/**
 * One rule group: its rules evaluated in order at one timestamp, as Prometheus's `Group.Eval`.
 * Queries and state transitions run synchronously (no `await` between reading the store and
 * moving the state, so no lock); sending, publishing and persisting follow, and evaluations of
 * one group are serialized so they never interleave.
 */
import type { MetricSample } from '../../core/model/records.js';
import type { Engine } from '../../pipeline/realtime/promql/engine.js';
import type { Querier } from '../../pipeline/realtime/storage.js';
import { Head } from '../../pipeline/realtime/tsdb/head.js';
import { HeadQuerier } from '../../pipeline/realtime/tsdb/querier.js';
import { OverlayQuerier } from './overlay-querier.js';
import type { Alert, AlertSink, Labels } from '../model.js';
import { expandTemplate } from '../rules/template.js';
import {
  alertsToSend,
  evalAlerts,
  toAlert,
  type ActiveAlert,
  type AlertChange,
  type AlertSample,
  type AlertState,
  type Fingerprint,
} from './alert-state.js';
import type { AlertingRuleSpec, RecordingRuleSpec, RuleGroupSpec } from './rules.js';
import type { LogCounter } from '../logrules/log-counter.js';

/** An alert state change, for `pharos.alerts` and `alert_events`. */
export interface AlertStateEvent {
  atMs: number;
  group: string;
  rule: string;
  fingerprint: Fingerprint;
  labels: Labels;
  annotations: Labels;
  from: AlertState;
  to: AlertState;
  value: number;
  activeAt: number;
  firedAt?: number;
  resolvedAt?: number;
}

/** What the state store keeps per alert; `alert` undefined means the alert is gone. */
export interface PersistedAlert {
  group: string;
  rule: string;
  fingerprint: Fingerprint;
  alert?: ActiveAlert;
}

export interface GroupContext {
  engine: Engine;
  querier: Querier;
  head?: Head;
  sink: AlertSink;
  externalLabels: Labels;
  externalURL: string;
  resendDelayMs: number;
  onStateChange?: (e: AlertStateEvent) => void;
  publishRecorded?: (samples: MetricSample[]) => Promise<void>;
  /**
   * publishRecorded feeds the topic `head` is filled from: recorded samples reach the head from
   * there, and the rest of the group reads them from an overlay meanwhile (appending them here
   * too would make them come back as duplicates).
   */
  recordedFlowsBack?: boolean;
  persist?: (entries: PersistedAlert[]) => Promise<void>;
  onRuleError?: (group: string, rule: string, err: Error) => void;
  onAsyncError?: (what: 'send' | 'publish' | 'persist', err: Error) => void;
  /** Evaluates log rules against the warehouse; without it a log rule fails with a clear error. */
  logCounter?: LogCounter;
}

type Samples = Array<{ metric: Labels; v: number }>;

export interface RuleHealth {
  rule: string;
  lastEvalMs?: number;
  lastError?: string;
}

/** Key of a rule's alerts in the state store and in `restore`. */
export function ruleKey(group: string, rule: string): string {
  return `${group}/${rule}`;
}

export class RuleGroup {
  /** Alert state per alerting rule, by rule index. */
  private readonly active: Map<Fingerprint, ActiveAlert>[];
  readonly health: RuleHealth[];
  lastEvalTs = -Infinity;
  private chain: Promise<void> = Promise.resolve();
  /** This evaluation's recorded samples, when they flow back through the topic. */
  private overlay: { head: Head; querier: OverlayQuerier } | undefined;

  constructor(
    readonly spec: RuleGroupSpec,
    private readonly ctx: GroupContext,
  ) {
    this.active = spec.rules.map(() => new Map());
    this.health = spec.rules.map((r) => ({ rule: r.name }));
  }

  /** Replaces the state of the group's alerting rules from the store (before the first evaluation). */
  restore(byRule: ReadonlyMap<string, ReadonlyMap<Fingerprint, ActiveAlert>>): number {
    let n = 0;
    this.spec.rules.forEach((r, i) => {
      const saved = r.kind === 'alert' ? byRule.get(ruleKey(this.spec.name, r.name)) : undefined;
      if (!saved) return;
      // Sent again at the first evaluation, as Prometheus does after a restart: notification may
      // have restarted too and needs the alert back; its notification log keeps it from paging twice.
      const m = new Map<Fingerprint, ActiveAlert>();
      for (const [fp, a] of saved) {
        const { lastSentAt: _sent, validUntil: _valid, ...rest } = a;
        m.set(fp, rest);
      }
      this.active[i] = m;
      n += saved.size;
    });
    return n;
  }

  alerts(): Array<{ rule: string; fingerprint: Fingerprint; alert: ActiveAlert }> {
    const out: Array<{ rule: string; fingerprint: Fingerprint; alert: ActiveAlert }> = [];
    this.spec.rules.forEach((r, i) => {
      for (const [fingerprint, alert] of this.active[i]!) out.push({ rule: r.name, fingerprint, alert });
    });
    return out;
  }

  /** Evaluates at `ts`; resolves when sends, publishes and persistence of this evaluation are done. */
  evaluate(ts: number): Promise<void> {
    const run = this.chain.then(() => this.evaluateOnce(ts));
    this.chain = run.catch(() => {});
    return run;
  }

  /** Resolves when every evaluation queued so far has finished. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async evaluateOnce(ts: number): Promise<void> {
    if (ts <= this.lastEvalTs) return;
    this.lastEvalTs = ts;
    this.overlay = undefined;
    // Log rules query the warehouse (async) first; the state transitions below stay synchronous.
    const fromLogs = new Map<number, Samples | Error>();
    await Promise.all(
      this.spec.rules.map(async (rule, i) => {
        if (rule.kind !== 'alert' || !rule.logs) return;
        if (!this.ctx.logCounter) return void fromLogs.set(i, new Error('log rules need the warehouse (no log counter configured)'));
        try {
          fromLogs.set(i, await this.ctx.logCounter.evaluate(rule.logs, ts));
        } catch (e) {
          fromLogs.set(i, e instanceof Error ? e : new Error(String(e)));
        }
      }),
    );
    const toSend: Alert[] = [];
    const recorded: MetricSample[] = [];
    const persist: PersistedAlert[] = [];
    this.spec.rules.forEach((rule, i) => {
      try {
        if (rule.kind === 'record') recorded.push(...this.record(rule, ts));
        else this.alert(rule, i, ts, toSend, persist, fromLogs.get(i));
        this.health[i] = { rule: rule.name, lastEvalMs: ts };
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        // A failing rule does not stop the group; its alerts keep their state, as in Prometheus.
        this.health[i] = { rule: rule.name, lastEvalMs: ts, lastError: err.message };
        this.ctx.onRuleError?.(this.spec.name, rule.name, err);
      }
    });
    const work: Promise<void>[] = [];
    if (toSend.length) work.push(this.ctx.sink.put(toSend).catch((e: unknown) => this.ctx.onAsyncError?.('send', e as Error)));
    if (recorded.length && this.ctx.publishRecorded) {
      work.push(this.ctx.publishRecorded(recorded).catch((e: unknown) => this.ctx.onAsyncError?.('publish', e as Error)));
    }
    await Promise.all(work);
    // After the send: a restart then finds lastSentAt of an alert that notification accepted.
    if (persist.length && this.ctx.persist) await this.ctx.persist(persist).catch((e: unknown) => this.ctx.onAsyncError?.('persist', e as Error));
  }

  private query(expr: RecordingRuleSpec['expr'], ts: number): Array<{ metric: Labels; v: number }> {
    const r = this.ctx.engine.instantQuery(this.overlay?.querier ?? this.ctx.querier, expr, ts);
    switch (r.resultType) {
      case 'vector':
        return r.samples;
      case 'scalar':
        return [{ metric: {}, v: r.v }];
      case 'string':
      case 'matrix':
        throw new Error(`rule result is a ${r.resultType}, not an instant vector or scalar`);
    }
  }

  private record(rule: RecordingRuleSpec, ts: number): MetricSample[] {
    const samples = this.query(rule.expr, ts);
    if (this.spec.limit > 0 && samples.length > this.spec.limit) throw new Error(`${samples.length} series exceed the limit of ${this.spec.limit}`);
    const out: MetricSample[] = samples.map((s) => {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.metric)) if (k !== '__name__') labels[k] = v;
      Object.assign(labels, rule.labels);
      return { name: rule.name, labels, timestampMs: ts, value: s.v, type: 'gauge' };
    });
    // Appended before the next rule runs, so later rules of the group read this output at once.
    if (this.ctx.recordedFlowsBack && this.ctx.publishRecorded) {
      if (out.length && !this.overlay) {
        const head = new Head();
        this.overlay = { head, querier: new OverlayQuerier(this.ctx.querier, new HeadQuerier(head)) };
      }
      for (const s of out) this.overlay?.head.append(s);
    } else if (this.ctx.head) for (const s of out) this.ctx.head.append(s);
    return out;
  }

  private alert(rule: AlertingRuleSpec, i: number, ts: number, toSend: Alert[], persist: PersistedAlert[], fromLogs: Samples | Error | undefined): void {
    if (fromLogs instanceof Error) throw fromLogs;
    const samples = rule.logs ? (fromLogs ?? []) : this.query(rule.expr!, ts);
    const seen = new Set<string>();
    const result: AlertSample[] = samples.map((s) => {
      const data = { labels: s.metric, value: s.v, externalLabels: this.ctx.externalLabels, externalURL: this.ctx.externalURL };
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.metric)) if (k !== '__name__') labels[k] = v;
      for (const [k, t] of rule.labels) labels[k] = expandTemplate(t, data);
      labels.alertname = rule.name;
      const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
      // Two series that differ only in __name__ would become one alert; Prometheus fails the rule.
      if (seen.has(key)) throw new Error('vector contains metrics with the same labelset after applying alert labels');
      seen.add(key);
      const annotations: Record<string, string> = {};
      for (const [k, t] of rule.annotations) annotations[k] = expandTemplate(t, data);
      return { labels, annotations, value: s.v };
    });
    const { next, changes } = evalAlerts(this.active[i]!, result, ts, rule);
    if (this.spec.limit > 0) {
      let n = 0;
      for (const a of next.values()) if (a.state !== 'inactive') n++;
      // Prometheus drops every alert of the rule when the limit is exceeded, rather than an arbitrary subset.
      if (n > this.spec.limit) throw new Error(`exceeded limit of ${this.spec.limit} with ${n} alerts`);
    }
    const { next: sent, send } = alertsToSend(next, ts, { intervalMs: this.spec.intervalMs, resendDelayMs: this.ctx.resendDelayMs });
    this.active[i] = sent;
    const url = this.generatorURL(rule);
    for (const a of send) toSend.push(toAlert(a, url));
    for (const c of changes) this.emit(rule, c, ts, sent, persist);
  }

  private emit(rule: AlertingRuleSpec, c: AlertChange, ts: number, state: ReadonlyMap<Fingerprint, ActiveAlert>, persist: PersistedAlert[]): void {
    const now = state.get(c.fingerprint);
    persist.push({ group: this.spec.name, rule: rule.name, fingerprint: c.fingerprint, ...(now ? { alert: now } : {}) });
    const a = now ?? c.alert;
    this.ctx.onStateChange?.({
      atMs: ts,
      group: this.spec.name,
      rule: rule.name,
      fingerprint: c.fingerprint,
      labels: c.labels,
      annotations: a.annotations,
      from: c.from,
      to: c.to,
      value: c.value,
      activeAt: a.activeAt,
      ...(a.firedAt !== undefined ? { firedAt: a.firedAt } : {}),
      ...(a.resolvedAt !== undefined ? { resolvedAt: a.resolvedAt } : {}),
    });
  }

  private generatorURL(rule: AlertingRuleSpec): string {
    if (!this.ctx.externalURL) return '';
    return `${this.ctx.externalURL.replace(/\/$/, '')}/graph?g0.expr=${encodeURIComponent(rule.exprText)}&g0.tab=1`;
  }
}

/** Prometheus's group offset: a hash of file and name spreads groups over their interval. */
export function groupOffsetMs(file: string, name: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${file}\xff${name}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % intervalMs;
}

/** The latest aligned evaluation time at or before `nowMs` (Prometheus's `EvalTimestamp`). */
export function evalTimestamp(nowMs: number, intervalMs: number, offsetMs: number): number {
  const adj = nowMs - offsetMs;
  return adj - (((adj % intervalMs) + intervalMs) % intervalMs) + offsetMs;
}
