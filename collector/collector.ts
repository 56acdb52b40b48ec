/**
 * The host agent's topology: file tail sources (each parsing with its input's parser) →
 * redaction → Kafka sink, with end-to-end acknowledgements.
 * A source's batch carries the file offset it ends at; when the sink's send of that batch is
 * acknowledged, the collector commits the offset back to the source, which moves the file's
 * checkpoint. Nothing is checkpointed that the bus has not acknowledged — or that is not fsynced
 * in the disk spool, where batches wait while Kafka does not take them (collector/spool).
 */
import { resolve } from 'node:path';
import type { Bus } from '../core/bus/bus.js';
import type { FileInputConfig, PharosConfig } from '../core/config/schema.js';
import type { Logger } from '../core/log.js';
import type { Registry } from '../core/telemetry/registry.js';
import { componentError, componentTelemetry, declareErrors, eventsReceived, spoolTelemetry } from './events.js';
import { KafkaSink } from './sinks/kafka-sink.js';
import { MetricSender } from './sinks/metric-sender.js';
import { DiskSpool } from './spool/spool.js';
import { sinkBackpressure, startReceivers, submitToSink } from './receivers/receivers.js';
import type { Authenticator } from '../core/http/auth.js';
import type { Express } from 'express';
import { collectHostMetrics } from './sources/host-metrics.js';
import { CheckpointStore } from './sources/checkpoint-store.js';
import { FileTailSource } from './sources/file-tail.js';
import { parseEvents, redactEvents } from './transforms/events.js';
import { createLineParser } from './transforms/parser.js';
import { dropSamples } from './drop-report.js';
import { createRecordGate } from './transforms/record-gate.js';
import { createRedactor } from './transforms/redact.js';

export interface StartCollectorOptions {
  config: PharosConfig;
  bus: Bus;
  log: Logger;
  registry: Registry;
  /** Inputs beyond `collector.files` (`pharos all` adds its own log and /var/log). */
  extraFiles?: FileInputConfig[];
}

export interface RunningCollector {
  /** Stops reading, delivers what was read (bounded wait), saves checkpoints. Idempotent. */
  stop(): Promise<void>;
  /** True while every source runs and the sink delivers. */
  ready(): boolean;
  /** False while Kafka refuses and the spool is full (or while stopping): push endpoints answer 503. */
  acceptingPush(): boolean;
  /** Seconds for the Retry-After header of a push refused because `acceptingPush()` is false. */
  retryAfterSeconds(): number;
  /** Mounts the push receivers (OTLP/HTTP, JSON lines) on the collector's server: its `mountPublic`. */
  mountReceivers?(app: Express, auth: Authenticator): void;
}

const CHECKPOINT_SAVE_MS = 1_000;
/** Bounded so a bus that is down cannot hold up a shutdown; undelivered records are re-read at the next start. */
const STOP_DELIVERY_TIMEOUT_MS = 5_000;

export async function startCollector(opts: StartCollectorOptions): Promise<RunningCollector> {
  const { config, bus, registry } = opts;
  const c = config.collector;
  const self = componentTelemetry(registry, opts.log, { kind: 'service', id: 'collector', type: 'collector' });
  declareErrors(self, [{ error_type: 'reader_failed', stage: 'receiving' }]);
  const dir = resolve(config.data_dir, 'collector');
  const checkpoints = await CheckpointStore.open(dir, componentTelemetry(registry, opts.log, { kind: 'service', id: 'checkpoints', type: 'file_checkpoints' }));

  // A relative spool.dir is under data_dir, like everything else the collector keeps.
  const spoolDir = resolve(config.data_dir, c.spool.dir ?? resolve(dir, 'spool'));
  const spool = c.spool.enabled
    ? await DiskSpool.open({ dir: spoolDir, maxBytes: c.spool.max_bytes, segmentBytes: c.spool.segment_bytes, telemetry: spoolTelemetry(registry, opts.log) })
    : undefined;
  const sink = new KafkaSink({
    bus,
    topic: config.kafka.topics.logs,
    batch: c.batch,
    telemetry: componentTelemetry(registry, opts.log, { kind: 'sink', id: 'kafka_logs', type: 'kafka' }),
    ...(spool ? { spool } : {}),
    beforeDelivery: () => checkpoints.save(),
  });
  sink.start();
  // Once for every source, at the last step before the sink: nothing unredacted leaves the host.
  const redactor = createRedactor(c.redact, redactEvents(registry, [...c.redact.builtins, ...c.redact.patterns.map((p) => p.name)]));
  // Before redaction and numbering, for every source: the collector's resource defaults and drop/keep filters.
  const gate = createRecordGate(c, registry);

  // Push and pull sources (OTLP/HTTP, JSON lines, syslog, scrape): collector/receivers.
  const receivers = await startReceivers({ config, bus, log: opts.log, registry, submitLogs: submitToSink(sink, redactor), gate, backpressure: sinkBackpressure(sink) });
  const inputs = [...c.files, ...(opts.extraFiles ?? [])];
  const idCounts = new Map<string, number>();
  const sources = inputs.map((input) => {
    const base = `file:${input.service}`;
    const n = (idCounts.get(base) ?? 0) + 1;
    idCounts.set(base, n);
    const telemetry = componentTelemetry(registry, opts.log, { kind: 'source', id: n === 1 ? base : `${base}:${n}`, type: 'file_tail' });
    const source: FileTailSource = new FileTailSource({
      input,
      nodeName: config.node_name,
      pollMs: c.poll_ms,
      maxBatchRecords: c.batch.max_records,
      checkpoints,
      parser: createLineParser(input, parseEvents(registry, telemetry, input.parser)),
      telemetry,
      redactor,
      gate,
      send: (batch, signal) => sink.send({ encoded: batch.encoded, bytes: batch.bytes, ack: () => source.commit(batch.fileId, batch.endOffset) }, signal),
    });
    return source;
  });

  const abort = new AbortController();
  let crashed = false;
  const runs = sources.map((s) =>
    s.run(abort.signal).catch((err: unknown) => {
      // run() handles every per-file failure itself: this is a bug. The others keep going; readiness says so.
      crashed = true;
      componentError(self, { error_type: 'reader_failed', stage: 'receiving', error_code: 'internal' }, err, `source ${s.id} stopped unexpectedly`, { source: s.id });
    }),
  );
  checkpoints.startAutosave(CHECKPOINT_SAVE_MS);
  const hostMetrics = c.host_metrics.enabled ? startHostMetrics(opts) : undefined;
  self.log.info(
    { inputs: inputs.map((i) => ({ include: i.include, service: i.service, start_at: i.start_at, parser: i.parser })), redact: redactor !== undefined, topic: config.kafka.topics.logs, bus: bus.kind, checkpoints: checkpoints.file, spool: spool ? { dir: spoolDir, max_bytes: c.spool.max_bytes } : 'disabled' },
    `collector started: ${inputs.length} file input(s) → ${config.kafka.topics.logs}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    ready: () => stopping === undefined && !crashed && sink.healthy() && (hostMetrics?.sender.healthy() ?? true),
    acceptingPush: () => stopping === undefined && sink.accepting(),
    retryAfterSeconds: () => sink.retryAfterSeconds(),
    mountReceivers: (app, auth) => receivers.mountHttp(app, auth),
    stop: () =>
      (stopping ??= (async () => {
        abort.abort();
        await receivers.stop();
        await hostMetrics?.stop();
        await Promise.all(runs);
        await sink.stop(STOP_DELIVERY_TIMEOUT_MS);
        await checkpoints.close().catch(() => {});
        await spool?.close();
        self.log.info('collector stopped');
      })()),
  };
}

/** Scrapes /proc every `host_metrics.interval_ms` and publishes to the metrics topic. */
function startHostMetrics(opts: StartCollectorOptions): { sender: MetricSender; stop(): Promise<void> } {
  const { config, registry, bus } = opts;
  const telemetry = componentTelemetry(registry, opts.log, { kind: 'source', id: 'host_metrics', type: 'host_metrics' });
  const sender = new MetricSender({
    bus,
    topic: config.kafka.topics.metrics,
    key: config.node_name,
    registry,
    telemetry: componentTelemetry(registry, opts.log, { kind: 'sink', id: 'kafka_metrics', type: 'kafka' }),
  });
  sender.start();
  const labels = { job: 'node', instance: config.node_name };
  let scraping = false;
  const scrape = async () => {
    if (scraping) return;
    scraping = true;
    try {
      const nowMs = Date.now();
      const samples = await collectHostMetrics({ labels }, nowMs);
      // Filter drops reach the warehouse's delivery report through self-monitoring, which ships the
      // whole registry; without it they ride here (not both: PromQL sums would count them twice).
      if (!config.self_metrics.enabled) samples.push(...(await dropSamples(registry, config.node_name, nowMs)));
      eventsReceived(telemetry, samples.length, 0);
      sender.enqueue(samples);
    } catch (err) {
      componentError(telemetry, { error_type: 'reader_failed', stage: 'receiving' }, err, 'host metrics scrape failed');
    } finally {
      scraping = false;
    }
  };
  void scrape();
  const timer = setInterval(() => void scrape(), config.collector.host_metrics.interval_ms);
  timer.unref();
  telemetry.log.info({ interval_ms: config.collector.host_metrics.interval_ms, topic: config.kafka.topics.metrics }, 'host metrics started');
  return {
    sender,
    stop: async () => {
      clearInterval(timer);
      await sender.stop();
    },
  };
}
