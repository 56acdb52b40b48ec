/**
 * The `warehouse_batches` ledger (migration 002) and how a batch is cut along it. See writer.ts
 * for why replays need it; this file holds the parts shared by every target table.
 */
import type { ClickHouseClient } from '@clickhouse/client';

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

export interface Ledger {
  recorded(source: string, partition: number, first: number, last: number): Promise<OffsetRange[]>;
  record(source: string, partition: number, unit: OffsetRange): Promise<void>;
}

/**
 * The ledger of one target table. No query parameters (see writer.ts): `source` is a validated
 * topic name plus a hex epoch, the rest are numbers.
 */
export function ledgerFor(clickhouse: ClickHouseClient, database: string, target: string): Ledger {
  const ledger = `\`${database}\`.warehouse_batches`;
  return {
    async recorded(source, partition, first, last) {
      // Enough rows for every range inside the batch plus the one after it (ranges hold >= 1 offset).
      const limit = Math.min(last - first + 2, 100_000);
      const rs = await clickhouse.query({
        query: `SELECT first_offset, last_offset FROM ${ledger} FINAL
WHERE target = '${target}' AND topic = '${source}' AND kafka_partition = ${partition} AND last_offset >= ${first}
ORDER BY first_offset LIMIT ${limit}`,
        format: 'JSONEachRow',
      });
      const rows = await rs.json<{ first_offset: string | number; last_offset: string | number }>();
      return rows.map((r) => ({ first: Number(r.first_offset), last: Number(r.last_offset) }));
    },
    async record(source, partition, unit) {
      await clickhouse.insert({
        table: ledger,
        values: [{ target, topic: source, kafka_partition: partition, first_offset: unit.first, last_offset: unit.last }],
        format: 'JSONEachRow',
        // chDB keeps a SET for the session: clear any token a client-path insert left behind.
        clickhouse_settings: { insert_deduplication_token: '' },
      });
    },
  };
}
