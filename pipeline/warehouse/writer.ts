/**
 * The warehouse writer: consumes the logs topic and stores every record in `otel_logs` exactly
 * once. Durability point: the ClickHouse insert. The bus commits a partition's offsets only after
 * `eachBatch` resolved, and this resolves only after every insert of the batch was acknowledged.
 * (Metrics samples take the same path in a later change; this writer handles logs only.)
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
 * topic with its original bytes, and rows are made insertable by log-rows.ts. Insert failures
 * reject the batch, and the bus offers it again from the same offset.
 *
 * On chDB this writer must not use query parameters: chdb-node runs every parameterized query
 * of the process through one queue (a libchdb race), so a parameterized lookup here would wait
 * behind an analyst's search on the query connection. Values it puts into SQL are numbers and
 * validated topic names.
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Bus, BusMessage, BusProducer, ConsumedBatch, ConsumedMessage } from '../../core/bus/bus.js';
import { checkWireHeaders, decodeLogs } from '../../core/codec/codec.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { PharosError } from '../../core/errors.js';
import { componentLogger, type Logger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { counter, gauge, histogram, type Registry } from '../../core/telemetry/registry.js';
import { OTEL_LOGS_INSERT_SETTINGS, storedTimeNano, toOtelLogRow, utcDay, type OtelLogRow } from './log-rows.js';

const TABLE = 'otel_logs';
/** Longest error text copied into a dead letter's header. */
const MAX_ERROR_HEADER = 500;
const ERROR_LOG_INTERVAL_MS = 10_000;
/** Kafka's legal topic characters: what lets a topic name appear in SQL text without parameters. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

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
  const topics = config.kafka.topics;
  await bus.ensureTopics([topics.logs, topics.deadletter], config.kafka.partitions);
  const producer = await bus.producer();
  const handle = logBatchHandler({
    sourceEpoch: bus.kind === 'memory' ? busEpoch(bus) : '',
    clickhouse: opts.clickhouse,
    database: config.clickhouse.database,
    deadletterTopic: topics.deadletter,
    producer,
    log,
    metrics: warehouseMetrics(opts.registry),
    maxRowsPerInsert: config.pipeline.warehouse.batch_rows,
  });
  let consumer;
  try {
    consumer = await bus.consumer({ groupId: config.pipeline.warehouse.group_id, topics: [topics.logs], fromBeginning: true, eachBatch: handle });
  } catch (err) {
    await producer.close().catch(() => {});
    throw err;
  }
  log.info({ topic: topics.logs, group_id: config.pipeline.warehouse.group_id, table: `${config.clickhouse.database}.${TABLE}` }, 'warehouse writer started');
  return {
    stop: async () => {
      // The consumer first: its in-flight batch may still dead-letter through the producer.
      try {
        await consumer.stop();
      } finally {
        await producer.close();
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

export interface WarehouseMetrics {
  rowsInserted: ReturnType<typeof counter<'table'>>;
  insertErrors: ReturnType<typeof counter<'table'>>;
  deadletters: ReturnType<typeof counter<'reason'>>;
  insertDuration: ReturnType<typeof histogram<'table'>>;
  lastInsert: ReturnType<typeof gauge<'table'>>;
}

export function warehouseMetrics(registry: Registry): WarehouseMetrics {
  const m: WarehouseMetrics = {
    rowsInserted: counter(registry, 'pharos_warehouse_rows_inserted_total', 'Rows acknowledged by ClickHouse, by table (re-sent rows it deduplicated included).', ['table']),
    insertErrors: counter(registry, 'pharos_warehouse_insert_errors_total', 'Inserts ClickHouse failed or refused; the batch is retried from the same offset.', ['table']),
    deadletters: counter(registry, 'pharos_warehouse_deadletters_total', 'Messages sent to the dead-letter topic, by reason.', ['reason']),
    insertDuration: histogram(registry, 'pharos_warehouse_insert_duration_seconds', 'Duration of one insert into ClickHouse.', ['table'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    lastInsert: gauge(registry, 'pharos_warehouse_last_insert_timestamp_seconds', 'When ClickHouse last acknowledged an insert, seconds since the epoch.', ['table']),
  };
  // Series exist from the start, so a rate() over them is 0 rather than absent.
  m.rowsInserted.labels(TABLE).inc(0);
  m.insertErrors.labels(TABLE).inc(0);
  m.deadletters.labels('decode_failed').inc(0);
  return m;
}

export interface LogBatchHandlerDeps {
  /** Set when offsets restart with the bus (in-process bus): names the offsets' lifetime in tokens and ledger. */
  sourceEpoch?: string;
  clickhouse: ClickHouseClient;
  database: string;
  deadletterTopic: string;
  producer: BusProducer;
  log: Logger;
  metrics: WarehouseMetrics;
  maxRowsPerInsert: number;
}

/** The per-partition batch handler the consumer calls; exported so tests can replay batches directly. */
export function logBatchHandler(deps: LogBatchHandlerDeps): (batch: ConsumedBatch) => Promise<void> {
  const { clickhouse, log, metrics } = deps;
  const table = `\`${deps.database}\`.${TABLE}`;
  const ledger = `\`${deps.database}\`.warehouse_batches`;
  const logLimiter = rateLimitedLog(log);

  const epoch = deps.sourceEpoch ?? '';
  if (!/^[0-9a-f]*$/.test(epoch)) throw new Error(`source epoch ${JSON.stringify(epoch)} must be lowercase hex`);
  /** The topic as the ledger and the tokens name it: with the bus's epoch when offsets do not outlive it. */
  const sourceOf = (topic: string): string => (epoch === '' ? topic : `${topic}~${epoch}`);

  async function recordedRanges(topic: string, partition: number, first: number, last: number): Promise<OffsetRange[]> {
    // Enough rows for every range inside the batch plus the one after it (ranges hold >= 1 offset).
    const limit = Math.min(last - first + 2, 100_000);
    const rs = await clickhouse.query({
      query: `SELECT first_offset, last_offset FROM ${ledger} FINAL
WHERE target = '${TABLE}' AND topic = '${sourceOf(topic)}' AND kafka_partition = ${partition} AND last_offset >= ${first}
ORDER BY first_offset LIMIT ${limit}`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ first_offset: string | number; last_offset: string | number }>();
    return rows.map((r) => ({ first: Number(r.first_offset), last: Number(r.last_offset) }));
  }

  async function record(topic: string, partition: number, unit: OffsetRange): Promise<void> {
    await clickhouse.insert({
      table: ledger,
      values: [{ target: TABLE, topic: sourceOf(topic), kafka_partition: partition, first_offset: unit.first, last_offset: unit.last }],
      format: 'JSONEachRow',
      // chDB keeps a SET for the session: clear the data inserts' token explicitly.
      clickhouse_settings: { insert_deduplication_token: '' },
    });
  }

  async function insert(rows: OtelLogRow[], token: string): Promise<void> {
    const started = performance.now();
    try {
      await clickhouse.insert({
        table,
        values: rows,
        format: 'JSONEachRow',
        // Every setting on every insert: chDB applies these as a session SET that outlives the
        // query, and a token left over from one insert would make the next one a "duplicate".
        clickhouse_settings: { ...OTEL_LOGS_INSERT_SETTINGS, insert_deduplicate: 1, insert_deduplication_token: token, async_insert: 0 },
      });
    } catch (err) {
      metrics.insertErrors.labels(TABLE).inc();
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      logLimiter('insert_failed', { table: TABLE, rows: rows.length, token, err: message }, 'insert into clickhouse failed; the batch will be retried');
      throw new PharosError('insert_failed', `insert of ${rows.length} rows into ${TABLE} (token ${token}) failed: ${message}`, true, { cause: err });
    }
    metrics.insertDuration.labels(TABLE).observe((performance.now() - started) / 1000);
    metrics.rowsInserted.labels(TABLE).inc(rows.length);
    metrics.lastInsert.labels(TABLE).set(Date.now() / 1000);
  }

  async function deadletter(topic: string, partition: number, bad: Array<{ message: ConsumedMessage; error: unknown }>): Promise<void> {
    const letters: BusMessage[] = bad.map(({ message, error }) => ({
      key: message.key,
      value: message.value,
      headers: {
        reason: 'decode_failed',
        error: (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_HEADER),
        source_topic: topic,
        source_partition: String(partition),
        source_offset: message.offset,
      },
    }));
    await deps.producer.send(deps.deadletterTopic, letters);
    metrics.deadletters.labels('decode_failed').inc(letters.length);
    for (const { message, error } of bad) {
      logLimiter('decode_failed', { topic, partition, offset: message.offset, bytes: message.value.length, err: (error as Error).message }, 'message does not decode; sent to the dead-letter topic');
    }
  }

  async function storeUnit(topic: string, partition: number, unit: OffsetRange, messages: ConsumedMessage[]): Promise<number> {
    const rows: Array<{ row: OtelLogRow; day: number }> = [];
    const bad: Array<{ message: ConsumedMessage; error: unknown }> = [];
    for (const message of messages) {
      let records: LogRecord[];
      try {
        checkWireHeaders(message.headers);
        records = decodeLogs(message.value);
      } catch (error) {
        bad.push({ message, error });
        continue;
      }
      // Kafka's message time stands in for a record that carries no time at all.
      const ms = Number.isSafeInteger(message.timestampMs) && message.timestampMs > 0 ? message.timestampMs : Date.now();
      const fallback = BigInt(ms) * 1_000_000n;
      for (const r of records) {
        const t = storedTimeNano(r, fallback);
        rows.push({ row: toOtelLogRow(r, t), day: utcDay(t) });
      }
    }
    const chunks = chunkByDay(rows, deps.maxRowsPerInsert);
    const base = `${sourceOf(topic)}-${partition}-${unit.first}-${unit.last}`;
    for (const [i, chunk] of chunks.entries()) await insert(chunk, chunks.length > 1 ? `${base}-${i}` : base);
    // After the rows: a failed send retries the batch, whose rows then deduplicate.
    if (bad.length > 0) await deadletter(topic, partition, bad);
    return rows.length;
  }

  return async (batch: ConsumedBatch): Promise<void> => {
    const { topic, partition, messages } = batch;
    if (messages.length === 0) return;
    if (!TOPIC_NAME.test(topic)) throw new PharosError('internal', `topic name ${JSON.stringify(topic)} is not a Kafka topic name`);
    const first = Number(messages[0]!.offset);
    const last = Number(messages[messages.length - 1]!.offset);
    const started = performance.now();
    let recorded: OffsetRange[];
    try {
      recorded = await recordedRanges(topic, partition, first, last);
    } catch (err) {
      metrics.insertErrors.labels(TABLE).inc();
      throw new PharosError('insert_failed', `reading the warehouse_batches ledger failed: ${(err as Error).message.split('\n')[0]}`, true, { cause: err });
    }
    const units = planInsertUnits(first, last, recorded);
    let rows = 0;
    let skipped = 0;
    for (const unit of units) {
      const inUnit = messages.filter((m) => {
        const o = Number(m.offset);
        return o >= unit.first && o <= unit.last;
      });
      if (unit.kind === 'stored') {
        skipped += inUnit.length;
        continue;
      }
      if (unit.kind === 'mismatch') {
        log.warn({ topic, partition, first: unit.first, last: unit.last }, 'replayed offsets cut a recorded range short; stored again under a new token, duplicates possible');
      }
      if (unit.kind !== 'replay') {
        try {
          await record(topic, partition, unit);
        } catch (err) {
          metrics.insertErrors.labels(TABLE).inc();
          throw new PharosError('insert_failed', `recording offsets ${unit.first}-${unit.last} in warehouse_batches failed: ${(err as Error).message.split('\n')[0]}`, true, { cause: err });
        }
      }
      rows += await storeUnit(topic, partition, unit, inUnit);
    }
    log.debug({ topic, partition, first, last, messages: messages.length, rows, skipped_messages: skipped, duration_ms: Math.round(performance.now() - started) }, 'batch stored');
  };
}

export interface OffsetRange {
  first: number;
  last: number;
}

export interface InsertUnit extends OffsetRange {
  /**
   * `new`: never recorded. `replay`: the last recorded range, inserted again under its own token.
   * `stored`: a recorded range with a successor, so its insert had succeeded. `mismatch`: the batch
   * covers only part of a recorded range whose outcome is unknown — no token can match it.
   */
  kind: 'new' | 'replay' | 'stored' | 'mismatch';
}

/**
 * Cuts the offsets `first..last` of a batch into insert units along the ranges recorded in the
 * ledger (`recorded`: every range ending at or after `first`, ordered by first offset).
 */
export function planInsertUnits(first: number, last: number, recorded: readonly OffsetRange[]): InsertUnit[] {
  const units: InsertUnit[] = [];
  let cur = first;
  for (let i = 0; i < recorded.length && cur <= last; i++) {
    const r = recorded[i]!;
    if (r.last < cur) continue;
    if (r.first > last) break;
    if (r.first > cur) {
      units.push({ kind: 'new', first: cur, last: r.first - 1 });
      cur = r.first;
    }
    const end = Math.min(r.last, last);
    // Ranges are recorded one at a time, each after the previous one's rows were acknowledged.
    const hasSuccessor = i + 1 < recorded.length;
    if (hasSuccessor) units.push({ kind: 'stored', first: cur, last: end });
    else if (r.first === cur && r.last <= last) units.push({ kind: 'replay', first: r.first, last: r.last });
    else units.push({ kind: 'mismatch', first: cur, last: end });
    cur = end + 1;
  }
  if (cur <= last) units.push({ kind: 'new', first: cur, last });
  return units;
}

/**
 * Splits rows by UTC day — `otel_logs` is partitioned by day and ClickHouse refuses an insert
 * touching more than 100 partitions — then by `maxRows`. The split depends only on the rows,
 * so a replay of the same offsets yields the same chunks and tokens. (A server in another time
 * zone cuts days elsewhere: a chunk then touches at most two partitions.)
 */
export function chunkByDay(rows: ReadonlyArray<{ row: OtelLogRow; day: number }>, maxRows: number): OtelLogRow[][] {
  const byDay = new Map<number, OtelLogRow[]>();
  for (const { row, day } of rows) {
    let list = byDay.get(day);
    if (!list) byDay.set(day, (list = []));
    list.push(row);
  }
  const chunks: OtelLogRow[][] = [];
  for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
    const list = byDay.get(day)!;
    for (let i = 0; i < list.length; i += maxRows) chunks.push(list.slice(i, i + maxRows));
  }
  return chunks;
}

/** At most one log line per event every 10 s, carrying how many were held back meanwhile. */
function rateLimitedLog(log: Logger): (event: string, fields: Record<string, unknown>, msg: string) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (event, fields, msg) => {
    const now = Date.now();
    const state = last.get(event);
    if (state && now - state.at < ERROR_LOG_INTERVAL_MS) {
      state.suppressed++;
      return;
    }
    log.warn({ event, ...fields, suppressed: state?.suppressed ?? 0 }, msg);
    last.set(event, { at: now, suppressed: 0 });
  };
}
