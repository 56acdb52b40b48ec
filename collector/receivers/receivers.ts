/**
 * The collector's network sources, started together because they share the metric path (one
 * metric sender, one series budget) and the log path handed in by the collector:
 * OTLP/HTTP (`/v1/logs`, `/v1/metrics`) and JSON lines (`/v1/ndjson`) mounted on the
 * collector's HTTP server, syslog listeners, and Prometheus scrapes.
 *
 * The HTTP routes are mounted ahead of the server's generic JSON body parser (which would read
 * OTLP/JSON under its own limit and without gzip), each behind the same `authMiddleware` as
 * every other Pharos route: any authenticated principal may push (in open mode, loopback only,
 * anonymous requests may).
 */
import express from 'express';
import type { Bus } from '../../core/bus/bus.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { authMiddleware, type Authenticator } from '../../core/http/auth.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/telemetry/registry.js';
import { componentTelemetry } from '../events.js';
import type { KafkaSink } from '../sinks/kafka-sink.js';
import { MetricSender } from '../sinks/metric-sender.js';
import { startScrapes } from '../sources/prom-scrape.js';
import { startSyslog, type RunningSyslog } from '../sources/syslog.js';
import { CardinalityBudget } from '../transforms/cardinality.js';
import type { RecordGate } from '../transforms/record-gate.js';
import type { Redactor } from '../transforms/redact.js';
import { NO_BACKPRESSURE, type Backpressure } from './backpressure.js';
import { rejectEvents } from './events.js';
import { LogIntake, type LogSubmit } from './log-intake.js';
import { MetricIntake } from './metric-intake.js';
import { ndjsonHandler } from './ndjson-http.js';
import { otlpHttpHandler, type OtlpHttpLimits } from './otlp-http.js';

export interface StartReceiversOptions {
  config: PharosConfig;
  bus: Bus;
  log: Logger;
  registry: Registry;
  /** The collector's log path (redaction → Kafka sink). */
  submitLogs: LogSubmit;
  /** Resource defaults and drop/keep filters, before records are numbered; absent: every record passes. */
  gate?: RecordGate | undefined;
  /** Consulted before each push: while it answers, pushes get 503 with Retry-After. */
  backpressure?: Backpressure;
}

export interface RunningReceivers {
  /** Mounts the push routes; call from the collector server's `mountPublic`. */
  mountHttp(app: express.Express, auth: Authenticator): void;
  readonly syslog: RunningSyslog | undefined;
  healthy(): boolean;
  stop(): Promise<void>;
}

export async function startReceivers(opts: StartReceiversOptions): Promise<RunningReceivers> {
  const { config, registry } = opts;
  const r = config.collector.receivers;
  const log = opts.log.child({ component_kind: 'source', component_id: 'receivers' });
  const events = rejectEvents(registry, log);
  const backpressure = opts.backpressure ?? NO_BACKPRESSURE;
  const limits: OtlpHttpLimits = {
    maxBodyBytes: r.max_body_bytes,
    maxLineBytes: r.max_line_bytes,
    ackTimeoutMs: r.ack_timeout_ms,
    retryAfterSeconds: r.retry_after_s,
  };
  const sender = new MetricSender({
    bus: opts.bus,
    topic: config.kafka.topics.metrics,
    key: config.node_name,
    registry,
    telemetry: componentTelemetry(registry, opts.log, { kind: 'sink', id: 'kafka_metrics_received', type: 'kafka' }),
  });
  sender.start();
  const budget = new CardinalityBudget({ maxSeriesPerMetric: config.collector.metrics.max_series_per_metric, registry });
  const metrics = new MetricIntake(sender, budget, { maxLabels: r.max_labels, maxLabelValueBytes: r.max_label_value_bytes }, events);
  const otlpLogs = new LogIntake('otlp_http', opts.submitLogs, opts.gate);
  const ndjsonLogs = new LogIntake('ndjson_http', opts.submitLogs, opts.gate);

  const syslog =
    r.syslog.udp || r.syslog.tcp
      ? await startSyslog({
          udp: r.syslog.udp,
          tcp: r.syslog.tcp,
          service: r.syslog.service,
          maxMessageBytes: r.max_line_bytes,
          intakeUdp: new LogIntake('syslog_udp', opts.submitLogs, opts.gate),
          intakeTcp: new LogIntake('syslog_tcp', opts.submitLogs, opts.gate),
          events,
          log: log.child({ receiver: 'syslog' }),
        })
      : undefined;
  const scrapes = startScrapes({ targets: config.collector.scrape.targets, emit: (samples) => metrics.push(samples), log: log.child({ receiver: 'scrape' }) });

  return {
    syslog,
    mountHttp(app, auth) {
      const requireAuth = authMiddleware(auth);
      if (r.otlp_http.enabled) {
        const common = { limits, logs: otlpLogs, metrics, backpressure, events };
        app.post('/v1/logs', requireAuth, otlpHttpHandler('logs', common));
        app.post('/v1/metrics', requireAuth, otlpHttpHandler('metrics', common));
      }
      if (r.ndjson.enabled) {
        const telemetry = componentTelemetry(registry, opts.log, { kind: 'source', id: 'ndjson_http', type: 'ndjson' });
        app.post('/v1/ndjson', requireAuth, ndjsonHandler({ limits, logs: ndjsonLogs, backpressure, events, nodeName: config.node_name, registry, telemetry }));
      }
    },
    healthy: () => sender.healthy(),
    stop: async () => {
      scrapes.stop();
      await syslog?.stop();
      await sender.stop();
    },
  };
}

/** The collector's log path as a push source sees it: redaction, then the sink, acknowledged. */
export function submitToSink(sink: Pick<KafkaSink, 'send'>, redactor: Pick<Redactor, 'redactRecords'> | undefined): LogSubmit {
  return async (records, bytes, signal) => {
    redactor?.redactRecords(records);
    let ack!: () => void;
    const acked = new Promise<void>((resolve) => (ack = resolve));
    await sink.send({ records, bytes, ack }, signal);
    return { acked };
  };
}

/** The sink's "full" signal (Kafka not taking records and the spool full) as receiver backpressure. */
export function sinkBackpressure(sink: Pick<KafkaSink, 'accepting' | 'retryAfterSeconds'>): Backpressure {
  return () => (sink.accepting() ? undefined : { reason: 'Kafka is not taking records and the disk spool is full (or the collector is stopping)', retryAfterSeconds: sink.retryAfterSeconds() });
}
