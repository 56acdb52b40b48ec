/**
 * Alerting as a service: rule files evaluated over the real-time store's head, alerts handed to
 * notification (Alertmanager semantics), state changes published to `pharos.alerts`, active
 * alert state kept on a compacted topic so a restart neither forgets nor re-pages. Its routes
 * (mounted behind auth): Prometheus's `/api/v1/rules` and `/api/v1/alerts`, and Alertmanager's
 * `/api/v2/alerts` and silences.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Router } from 'express';
import type { Bus } from '../core/bus/bus.js';
import type { Principal } from '../core/http/auth.js';
import { metricLabelsInScope } from '../core/http/scope.js';
import type { PharosConfig } from '../core/config/schema.js';
import type { Logger } from '../core/log.js';
import { packageRoot } from '../core/package-root.js';
import type { Registry } from '../core/telemetry/registry.js';
import type { Head } from '../pipeline/realtime/tsdb/head.js';
import { HeadQuerier } from '../pipeline/realtime/tsdb/querier.js';
import { createClickHouse } from '../core/clickhouse/client.js';
import { alertsApiRouter } from './api/alerts-api.js';
import { AlertEventsWriter } from './alert-events.js';
import { AlertStateStore } from './evaluator/state-store.js';
import { RuleEvaluator } from './evaluator/evaluator.js';
import { recordedToBus } from './evaluator/recorded.js';
import { compileRuleFile } from './evaluator/rules.js';
import type { RuleGroupSpec } from './evaluator/rules.js';
import { notifyConfigSchema } from './notify/config.js';
import { Notifications } from './notify/notifier.js';
import { parseRuleFile } from './rules/rule-file.js';
import { oncallApiRouter } from './api/oncall-api.js';
import { ClickHouseLogCounter } from './logrules/log-counter.js';
import { KafkaBus } from '../core/bus/kafka-bus.js';
import { KafkaKeyedStore } from './store/kafka-keyed-store.js';
import { KeyedNotificationLogStore, type Entry } from './notify/notification-log.js';
import { KeyedSilenceStore } from './store/keyed-silence-store.js';
import { FileKeyedStore } from './store/keyed-store.js';
import type { EscalationRecord } from './oncall/escalation.js';
import type { Silence } from './notify/silences.js';
import { durationMs } from './rules/duration.js';

export const DEFAULT_RULE_FILES = ['host.yaml', 'stack.yaml'];

export interface Alerting {
  routes: Router;
  evaluator: RuleEvaluator;
  notifications: Notifications;
  events: AlertEventsWriter;
  /** Rule files that failed their check (not evaluated). */
  ruleErrors: string[];
  stop(): Promise<void>;
}

/** Loads every rule file; a file with errors is reported and left out, the others run. */
export function loadRuleGroups(config: PharosConfig, log: Logger): { groups: RuleGroupSpec[]; errors: string[]; files: string[] } {
  const files = [
    ...(config.alerts.default_rules ? DEFAULT_RULE_FILES.map((f) => join(packageRoot(), 'alerts', 'default-rules', f)) : []),
    ...config.alerts.rule_files,
  ];
  const groups: RuleGroupSpec[] = [];
  const errors: string[] = [];
  for (const file of files) {
    let parsed;
    try {
      parsed = parseRuleFile(file);
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    for (const i of parsed.issues) errors.push(`${i.file}${i.line ? `:${i.line}` : ''}: ${i.message}`);
    if (parsed.rules && parsed.issues.length === 0) groups.push(...compileRuleFile(file, parsed.rules, config.alerts.evaluation_interval_ms));
  }
  if (errors.length) log.error({ errors }, 'rule files with errors are not evaluated');
  log.info({ files: files.length, groups: groups.length, rules: groups.reduce((n, g) => n + g.rules.length, 0) }, 'rules loaded');
  return { groups, errors, files };
}

export async function startAlerting(opts: { config: PharosConfig; bus: Bus; head: Head; log: Logger; registry: Registry }): Promise<Alerting> {
  const { config, bus, head, registry } = opts;
  const log = opts.log.child({ component_kind: 'service', component_id: 'alerts' });
  const stateDir = resolve(config.data_dir, 'alerts');
  mkdirSync(stateDir, { recursive: true });
  const notifyConfig = config.alerts.notify ?? notifyConfigSchema.parse({ route: { receiver: 'none' }, receivers: [{ name: 'none' }] });
  if (!config.alerts.notify) log.warn('no alerts.notify receivers configured: alerts are evaluated and listed, nobody is paged');
  const eventsClient = createClickHouse(config, opts.log, 'ingest');
  // Log rules read the warehouse with a query client, so a slow count never holds event inserts.
  const logsClient = createClickHouse(config, opts.log, 'query');
  const events = new AlertEventsWriter(eventsClient, config.clickhouse.database, log);
  // On Kafka, what was sent, escalations and silences live on compacted topics next to the alert
  // state, so a standby that takes over reads what the active evaluator did (no page twice).
  const kafkaStores: Array<KafkaKeyedStore<unknown>> = [];
  const onKafka = <T>(suffix: string): KafkaKeyedStore<T> | undefined => {
    if (!(bus instanceof KafkaBus)) return undefined;
    const store = new KafkaKeyedStore<T>(bus, `${config.alerts.state_topic}.${suffix}`, log);
    kafkaStores.push(store as KafkaKeyedStore<unknown>);
    return store;
  };
  const nflogStore = notifyConfig.notification_log_file === undefined ? onKafka<Entry>('nflog') : undefined;
  const silenceStore = notifyConfig.silences_file === undefined ? onKafka<Silence>('silences') : undefined;
  const notifications = await Notifications.start({
    onNotification: (e) => events.notification(e),
    config: {
      ...notifyConfig,
      notification_log_file: notifyConfig.notification_log_file ?? join(stateDir, 'notification-log.json'),
      silences_file: notifyConfig.silences_file ?? join(stateDir, 'silences.json'),
    },
    ...(nflogStore ? { logStore: new KeyedNotificationLogStore(nflogStore, durationMs(notifyConfig.notification_log_retention)) } : {}),
    ...(silenceStore ? { silenceStore: new KeyedSilenceStore(silenceStore) } : {}),
    escalationStore:
      notifyConfig.escalation_state_file === undefined
        ? (onKafka<EscalationRecord>('escalations') ?? new FileKeyedStore<EscalationRecord>(join(stateDir, 'escalations.json')))
        : new FileKeyedStore<EscalationRecord>(notifyConfig.escalation_state_file),
    log,
    registry,
  });
  const { groups, errors } = loadRuleGroups(config, log);
  const stateStore = new AlertStateStore({ bus, topic: config.alerts.state_topic, log });
  await stateStore.ensureTopic();
  await bus.ensureTopics([config.kafka.topics.alerts], 1);
  const producer = await bus.producer();
  const evaluator = new RuleEvaluator({
    groups,
    querier: new HeadQuerier(head),
    head,
    sink: notifications,
    resendDelayMs: config.alerts.resend_delay_ms,
    debounceMs: config.alerts.sample_debounce_ms,
    externalLabels: config.alerts.external_labels,
    ...(config.alerts.external_url ? { externalURL: config.alerts.external_url } : {}),
    publishRecorded: recordedToBus(producer, config.kafka.topics.metrics),
    // `head` is the real-time store fed from that same topic.
    recordedFlowsBack: true,
    onStateChange: (e) => {
      events.stateChange(e);
      log.info({ rule: e.rule, group: e.group, from: e.from, to: e.to, labels: e.labels, value: e.value }, `alert ${e.rule} ${e.from} → ${e.to}`);
      producer
        .send(config.kafka.topics.alerts, [{ key: Buffer.from(e.fingerprint), value: Buffer.from(JSON.stringify(e)), headers: { 'content-type': 'application/json' } }])
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'publishing an alert state change failed'));
    },
    stateStore,
    logCounter: new ClickHouseLogCounter(logsClient, config.clickhouse.database),
    log,
    registry,
  });
  await evaluator.start();

  const routes = Router();
  routes.get('/api/v1/rules', (_req, res) => {
    res.json({
      status: 'success',
      data: {
        groups: evaluator.groups().map((g) => ({ name: g.name, file: g.file, interval: g.intervalMs / 1000, lastEvaluation: Number.isFinite(g.lastEvalMs) && g.lastEvalMs > 0 ? new Date(g.lastEvalMs).toISOString() : null, rules: g.rules })),
      },
    });
  });
  routes.get('/api/v1/alerts', (_req, res) => {
    // A scoped token sees alerts of its services and environments only (core/http/scope.ts).
    const scope = (res.locals.principal as Principal | undefined)?.scope;
    res.json({
      status: 'success',
      data: {
        alerts: evaluator.alerts().filter((a) => metricLabelsInScope(scope, a.alert.labels)).map((a) => ({ group: a.group, rule: a.rule, fingerprint: a.fingerprint, ...a.alert })),
      },
    });
  });
  routes.use(alertsApiRouter(notifications));
  routes.use(oncallApiRouter(notifications));
  return {
    routes,
    evaluator,
    notifications,
    events,
    ruleErrors: errors,
    stop: async () => {
      await evaluator.stop();
      notifications.stop();
      await events.stop();
      await eventsClient.close();
      await logsClient.close();
      await producer.close();
      await stateStore.close();
      for (const s of kafkaStores) await s.close();
    },
  };
}
