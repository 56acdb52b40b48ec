/**
 * The warehouse writer: consumes the logs and metrics topics and stores every record in
 * `otel_logs` and every sample in `metric_samples` exactly once. Durability point: the ClickHouse
 * insert. The bus commits a partition's offsets only after `eachBatch` resolved, and this
 * resolves only after every insert of the batch was acknowledged. Both tables go through
 * table-handler.ts; only how a message becomes rows differs.
 *
 * Exactly once across replays rests on two things:
 * - each insert carries `insert_deduplication_token` = `<topic>-<partition>-<first>-<last>[-<chunk>]`,
 *   which ClickHouse remembers for the last 1000 inserts of the table (on the in-process bus the
 *   topic carries the bus's epoch, `<topic>~<epoch>`, see busEpoch);
 * - the `warehouse_batches` ledger (migration 002) records each offset range just before its
 *   rows are inserted. A batch replayed after a crash usually spans more offsets than the one
 *   that was inserted (messages kept arriving), so its own range would make a new token. The
 *   writer cuts it back into the recorded ranges: a range followed by a later one was stored
 *   and is skipped; the last one is inserted again under its original token (a no-op in
 *   ClickHouse if it had landed); only the rest is new.
 *
 * Bad data never blocks a partition: a message that does not decode goes to the dead-letter
 * topic with its original bytes, and rows are made insertable by log-tsv.ts and metric-rows.ts.
 * Insert failures reject the batch, and the bus offers it again from the same offset.
 *
 * Rows travel as TabSeparated text, written into a buffer as they are decoded (byte-sink.ts), and
 * reach chDB through chdb-node's raw insert (raw-insert.ts). The client's JSONEachRow path built
 * a JSON object per row and one big SQL string per insert: measured on this 2-core machine, the
 * process spent 42-48 µs of CPU per log row on it against 15-25 µs now, and the bench's
 * Kafka-to-queryable drain went from ~19k to ~48-53k rows/s.
 *
 * Log messages become those lines straight from the protobuf bytes (otlp-log-tsv.ts), without
 * LogRecord objects; what that reader does not take goes through decodeLogs as before. Batches of
 * several partitions are handled at once (`partitions_at_once`), with 2 MiB fetched per partition,
 * one insert per table in flight (table-handler.ts), and the ledger has a connection of its own
 * (companionClient): so the chDB insert, the one step that cannot be split, is kept busy. On the
 * bench's 500,000-record drain this took the process from ~17 to ~12 µs of CPU per row and the
 * drain from ~71k to ~123-131k rows/s (first row to last).
 *
 * On chDB this writer must not use query parameters: chdb-node runs every parameterized query
 * of the process through one queue (a libchdb race), so a parameterized lookup here would wait
 * behind an analyst's search on the query connection. Values it puts into SQL are numbers and
 * validated topic names.
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Bus, BusConsumer, ConsumedBatch } from '../../core/bus/bus.js';
import { companionClient } from '../../core/clickhouse/client.js';
import { checkWireHeaders, decodeLogs, decodeMetrics } from '../../core/codec/codec.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { componentLogger, type Logger } from '../../core/log.js';
import type { Registry } from '../../core/telemetry/registry.js';
import { OTEL_LOGS_INSERT_SETTINGS, storedTimeNano, utcDay, type OtelLogRow } from './log-rows.js';
import { OTEL_LOGS_TSV_COLUMNS, otelLogTsvLine } from './log-tsv.js';
import { otlpLogTsvRows } from './otlp-log-tsv.js';
import { METRIC_SAMPLES_INSERT_SETTINGS, METRIC_SAMPLES_TSV_COLUMNS, metricSampleTsvLine, storedTimeMs, utcDayMs } from './metric-rows.js';
import { warehouseMetrics } from './metrics.js';
import { chunkByDay as chunkRowsByDay, messageTimeMs, tableBatchHandler, type TableBatchHandlerDeps, type TableSpec } from './table-handler.js';

export { planInsertUnits, type InsertUnit, type OffsetRange } from './ledger.js';
export { warehouseMetrics, type WarehouseMetrics } from './metrics.js';

export interface WarehouseWriterOptions {
  bus: Bus;
  clickhouse: ClickHouseClient;
  config: PharosConfig;
  log: Logger;
  registry: Registry;
}

export async function startWarehouseWriter(opts: WarehouseWriterOptions): Promise<{ stop(): Promise<void> }> {
  const { bus, config } = opts;
  const log = componentLogger(opts.log, 'sink', 'warehouse', 'clickhouse');
  if (process.env.PHAROS_FAULT_NO_DEDUP_TOKEN === '1') log.warn('PHAROS_FAULT_NO_DEDUP_TOKEN is set: inserts carry no deduplication token, a replay stores rows twice (a chaos self-test; never in production)');
  const topics = config.kafka.topics;
  await bus.ensureTopics([topics.logs, topics.metrics, topics.deadletter], config.kafka.partitions);
  const producer = await bus.producer();
  const ledgerConnection = companionClient(opts.clickhouse);
  const deps: TableBatchHandlerDeps = {
    sourceEpoch: bus.kind === 'memory' ? busEpoch(bus) : '',
    clickhouse: opts.clickhouse,
    ledgerClickhouse: ledgerConnection.client,
    database: config.clickhouse.database,
    deadletterTopic: topics.deadletter,
    producer,
    log,
    metrics: warehouseMetrics(opts.registry),
    maxRowsPerInsert: config.pipeline.warehouse.batch_rows,
    maxBytesPerInsert: config.pipeline.warehouse.batch_bytes,
  };
  const handlers = new Map<string, (batch: ConsumedBatch) => Promise<void>>([
    [topics.logs, logBatchHandler(deps)],
    [topics.metrics, metricBatchHandler(deps)],
  ]);
  // One member of the group per writer, handling several partitions' batches at once (one decodes
  // while another inserts; one insert per table in flight still, table-handler.ts). Several
  // members in one process did the same with a rebalance for each joining member, and a
  // rebalance stalls every partition for seconds: measured, a 500k drain lost 4.5 s to one.
  let consumer: BusConsumer;
  try {
    consumer = await bus.consumer({
      groupId: config.pipeline.warehouse.group_id,
      topics: [...handlers.keys()],
      fromBeginning: true,
      partitionsAtOnce: config.pipeline.warehouse.partitions_at_once,
      fetchBytesPerPartition: config.pipeline.warehouse.fetch_bytes_per_partition,
      eachBatch: async (batch) => {
        const handle = handlers.get(batch.topic);
        if (handle === undefined) throw new Error(`no warehouse table for topic ${batch.topic}`);
        await handle(batch);
      },
    });
  } catch (err) {
    await producer.close().catch(() => {});
    await ledgerConnection.close().catch(() => {});
    throw err;
  }
  log.info(
    { topics: [topics.logs, topics.metrics], group_id: config.pipeline.warehouse.group_id, partitions_at_once: config.pipeline.warehouse.partitions_at_once, database: config.clickhouse.database, tables: ['otel_logs', 'metric_samples'] },
    'warehouse writer started',
  );
  return {
    stop: async () => {
      // The consumer first: its in-flight batch may still dead-letter through the producer.
      try {
        await consumer.stop();
      } finally {
        await producer.close();
        await ledgerConnection.close();
      }
      log.info('warehouse writer stopped');
    },
  };
}

const epochs = new WeakMap<Bus, string>();

/**
 * The in-process bus numbers offsets from 0 again in every process, so its offsets alone do not
 * name a message across restarts: without an epoch, the first batches after a restart would look
 * like replays of the previous run's and be skipped (ledger) or swallowed (token). Kafka offsets
 * are durable and need none. One epoch per bus object, so a writer restarted in the same process
 * still recognises its own replays.
 */
function busEpoch(bus: Bus): string {
  let epoch = epochs.get(bus);
  if (epoch === undefined) epochs.set(bus, (epoch = randomBytes(4).toString('hex')));
  return epoch;
}

export type LogBatchHandlerDeps = TableBatchHandlerDeps;

export const OTEL_LOGS_SPEC: TableSpec = {
  table: 'otel_logs',
  columns: OTEL_LOGS_TSV_COLUMNS,
  settings: OTEL_LOGS_INSERT_SETTINGS,
  rows(message, emit) {
    checkWireHeaders(message.headers);
    // Kafka's message time stands in for a record that carries no time at all.
    const fallback = BigInt(messageTimeMs(message)) * 1_000_000n;
    const direct = otlpLogTsvRows(message.value, fallback);
    if (direct !== undefined) {
      for (let i = 0; i < direct.lines.length; i++) emit(direct.days[i]!, direct.lines[i]!);
      return;
    }
    // What the direct reader leaves (structured values, odd encodings, bad bytes): the reference way.
    const records = decodeLogs(message.value);
    for (const r of records) {
      const t = storedTimeNano(r, fallback);
      emit(utcDay(t), otelLogTsvLine(r, t));
    }
  },
};

export const METRIC_SAMPLES_SPEC: TableSpec = {
  table: 'metric_samples',
  columns: METRIC_SAMPLES_TSV_COLUMNS,
  settings: METRIC_SAMPLES_INSERT_SETTINGS,
  rows(message, emit) {
    checkWireHeaders(message.headers);
    const samples = decodeMetrics(message.value);
    const fallback = messageTimeMs(message);
    for (const s of samples) {
      const t = storedTimeMs(s, fallback);
      emit(utcDayMs(t), metricSampleTsvLine(s, t));
    }
  },
};

/** The per-partition batch handler for the logs topic; exported so tests can replay batches directly. */
export function logBatchHandler(deps: LogBatchHandlerDeps): (batch: ConsumedBatch) => Promise<void> {
  return tableBatchHandler(OTEL_LOGS_SPEC, deps);
}

/** The per-partition batch handler for the metrics topic. */
export function metricBatchHandler(deps: TableBatchHandlerDeps): (batch: ConsumedBatch) => Promise<void> {
  return tableBatchHandler(METRIC_SAMPLES_SPEC, deps);
}

/** Row objects split by day and count as the writer splits its lines (for callers inserting JSON rows). */
export function chunkByDay(rows: ReadonlyArray<{ row: OtelLogRow; day: number }>, maxRows: number): OtelLogRow[][] {
  return chunkRowsByDay(rows, maxRows);
}
