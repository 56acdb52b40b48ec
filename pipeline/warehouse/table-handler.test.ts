import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { BusProducer, ConsumedBatch } from '../../core/bus/bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { encodeLogs, wireHeaders } from '../../core/codec/codec.js';
import { validateConfig } from '../../core/config/load.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { rawInserter, type RawInsert } from './raw-insert.js';
import { logBatchHandler, warehouseMetrics } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-table-handler-'));
const log = silentLogger();
const config = validateConfig({ data_dir: dir });
const admin = createClickHouse(config, log, 'admin');
const ingest = createClickHouse(config, log, 'ingest');
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

afterAll(async () => {
  await Promise.all([admin.close(), ingest.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function batch(from: number, messages: number, perMessage: number): ConsumedBatch {
  return {
    topic: 'logs',
    partition: 0,
    messages: Array.from({ length: messages }, (_, m) => {
      const bytes = encodeLogs(
        Array.from({ length: perMessage }, (_, i) => {
          const seq = (from + m) * perMessage + i;
          return { timeUnixNano: NOW_NS + BigInt(seq), observedTimeUnixNano: NOW_NS, severityNumber: 9, severityText: 'INFO', body: `line ${seq}`, resource: { 'service.name': 's' }, attributes: { seq }, traceId: '', spanId: '', flags: 0 };
        }),
      );
      return { key: null, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: wireHeaders(), offset: String(from + m), timestampMs: Date.now() };
    }),
  };
}

/** The log table's batch handler on `db`, inserting through `insert`; dead letters go nowhere. */
function handlerFor(db: string, insert: RawInsert, extra: { chunkRows?: number } = {}): (batch: ConsumedBatch) => Promise<void> {
  const producer: BusProducer = { send: async () => {}, close: async () => {} };
  return logBatchHandler({ clickhouse: ingest, database: db, deadletterTopic: 'dlq', producer, log, metrics: warehouseMetrics(createRegistry()), maxRowsPerInsert: 50_000, ...extra, insert });
}

async function stored(db: string): Promise<{ n: number; u: number }> {
  const rs = await admin.query({ query: `SELECT toUInt32(count()) AS n, toUInt32(uniqExact(LogAttributes['seq'])) AS u FROM ${db}.otel_logs`, format: 'JSONEachRow' });
  return (await rs.json<{ n: number; u: number }>())[0]!;
}

describe('chunked, overlapped inserts', () => {
  test('a unit larger than a chunk is cut the same way on a replay, and a failure part-way is retried without duplicates', async () => {
    const db = 'th_chunks';
    await migrate(admin, { database: db, logsTtlDays: 3650, log });
    const real = rawInserter(ingest);
    const tokens: string[] = [];
    let failAt = -1;
    const insert: RawInsert = Object.assign(
      async (...args: Parameters<RawInsert>) => {
        const token = String(args[4].insert_deduplication_token);
        if (tokens.length === failAt) {
          tokens.push(`failed:${token}`);
          throw new Error('engine unavailable');
        }
        tokens.push(token);
        await real(...args);
      },
      { path: real.path },
    );
    const handle = handlerFor(db, insert, { chunkRows: 7 });

    // The third chunk fails while the fourth is being built: the batch rejects, nothing is lost.
    failAt = 2;
    await expect(handle(batch(0, 10, 5))).rejects.toMatchObject({ code: 'insert_failed' });
    const firstTry = [...tokens];
    failAt = -1;
    tokens.length = 0;
    await handle(batch(0, 10, 5));
    expect(await stored(db)).toEqual({ n: 50, u: 50 });
    // 50 rows in chunks of 7: 8 chunks, the same tokens as the first attempt made before failing.
    expect(tokens).toEqual(Array.from({ length: 8 }, (_, i) => `logs-0-0-9-${i}`));
    expect(firstTry.slice(0, 2)).toEqual(tokens.slice(0, 2));
    expect(firstTry[2]).toBe(`failed:${tokens[2]}`);

    // Token dedup alone (ledger dropped): the same cut, every chunk deduplicated.
    await admin.command({ query: `TRUNCATE TABLE ${db}.warehouse_batches` });
    tokens.length = 0;
    await handle(batch(0, 10, 5));
    expect(tokens).toHaveLength(8);
    expect(await stored(db)).toEqual({ n: 50, u: 50 });

    // A unit that fits one chunk keeps the plain token.
    tokens.length = 0;
    await handle(batch(10, 1, 5));
    expect(tokens).toEqual(['logs-0-10-10']);
    expect(await stored(db)).toEqual({ n: 55, u: 55 });
  });
});

describe('inserts of several partitions', () => {
  test('batches of three partitions handled at once keep one insert in flight for the table, and every row lands once', async () => {
    const db = 'th_one_in_flight';
    await migrate(admin, { database: db, logsTtlDays: 3650, log });
    const real = rawInserter(ingest);
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    let othersArrived: () => void = () => {};
    const allArrived = new Promise<void>((resolve) => (othersArrived = resolve));
    const insert: RawInsert = Object.assign(
      async (...args: Parameters<RawInsert>) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (++calls === 3) othersArrived();
        try {
          // Held open until every partition reached its insert (which only a second insert in
          // flight would show), or for a bounded while when the handler serialises them.
          await Promise.race([allArrived, new Promise((r) => setTimeout(r, 150))]);
          await real(...args);
        } finally {
          inFlight--;
        }
      },
      { path: real.path },
    );
    const handle = handlerFor(db, insert);
    const onPartition = (partition: number, b: ConsumedBatch): ConsumedBatch => ({
      ...b,
      partition,
      messages: b.messages.map((m) => ({ ...m })),
    });
    // Different rows per partition: seqs 0-29, 30-59, 60-89.
    await Promise.all([handle(onPartition(0, batch(0, 3, 10))), handle(onPartition(1, batch(3, 3, 10))), handle(onPartition(2, batch(6, 3, 10)))]);
    expect(calls).toBe(3);
    expect(maxInFlight).toBe(1);
    expect(await stored(db)).toEqual({ n: 90, u: 90 });
  });
});

describe('ownership', () => {
  test('a batch whose partition moved to another member while it waited stores nothing; the new owner stores every row once', async () => {
    const db = 'th_still_owned';
    await migrate(admin, { database: db, logsTtlDays: 3650, log });
    const real = rawInserter(ingest);
    let calls = 0;
    const insert: RawInsert = Object.assign(
      async (...args: Parameters<RawInsert>) => {
        calls++;
        await real(...args);
      },
      { path: real.path },
    );
    const handle = handlerFor(db, insert);
    // The stalled member's batch is offsets 0-2; its partition is gone by the time it would write.
    const revoked = { ...batch(0, 3, 10), stillOwned: async () => Promise.reject(new Error('partition logs/0 was revoked')) };
    await expect(handle(revoked)).rejects.toThrow(/revoked/);
    expect(calls).toBe(0);
    // The new owner fetched more (offsets 0-4) in one batch: its own range, its own token.
    await handle({ ...batch(0, 5, 10), stillOwned: async () => {} });
    expect(await stored(db)).toEqual({ n: 50, u: 50 });
  });
});
