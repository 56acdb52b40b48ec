/**
 * Runs rule groups: each at its interval, aligned as Prometheus aligns them (a per-group offset
 * within the interval), and on demand through `evaluateNow` when new samples arrive, debounced to
 * at most one evaluation per `debounceMs` per group so a burst of samples costs one query.
 */
import type { MetricSample } from '../../core/model/records.js';
import type { Logger } from '../../core/log.js';
import { silentLogger } from '../../core/log.js';
import { counter, histogram, type Registry } from '../../core/telemetry/registry.js';
import { Engine } from '../../pipeline/realtime/promql/engine.js';
import type { Querier } from '../../pipeline/realtime/storage.js';
import type { Head } from '../../pipeline/realtime/tsdb/head.js';
import { systemClock, type AlertSink, type Clock, type Labels } from '../model.js';
import { DEFAULT_RESEND_DELAY_MS, type ActiveAlert, type Fingerprint } from './alert-state.js';
import { evalTimestamp, groupOffsetMs, RuleGroup, type AlertStateEvent, type PersistedAlert, type RuleHealth } from './group.js';
import type { RuleGroupSpec } from './rules.js';
import type { LogCounter } from '../logrules/log-counter.js';

export interface AlertStateStoreLike {
  restore(): Promise<Map<string, Map<Fingerprint, ActiveAlert>>>;
  save(entries: PersistedAlert[]): Promise<void>;
}

export interface RuleEvaluatorOptions {
  groups: RuleGroupSpec[];
  /** What rules query; give a HeadQuerier over `head` so recording rules' output is read back at once. */
  querier: Querier;
  /** Where recording rules' output is appended. */
  head?: Head;
  sink: AlertSink;
  engine?: Engine;
  clock?: Clock;
  externalLabels?: Labels;
  /** Base of generatorURL, e.g. the dashboard's URL. */
  externalURL?: string;
  resendDelayMs?: number;
  /** Minimum time between two sample-driven evaluations of a group. Default 100 ms. */
  debounceMs?: number;
  /** Alert state changes, for `pharos.alerts` and `alert_events`. */
  onStateChange?: (e: AlertStateEvent) => void;
  /** Recording rules' output, e.g. `recordedToBus(producer, topic)`. */
  publishRecorded?: (samples: MetricSample[]) => Promise<void>;
  /** publishRecorded feeds `head` back (through the metrics topic): see GroupContext.recordedFlowsBack. */
  recordedFlowsBack?: boolean;
  stateStore?: AlertStateStoreLike;
  /** Counts log lines in the warehouse for log rules. */
  logCounter?: LogCounter;
  log?: Logger;
  registry?: Registry;
}

interface GroupRun {
  group: RuleGroup;
  offsetMs: number;
  timer?: { dispose(): void };
  debounceTimer?: { dispose(): void };
  debounced?: Promise<void>;
  /** Settles `debounced` without evaluating, when stopped before its time came. */
  cancelDebounced?: () => void;
  lastRunAt: number;
}

export class RuleEvaluator {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly runs = new Map<string, GroupRun>();
  private readonly debounceMs: number;
  private running = false;
  private readonly evals;
  private readonly failures;
  private readonly duration;

  constructor(private readonly opts: RuleEvaluatorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger();
    this.debounceMs = opts.debounceMs ?? 100;
    const reg = opts.registry;
    this.evals = reg ? counter(reg, 'pharos_rule_evaluations_total', 'Rule evaluations.', ['rule_group']) : undefined;
    this.failures = reg ? counter(reg, 'pharos_rule_evaluation_failures_total', 'Rule evaluations that failed.', ['rule_group']) : undefined;
    this.duration = reg ? histogram(reg, 'pharos_rule_group_duration_seconds', 'Duration of a rule group evaluation.', ['rule_group']) : undefined;
    const engine = opts.engine ?? new Engine();
    const store = opts.stateStore;
    for (const spec of opts.groups) {
      if (this.runs.has(spec.name)) throw new Error(`rule group "${spec.name}" is defined twice`);
      const group = new RuleGroup(spec, {
        engine,
        querier: opts.querier,
        ...(opts.head ? { head: opts.head } : {}),
        sink: opts.sink,
        externalLabels: opts.externalLabels ?? {},
        externalURL: opts.externalURL ?? '',
        resendDelayMs: opts.resendDelayMs ?? DEFAULT_RESEND_DELAY_MS,
        ...(opts.onStateChange ? { onStateChange: opts.onStateChange } : {}),
        ...(opts.publishRecorded ? { publishRecorded: opts.publishRecorded } : {}),
        ...(opts.recordedFlowsBack ? { recordedFlowsBack: true } : {}),
        ...(store ? { persist: (e: PersistedAlert[]) => store.save(e) } : {}),
        ...(opts.logCounter ? { logCounter: opts.logCounter } : {}),
        onRuleError: (g, rule, err) => {
          this.failures?.inc({ rule_group: g });
          this.log.warn({ group: g, rule, err: err.message }, 'rule evaluation failed; its alerts keep their state until the next evaluation');
        },
        onAsyncError: (what, err) => this.log.warn({ group: spec.name, err: err.message }, `could not ${what} rule output; retried at the next evaluation`),
      });
      this.runs.set(spec.name, { group, offsetMs: groupOffsetMs(spec.file, spec.name, spec.intervalMs), lastRunAt: -Infinity });
    }
  }

  /** Restores alert state from the store, then starts the interval timers. */
  async start(): Promise<void> {
    if (this.opts.stateStore) {
      const saved = await this.opts.stateStore.restore();
      let n = 0;
      for (const r of this.runs.values()) n += r.group.restore(saved);
      this.log.info({ alerts: n }, 'restored alert state');
    }
    this.running = true;
    for (const r of this.runs.values()) this.schedule(r, evalTimestamp(this.clock.now(), r.group.spec.intervalMs, r.offsetMs) + r.group.spec.intervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const r of this.runs.values()) {
      r.timer?.dispose();
      r.debounceTimer?.dispose();
      r.cancelDebounced?.();
      delete r.timer;
      delete r.debounceTimer;
      delete r.debounced;
      delete r.cancelDebounced;
    }
    await this.idle();
  }

  /** Resolves when every evaluation started so far has sent, published and persisted. */
  async idle(): Promise<void> {
    await Promise.all([...this.runs.values()].map((r) => Promise.all([r.group.idle(), r.debounced])));
  }

  /**
   * Evaluates a group (or all) now, because new samples arrived. Calls within `debounceMs` of the
   * group's last evaluation are coalesced into one evaluation when that time is up.
   */
  evaluateNow(groupName?: string): Promise<void> {
    // Groups with log rules query the warehouse: they run at their interval, not on every sample.
    const targets = (groupName === undefined ? [...this.runs.values()] : [this.runs.get(groupName)].filter((r): r is GroupRun => r !== undefined)).filter(
      (r) => !r.group.spec.rules.some((rule) => rule.kind === 'alert' && rule.logs !== undefined),
    );
    return Promise.all(targets.map((r) => this.evaluateDebounced(r))).then(() => {});
  }

  groups(): Array<{ name: string; file: string; intervalMs: number; lastEvalMs: number; rules: RuleHealth[] }> {
    return [...this.runs.values()].map((r) => ({
      name: r.group.spec.name,
      file: r.group.spec.file,
      intervalMs: r.group.spec.intervalMs,
      lastEvalMs: r.group.lastEvalTs,
      rules: r.group.health,
    }));
  }

  alerts(): Array<{ group: string; rule: string; fingerprint: Fingerprint; alert: ActiveAlert }> {
    return [...this.runs.values()].flatMap((r) => r.group.alerts().map((a) => ({ group: r.group.spec.name, ...a })));
  }

  private evaluateDebounced(r: GroupRun): Promise<void> {
    if (r.debounced) return r.debounced;
    const wait = r.lastRunAt + this.debounceMs - this.clock.now();
    if (wait <= 0) return this.run(r, this.clock.now());
    r.debounced = new Promise<void>((resolve) => {
      r.cancelDebounced = resolve;
      r.debounceTimer = this.clock.setTimer(wait, () => {
        delete r.debounceTimer;
        delete r.debounced;
        delete r.cancelDebounced;
        void this.run(r, this.clock.now()).then(resolve);
      });
    });
    return r.debounced;
  }

  private run(r: GroupRun, ts: number): Promise<void> {
    r.lastRunAt = this.clock.now();
    const started = performance.now();
    const name = r.group.spec.name;
    this.evals?.inc({ rule_group: name });
    return r.group.evaluate(ts).then(
      () => this.duration?.observe({ rule_group: name }, (performance.now() - started) / 1000),
      (err: unknown) => this.log.error({ group: name, err: (err as Error).message }, 'rule group evaluation failed'),
    );
  }

  private schedule(r: GroupRun, at: number): void {
    if (!this.running) return;
    r.timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      // A tick takes the aligned time, not the (late) time the timer fired, as Prometheus does;
      // a sample-driven evaluation after it moves time on, so the later one wins.
      const ts = at > r.group.lastEvalTs ? at : this.clock.now();
      void this.run(r, ts);
      let next = at + r.group.spec.intervalMs;
      const now = this.clock.now();
      // Missed ticks (a blocked loop) are skipped, not replayed.
      if (next <= now) next = evalTimestamp(now, r.group.spec.intervalMs, r.offsetMs) + r.group.spec.intervalMs;
      this.schedule(r, next);
    });
  }
}
