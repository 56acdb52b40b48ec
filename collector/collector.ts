/**
 * The host agent's topology: file tail sources → Kafka sink, with end-to-end acknowledgements.
 * A source's batch carries the file offset it ends at; when the sink's send of that batch is
 * acknowledged, the collector commits the offset back to the source, which moves the file's
 * checkpoint. Nothing is checkpointed that the bus has not acknowledged.
 */
import { resolve } from 'node:path';
import type { Bus } from '../core/bus/bus.js';
import type { FileInputConfig, PharosConfig } from '../core/config/schema.js';
import type { Logger } from '../core/log.js';
import type { Registry } from '../core/telemetry/registry.js';
import { componentError, componentTelemetry, declareErrors } from './events.js';
import { KafkaSink } from './sinks/kafka-sink.js';
import { CheckpointStore, FileTailSource } from './sources/file-tail.js';

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

  const sink = new KafkaSink({
    bus,
    topic: config.kafka.topics.logs,
    batch: c.batch,
    telemetry: componentTelemetry(registry, opts.log, { kind: 'sink', id: 'kafka_logs', type: 'kafka' }),
  });
  sink.start();

  const inputs = [...c.files, ...(opts.extraFiles ?? [])];
  const idCounts = new Map<string, number>();
  const sources = inputs.map((input) => {
    const base = `file:${input.service}`;
    const n = (idCounts.get(base) ?? 0) + 1;
    idCounts.set(base, n);
    const source: FileTailSource = new FileTailSource({
      input,
      nodeName: config.node_name,
      pollMs: c.poll_ms,
      maxBatchRecords: c.batch.max_records,
      checkpoints,
      telemetry: componentTelemetry(registry, opts.log, { kind: 'source', id: n === 1 ? base : `${base}:${n}`, type: 'file_tail' }),
      send: (batch, signal) =>
        sink.send({ records: batch.records, bytes: batch.bytes, ack: () => source.commit(batch.fileId, batch.endOffset) }, signal),
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
  self.log.info(
    { inputs: inputs.map((i) => ({ include: i.include, service: i.service, start_at: i.start_at })), topic: config.kafka.topics.logs, bus: bus.kind, checkpoints: checkpoints.file },
    `collector started: ${inputs.length} file input(s) → ${config.kafka.topics.logs}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    ready: () => stopping === undefined && !crashed && sink.healthy(),
    stop: () =>
      (stopping ??= (async () => {
        abort.abort();
        await Promise.all(runs);
        await sink.stop(STOP_DELIVERY_TIMEOUT_MS);
        await checkpoints.close().catch(() => {});
        self.log.info('collector stopped');
      })()),
  };
}
