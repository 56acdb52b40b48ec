/**
 * The per-partition batch handler for one target table: ledger, insert units, deduplication
 * tokens, day-split chunks, dead letters and metrics. What differs between tables (how a message
 * becomes rows) comes in a TableSpec. writer.ts explains the exactly-once argument.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { BusProducer, ConsumedBatch, ConsumedMessage } from '../../core/bus/bus.js';
import { PharosError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { rateLimitedLog, sendDeadLetters, type Undecodable } from './deadletter.js';
import { BufferPool, ByteSink } from './byte-sink.js';
import { ledgerFor, planInsertUnits, type OffsetRange } from './ledger.js';
import type { WarehouseMetrics } from './metrics.js';
import { rawInserter, type InsertSettings, type RawInsert } from './raw-insert.js';

/**
 * See TableBatchHandlerDeps.chunkRows. 10,000-row chunks (more overlap) were no faster than 50,000
 * in the handler bench on this 2-core machine, and make five times the parts to merge.
 */
export const DEFAULT_CHUNK_ROWS = 50_000;

/** Kafka's legal topic characters: what lets a topic name appear in SQL text without parameters. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export interface TableSpec {
  /** Target table in the configured database; also the ledger's `target`. */
  table: string;
  /** Columns of the TabSeparated lines, in order. */
  columns: readonly string[];
  /** Settings the lines need to parse (besides the deduplication ones the handler adds). */
  settings: InsertSettings;
  /**
   * Calls `emit` with the UTC day (the table's partition) and TabSeparated line of each row of
   * a message; throws when the message does not decode (it is then dead-lettered).
   */
  rows(message: ConsumedMessage, emit: (day: number, line: string) => void): void;
}

export interface TableBatchHandlerDeps {
  /** Set when offsets restart with the bus (in-process bus): names the offsets' lifetime in tokens and ledger. */
  sourceEpoch?: string;
  clickhouse: ClickHouseClient;
  /** Where the ledger is read and written (default: `clickhouse`); on chDB a second connection, so it does not wait behind inserts. */
  ledgerClickhouse?: ClickHouseClient;
  database: string;
  deadletterTopic: string;
  producer: BusProducer;
  log: Logger;
  metrics: WarehouseMetrics;
  maxRowsPerInsert: number;
  /** Bytes of TabSeparated text per insert at most (a single larger row still goes alone). */
  maxBytesPerInsert?: number;
  /**
   * Rows per insert when a unit holds more (at most maxRowsPerInsert): smaller chunks let the
   * insert of one overlap with building the next. Changing it changes tokens: keep it stable.
   */
  chunkRows?: number;
  /** Overrides how payloads reach ClickHouse (tests); by default the fastest path the client offers. */
  insert?: RawInsert;
}

/**
 * Fault-test hook (test/faults): with PHAROS_FAULT_KILL_AFTER_INSERT=1 the process SIGKILLs itself
 * once a batch's inserts were acknowledged, before the bus commits its offsets: the crash the
 * exactly-once design must survive, at its worst moment. Read once at load; inert when unset.
 */
const KILL_AFTER_INSERT = process.env.PHAROS_FAULT_KILL_AFTER_INSERT === '1';
/**
 * Fault hook of `pharos chaos --break-deduplication`: inserts without deduplication, so the chaos
 * run can show that its checks catch the duplicates a replay then stores. Never set it otherwise.
 */
const NO_DEDUP_TOKEN = process.env.PHAROS_FAULT_NO_DEDUP_TOKEN === '1';

/** A Kafka message's time, for records that carry no usable time of their own. */
export function messageTimeMs(message: ConsumedMessage): number {
  return Number.isSafeInteger(message.timestampMs) && message.timestampMs > 0 ? message.timestampMs : Date.now();
}

export function tableBatchHandler(spec: TableSpec, deps: TableBatchHandlerDeps): (batch: ConsumedBatch) => Promise<void> {
  const { log, metrics, database } = deps;
  const { table } = spec;
  const logLimited = rateLimitedLog(log);
  const ledger = ledgerFor(deps.ledgerClickhouse ?? deps.clickhouse, database, table);
  const rawInsert = deps.insert ?? rawInserter(deps.clickhouse);
  const maxBytes = deps.maxBytesPerInsert ?? 64 * 1024 * 1024;
  const chunkRows = Math.max(1, Math.min(deps.maxRowsPerInsert, deps.chunkRows ?? DEFAULT_CHUNK_ROWS));
  // Small to start: a backfill fills a sink per day, up to 100 of them. Growth doubles, so the
  // copies add up to less than one chunk; buffers come back to the pool after their insert, so a
  // steady stream writes every chunk into a buffer of the right size already.
  const sinkBytes = 256 * 1024;
  const pool = new BufferPool();

  const epoch = deps.sourceEpoch ?? '';
  if (!/^[0-9a-f]*$/.test(epoch)) throw new Error(`source epoch ${JSON.stringify(epoch)} must be lowercase hex`);
  /** The topic as the ledger and the tokens name it: with the bus's epoch when offsets do not outlive it. */
  const sourceOf = (topic: string): string => (epoch === '' ? topic : `${topic}~${epoch}`);

  /**
   * At most one insert in flight per table, whichever partition it comes from: batches of several
   * partitions are handled at once (several consumers, or the in-process bus's loop per partition)
   * so that one decodes while another inserts, and the engine gets one part at a time.
   */
  let insertTail: Promise<unknown> = Promise.resolve();
  function insertExclusive(body: Buffer, rows: number, token: string, timing: BatchTiming, stillOwned: StillOwned): Promise<void> {
    // Ownership is checked after waiting for the lock, right before the insert: a member that
    // stalled past its session (or waited behind a long insert) while its partition moved on must
    // not store what the new owner stores under a token of its own.
    const run = insertTail.then(async () => {
      await stillOwned();
      await insert(body, rows, token, timing);
    });
    insertTail = run.catch(() => {});
    return run;
  }

  async function insert(body: Buffer, rows: number, token: string, timing: BatchTiming): Promise<void> {
    const started = performance.now();
    try {
      // Every setting on every insert: a token left over from one insert must never reach the next.
      // Newer ClickHouse (chDB 3.4) dedups by block hash unless `deduplicate_insert` is off too.
      const dedup: Record<string, string | number> = NO_DEDUP_TOKEN ? { insert_deduplicate: 0, deduplicate_insert: 'disable' } : { insert_deduplicate: 1, insert_deduplication_token: token };
      await rawInsert(database, table, spec.columns, body, { ...spec.settings, ...dedup, async_insert: 0 });
    } catch (err) {
      metrics.insertErrors.labels(table).inc();
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      logLimited('insert_failed', { table, rows, token, err: message }, 'insert into clickhouse failed; the batch will be retried');
      throw new PharosError('insert_failed', `insert of ${rows} rows into ${table} (token ${token}) failed: ${message}`, true, { cause: err });
    }
    const ms = performance.now() - started;
    timing.insertMs += ms;
    metrics.insertDuration.labels(table).observe(ms / 1000);
    metrics.rowsInserted.labels(table).inc(rows);
    metrics.lastInsert.labels(table).set(Date.now() / 1000);
  }

  /**
   * Decodes a unit's messages into per-day sinks and inserts each sink as it fills, one insert in
   * flight while the next chunk is built (the insert runs on a native thread). A chunk is cut at
   * `chunkRows` rows or `maxBytes` bytes of its day, so the cut — and the tokens — depend only on
   * the messages: a replay of the same offsets makes the same chunks. The tokens are
   * `<unit>-<i>` in the order chunks fill, or `<unit>` alone when the unit fits one chunk.
   */
  async function storeUnit(topic: string, partition: number, unit: OffsetRange, messages: readonly ConsumedMessage[], timing: BatchTiming, stillOwned: StillOwned): Promise<number> {
    const base = `${sourceOf(topic)}-${partition}-${unit.first}-${unit.last}`;
    const sinks = new Map<number, ByteSink>();
    const bad: Undecodable[] = [];
    let rows = 0;
    let sealed = 0;
    let held: { body: Buffer; rows: number; sink: ByteSink } | undefined;
    let inFlight: Promise<void> | undefined;

    // The buffer is reused only once the engine is done with it, acknowledged or not.
    const send = (chunk: { body: Buffer; rows: number; sink: ByteSink }, token: string): Promise<void> => insertExclusive(chunk.body, chunk.rows, token, timing, stillOwned).finally(() => chunk.sink.release());

    const seal = async (sink: ByteSink): Promise<void> => {
      const chunk = { body: sink.seal(), rows: sink.rows, sink };
      if (held !== undefined) {
        if (inFlight) await inFlight;
        const h = held;
        const i = sealed - 1;
        inFlight = send(h, `${base}-${i}`);
        // Awaited before the next insert or at the end; until then a failure must not count as unhandled.
        inFlight.catch(() => {});
      }
      held = chunk;
      sealed++;
    };

    let started = performance.now();
    // A message's rows are kept only once all of it turned into rows: one that throws part-way
    // is dead-lettered whole, never half stored.
    let days: number[] = [];
    let lines: string[] = [];
    const emit = (day: number, line: string): void => {
      days.push(day);
      lines.push(line);
    };
    for (const message of messages) {
      days = [];
      lines = [];
      try {
        spec.rows(message, emit);
      } catch (error) {
        bad.push({ message, error });
        continue;
      }
      for (let i = 0; i < lines.length; i++) {
        const day = days[i]!;
        const line = lines[i]!;
        let sink = sinks.get(day);
        if (sink !== undefined && (sink.rows >= chunkRows || sink.bytes + line.length > maxBytes)) {
          timing.rowsMs += performance.now() - started;
          await seal(sink);
          started = performance.now();
          sink = undefined;
        }
        if (sink === undefined) sinks.set(day, (sink = new ByteSink(sinkBytes, pool)));
        sink.append(line);
      }
      rows += lines.length;
    }
    timing.rowsMs += performance.now() - started;
    for (const day of [...sinks.keys()].sort((a, b) => a - b)) await seal(sinks.get(day)!);
    if (inFlight) await inFlight;
    if (held !== undefined) await send(held, sealed > 1 ? `${base}-${sealed - 1}` : base);
    // After the rows: a failed send retries the batch, whose rows then deduplicate.
    if (bad.length > 0) {
      await sendDeadLetters(deps.producer, deps.deadletterTopic, topic, partition, bad, logLimited);
      metrics.deadletters.labels('decode_failed').inc(bad.length);
    }
    return rows;
  }

  return async (batch: ConsumedBatch): Promise<void> => {
    const { topic, partition, messages } = batch;
    if (messages.length === 0) return;
    const stillOwned: StillOwned = batch.stillOwned ?? (async () => {});
    if (!TOPIC_NAME.test(topic)) throw new PharosError('internal', `topic name ${JSON.stringify(topic)} is not a Kafka topic name`);
    const source = sourceOf(topic);
    const first = Number(messages[0]!.offset);
    const last = Number(messages[messages.length - 1]!.offset);
    const started = performance.now();
    const timing: BatchTiming = { ledgerMs: 0, rowsMs: 0, insertMs: 0 };
    let recorded: OffsetRange[];
    try {
      recorded = await ledger.recorded(source, partition, first, last);
    } catch (err) {
      metrics.insertErrors.labels(table).inc();
      throw new PharosError('insert_failed', `reading the warehouse_batches ledger failed: ${(err as Error).message.split('\n')[0]}`, true, { cause: err });
    }
    timing.ledgerMs += performance.now() - started;
    const units = planInsertUnits(first, last, recorded);
    let rows = 0;
    let skipped = 0;
    for (const unit of units) {
      const inUnit = units.length === 1 ? messages : messages.filter((m) => {
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
        await stillOwned();
        try {
          const ledgerStarted = performance.now();
          await ledger.record(source, partition, unit);
          timing.ledgerMs += performance.now() - ledgerStarted;
        } catch (err) {
          metrics.insertErrors.labels(table).inc();
          throw new PharosError('insert_failed', `recording offsets ${unit.first}-${unit.last} in warehouse_batches failed: ${(err as Error).message.split('\n')[0]}`, true, { cause: err });
        }
      }
      rows += await storeUnit(topic, partition, unit, inUnit, timing, stillOwned);
    }
    if (KILL_AFTER_INSERT && rows > 0) process.kill(process.pid, 'SIGKILL');
    log.debug({ table, topic, partition, first, last, messages: messages.length, rows, skipped_messages: skipped, duration_ms: Math.round(performance.now() - started), ledger_ms: Math.round(timing.ledgerMs), rows_ms: Math.round(timing.rowsMs), insert_ms: Math.round(timing.insertMs) }, 'batch stored');
  };
}

/** Rejects once the partition may belong to another member (ConsumedBatch.stillOwned). */
type StillOwned = () => Promise<void>;

/** Where a batch's time went, for the debug line: the writer is tuned from these. */
interface BatchTiming {
  ledgerMs: number;
  rowsMs: number;
  /** Inserts alone, without waiting for another partition's insert to finish. */
  insertMs: number;
}

/**
 * Splits row objects by UTC day — the tables are partitioned by day and ClickHouse refuses an
 * insert touching more than 100 partitions — then by `maxRows`, for callers inserting row objects.
 */
export function chunkByDay<T>(rows: ReadonlyArray<{ row: T; day: number }>, maxRows: number): T[][] {
  const byDay = new Map<number, T[]>();
  for (const { row, day } of rows) {
    let list = byDay.get(day);
    if (!list) byDay.set(day, (list = []));
    list.push(row);
  }
  const chunks: T[][] = [];
  for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
    const list = byDay.get(day)!;
    for (let i = 0; i < list.length; i += maxRows) chunks.push(list.slice(i, i + maxRows));
  }
  return chunks;
}
