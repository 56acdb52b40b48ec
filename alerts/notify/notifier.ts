/**
 * Notifications: the AlertSink rule evaluation hands alerts to. Wires the Alertmanager pipeline
 * (inhibit → silence → per receiver integration [dedup → retry (→ fallback) → record → log]) behind
 * a dispatcher of aggregation groups.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../../core/log.js';
import { counter, gauge, histogram, type Registry } from '../../core/telemetry/registry.js';
import { systemClock, type Alert, type AlertSink, type Clock, type Labels } from '../model.js';
import type { NotifyConfig, ReceiverConfig } from './config.js';
import { dedupStage, setNotifiesStage } from './dedup-stage.js';
import { Dispatcher } from './dispatcher.js';
import { durationMs } from '../rules/duration.js';
import { EmailNotifier } from './email.js';
import { Inhibitor } from './inhibit.js';
import { matchesAll, compileMatcher } from './matchers.js';
import { muteStage } from './mute-stage.js';
import { FileNotificationLogStore, NotificationLog, type NotificationLogStore } from './notification-log.js';
import { PagerdutyNotifier } from './pagerduty.js';
import { recordStage, type NotificationEvent } from './record-stage.js';
import { fallbackStage, retryStage, type RetryOptions } from './retry-stage.js';
import { Route } from './route.js';
import { FileSilenceStore, Silences, type Silence, type SilenceEvent, type SilenceStore } from './silences.js';
import { SlackNotifier } from './slack.js';
import { byReceiver, fanout, isFiring, sequence, stage, type Notifier, type Stage } from './stages.js';
import { WebhookNotifier } from './webhook.js';
import { TimeIntervals, type IntervalStatus } from './time-intervals.js';
import { buildPolicies, buildSchedules } from '../oncall/build.js';
import { Escalations, type EscalationRecord } from '../oncall/escalation.js';
import type { Schedule } from '../oncall/schedule.js';
import { FileKeyedStore, MemoryKeyedStore, type KeyedStore } from '../store/keyed-store.js';

export interface NotificationsOptions {
  config: NotifyConfig;
  log: Logger;
  registry?: Registry | undefined;
  clock?: Clock | undefined;
  /** Defaults to a file store at `config.notification_log_file`, else memory only (restarts may re-page). */
  logStore?: NotificationLogStore | undefined;
  /** Defaults to a file store at `config.silences_file`, else memory only. */
  silenceStore?: SilenceStore | undefined;
  /** Each delivery, sent or failed: write it to `alert_events`. */
  onNotification?: ((e: NotificationEvent) => void) | undefined;
  /** Silence created / expiring soon / expired: publish or notify as wanted. */
  onSilenceEvent?: ((e: SilenceEvent) => void) | undefined;
  /** Reads `*_file` secrets; injected for tests. */
  readSecretFile?: ((path: string) => string) | undefined;
  /** Jitter source in [0, 1); injected for deterministic tests. */
  rng?: (() => number) | undefined;
  /** Escalation state; defaults to a file at `config.escalation_state_file`, else memory only. */
  escalationStore?: KeyedStore<EscalationRecord> | undefined;
}

export type AlertState = 'active' | 'suppressed';

/** An alert as `GET /api/v2/alerts` shows it. */
export interface AlertStatus {
  alert: Alert;
  state: AlertState;
  silencedBy: string[];
  inhibitedBy: string[];
  /** Time intervals muting every route the alert takes (Alertmanager `mutedBy`). */
  mutedBy: string[];
  receivers: string[];
  updatedAt: number;
}

/** How long a resolved alert is still shown and kept for inhibition bookkeeping. */
const RESOLVED_RETENTION_MS = 15 * 60_000;

interface Integration {
  name: string;
  notifier: Notifier;
  sendResolved: boolean;
}

export class Notifications implements AlertSink {
  readonly silences: Silences;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly alerts = new Map<string, { alert: Alert; updatedAt: number }>();
  private readonly inhibitor: Inhibitor;
  private readonly nflog: NotificationLog;
  private readonly dispatcher: Dispatcher;
  private silencesSaved: Promise<void> = Promise.resolve();
  /** On-call escalation of alerts routed to an escalation policy; acknowledged through the API. */
  readonly escalations: Escalations;
  readonly schedules: ReadonlyMap<string, Schedule>;
  /** The config's named `time_intervals`, muting or activating routes. */
  readonly timeIntervals: TimeIntervals;

  /** Loads the notification log before accepting alerts, so nothing already sent is sent again. */
  static async start(opts: NotificationsOptions): Promise<Notifications> {
    const store = opts.logStore ?? (opts.config.notification_log_file ? new FileNotificationLogStore(opts.config.notification_log_file, durationMs(opts.config.notification_log_retention)) : undefined);
    const nflog = new NotificationLog(store, durationMs(opts.config.notification_log_retention));
    const silenceStore = opts.silenceStore ?? (opts.config.silences_file ? new FileSilenceStore(opts.config.silences_file) : undefined);
    // Read together: on Kafka each is a topic read to its end, and a standby taking over waits for all.
    const [, loaded] = await Promise.all([nflog.load(), silenceStore?.load()]);
    const silences = loaded ?? [];
    const n = new Notifications(opts, nflog, silenceStore, silences);
    const restored = await n.escalations.load();
    if (restored > 0) opts.log.info({ escalations: restored }, 'restored escalation state');
    return n;
  }

  private constructor(opts: NotificationsOptions, nflog: NotificationLog, silenceStore: SilenceStore | undefined, saved: readonly Silence[]) {
    const cfg = opts.config;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log;
    this.nflog = nflog;
    const registry = opts.registry;
    const sent = registry ? counter(registry, 'pharos_alerts_notifications_total', 'Notifications delivered or failed, per receiver integration.', ['receiver', 'status']) : undefined;
    const latency = registry ? histogram(registry, 'pharos_alerts_notification_latency_seconds', 'Duration of one delivery attempt.', ['receiver'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]) : undefined;

    this.silences = new Silences({
      clock: this.clock,
      noticeLeadMs: durationMs(cfg.silence_expiry_notice),
      onChange: (all) => {
        this.silencesSaved = (silenceStore?.save(all) ?? Promise.resolve()).catch((err: unknown) => {
          this.log.error({ err: (err as Error).message }, 'cannot save silences; they are lost on restart');
        });
      },
      onEvent: (e) => {
        if (e.kind === 'expired') {
          // A silence ending while its alert fires pages now, not a group or repeat interval later.
          const n = this.dispatcher.flushMatching((l) => this.silences.matches(e.silence.id, l), true);
          this.log.info({ silence_id: e.silence.id, groups: n }, 'silence expired');
        } else if (e.kind === 'expiring_soon') {
          this.log.info({ silence_id: e.silence.id, ends_at: new Date(e.silence.endsAt).toISOString() }, 'silence expires soon');
        }
        opts.onSilenceEvent?.(e);
      },
    });
    this.silences.restore(saved);
    if (registry) {
      const silences = this.silences;
      const clock = this.clock;
      gauge(registry, 'pharos_alerts_silences', 'Silences by state.', ['state'], function collect() {
        this.reset();
        for (const [state, n] of Object.entries(silences.countByState(clock.now()))) this.set({ state }, n);
      });
    }
    this.inhibitor = new Inhibitor(cfg.inhibit_rules, () => [...this.alerts.values()].map((e) => e.alert));

    const readSecret = (path: string) => (opts.readSecretFile ?? ((p: string) => readFileSync(p, 'utf8')))(path).trim();
    const retry: RetryOptions = {
      clock: this.clock,
      deadlineMs: durationMs(cfg.delivery.deadline),
      initialBackoffMs: durationMs(cfg.delivery.initial_backoff),
      maxBackoffMs: durationMs(cfg.delivery.max_backoff),
      rng: opts.rng ?? Math.random,
      onAttempt: (integration, _result, seconds) => latency?.observe({ receiver: integration }, seconds),
    };
    const onEvent = (e: NotificationEvent) => {
      sent?.inc({ receiver: e.receiver, status: e.status });
      try {
        opts.onNotification?.(e);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'notification event handler failed');
      }
    };
    const integrations = new Map<string, Integration[]>(cfg.receivers.map((r) => [r.name, buildIntegrations(r, cfg.external_url, readSecret)]));
    const deliver = (i: Integration) => recordStage(retryStage(i.notifier, i.name, retry), i.name, this.clock, onEvent);
    const fallbackIntegrations = cfg.fallback_receiver !== undefined ? (integrations.get(cfg.fallback_receiver) ?? []) : [];
    const pipelines = new Map<string, Stage>();
    for (const [name, list] of integrations) {
      const fallback = name !== cfg.fallback_receiver && fallbackIntegrations.length > 0 ? fanout(...fallbackIntegrations.map(deliver)) : undefined;
      pipelines.set(
        name,
        fanout(
          ...list.map((i) =>
            sequence(
              dedupStage(this.nflog, i.name, i.sendResolved),
              onlyWhatIsSent(i, fallbackStage(deliver(i), fallback, cfg.fallback_after_failures)),
              setNotifiesStage(this.nflog, i.name),
            ),
          ),
        ),
      );
    }
    // Escalation pages go straight to a receiver's integrations: the escalation record, not the
    // group's notification log entry, says what was paged.
    const pagers = new Map<string, Stage>();
    for (const [name, list] of integrations) pagers.set(name, fanout(...list.map((i) => onlyWhatIsSent(i, deliver(i)))));
    this.schedules = buildSchedules(cfg.oncall);
    this.timeIntervals = new TimeIntervals([...cfg.time_intervals, ...cfg.mute_time_intervals]);
    this.escalations = new Escalations({
      policies: buildPolicies(cfg.oncall),
      schedules: this.schedules,
      clock: this.clock,
      store: opts.escalationStore ?? (cfg.escalation_state_file ? new FileKeyedStore<EscalationRecord>(cfg.escalation_state_file) : new MemoryKeyedStore<EscalationRecord>()),
      // A route in a mute time interval pages no one: its escalation waits, as its group does.
      isMuted: (a) =>
        this.inhibitor.mutedBy(a.labels, this.clock.now()).length > 0 ||
        this.silences.mutedBy(a.labels, this.clock.now()).length > 0 ||
        this.dispatcher.escalationMuted(a.labels, this.clock.now()) ||
        // Resolved while muted: its group sends the resolve (and ends the escalation) at its next flush.
        this.knownResolved(a.fingerprint),
      page: async (receivers, alert, rec) => {
        const nowMs = this.clock.now();
        await Promise.all(
          receivers.map((r) =>
            pagers.get(r)!.exec(
              { receiver: r, groupKey: `escalation:${rec.policy}:${alert.fingerprint}`, groupLabels: alert.labels, nowMs, repeatIntervalMs: 0, signal: this.dispatcher.abort.signal, log: this.log },
              [alert],
            ),
          ),
        );
      },
      log: this.log,
    });
    const escalate = stage(async (ctx, alerts) => {
      const policy = ctx.escalationPolicy;
      if (policy !== undefined) {
        // Not awaited: the route's own receiver is notified without waiting for the pages.
        for (const a of alerts) {
          void (isFiring(a, ctx.nowMs) ? this.escalations.trigger(a, policy) : this.escalations.resolve(a)).catch((err: unknown) =>
            this.log.error({ fingerprint: a.fingerprint, policy, err: (err as Error).message }, 'escalation state could not be saved; it may repeat a page after a restart'),
          );
        }
      }
      return alerts;
    });
    const pipeline = sequence(muteStage(this.inhibitor), muteStage(this.silences), escalate, byReceiver(pipelines));
    this.dispatcher = new Dispatcher(new Route(cfg.route), pipeline, this.clock, this.log, this.timeIntervals);
  }

  async put(alerts: readonly Alert[]): Promise<void> {
    const now = this.clock.now();
    for (const a of alerts) {
      const prev = this.alerts.get(a.fingerprint)?.alert;
      // Same episode: keep when it began. A firing alert after a resolved one is a new episode.
      const merged = prev && !(prev.endsAt <= now && isFiring(a, now)) && prev.startsAt < a.startsAt ? { ...a, startsAt: prev.startsAt } : a;
      this.alerts.set(a.fingerprint, { alert: merged, updatedAt: now });
      this.dispatcher.put(merged);
    }
    for (const [fp, e] of this.alerts) if (!isFiring(e.alert, now) && e.alert.endsAt + RESOLVED_RETENTION_MS < now) this.alerts.delete(fp);
    this.silences.checkUntilResolved(this.firingLabels(now));
  }

  /** Current alerts (resolved ones only with `includeResolved`), with why they are suppressed. */
  list(opts: { includeResolved?: boolean } = {}): AlertStatus[] {
    const now = this.clock.now();
    const out: AlertStatus[] = [];
    for (const { alert, updatedAt } of this.alerts.values()) {
      if (!opts.includeResolved && !isFiring(alert, now)) continue;
      const silencedBy = this.silences.mutedBy(alert.labels, now);
      const inhibitedBy = this.inhibitor.mutedBy(alert.labels, now);
      const mutedBy = this.dispatcher.timeMutedBy(alert.labels, now);
      out.push({
        alert,
        state: silencedBy.length || inhibitedBy.length || mutedBy.length ? 'suppressed' : 'active',
        silencedBy,
        inhibitedBy,
        mutedBy,
        receivers: this.dispatcher.receivers(alert.labels),
        updatedAt,
      });
    }
    return out;
  }

  /** Labels of firing alerts a silence with these matchers would silence (previews in the API). */
  affected(matchers: Parameters<typeof compileMatcher>[0][]): Labels[] {
    const c = matchers.map(compileMatcher);
    const now = this.clock.now();
    return [...this.alerts.values()].filter((e) => isFiring(e.alert, now) && matchesAll(c, e.alert.labels)).map((e) => e.alert.labels);
  }

  /** Each named time interval: active now, and its next start and end. */
  timeIntervalStatus(): IntervalStatus[] {
    const now = this.clock.now();
    return this.timeIntervals.list().map((t) => t.status(now));
  }

  /** Resolves once the last silence change is on disk (the API awaits it before answering). */
  silencesPersisted(): Promise<void> {
    return this.silencesSaved;
  }

  stop(): void {
    this.escalations.stop();
    this.dispatcher.stop();
    this.silences.stop();
  }

  /** An alert this instance has seen resolve (unknown ones, e.g. just after a restart, are not). */
  private knownResolved(fingerprint: string): boolean {
    const e = this.alerts.get(fingerprint);
    return e !== undefined && !isFiring(e.alert, this.clock.now());
  }

  private firingLabels(now: number): Labels[] {
    return [...this.alerts.values()].filter((e) => isFiring(e.alert, now)).map((e) => e.alert.labels);
  }
}

/**
 * Integrations with send_resolved off get only firing alerts; with none left nothing is sent,
 * yet the stage passes the whole set so the notification log still records the resolution.
 */
function onlyWhatIsSent(i: Integration, inner: Stage): Stage {
  if (i.sendResolved) return inner;
  return stage(async (ctx, alerts) => {
    const firing = alerts.filter((a) => isFiring(a, ctx.nowMs));
    if (firing.length > 0) await inner.exec(ctx, firing);
    return alerts;
  });
}

function buildIntegrations(r: ReceiverConfig, externalURL: string, readSecret: (path: string) => string): Integration[] {
  const out: Integration[] = [];
  r.webhook_configs.forEach((c, i) =>
    out.push({
      name: `${r.name}/webhook[${i}]`,
      sendResolved: c.send_resolved,
      notifier: new WebhookNotifier({ url: c.url ?? readSecret(c.url_file!), maxAlerts: c.max_alerts, timeoutMs: durationMs(c.timeout), externalURL }),
    }),
  );
  r.slack_configs.forEach((c, i) =>
    out.push({
      name: `${r.name}/slack[${i}]`,
      sendResolved: c.send_resolved,
      notifier: new SlackNotifier({ apiUrl: c.api_url ?? readSecret(c.api_url_file!), channel: c.channel, username: c.username, title: c.title, text: c.text, timeoutMs: durationMs(c.timeout), externalURL }),
    }),
  );
  r.pagerduty_configs.forEach((c, i) =>
    out.push({
      name: `${r.name}/pagerduty[${i}]`,
      sendResolved: c.send_resolved,
      notifier: new PagerdutyNotifier({ url: c.url, routingKey: c.routing_key ?? readSecret(c.routing_key_file!), severity: c.severity, description: c.description, source: c.source, timeoutMs: durationMs(c.timeout), externalURL }),
    }),
  );
  r.email_configs.forEach((c, i) =>
    out.push({
      name: `${r.name}/email[${i}]`,
      sendResolved: c.send_resolved,
      notifier: new EmailNotifier({
        to: c.to,
        from: c.from,
        smarthost: c.smarthost,
        hello: c.hello,
        username: c.auth_username,
        password: c.auth_password ?? (c.auth_password_file !== undefined ? readSecret(c.auth_password_file) : undefined),
        requireTls: c.require_tls,
        timeoutMs: durationMs(c.timeout),
        externalURL,
      }),
    }),
  );
  return out;
}
