/**
 * Inserts a ready-made payload (TabSeparated bytes) in one call, as fast as the engine allows.
 *
 * On chDB, `@clickhouse/client`'s insert goes through chdb/connection, which turns the body into
 * one JS string, glues it to the SQL text and turns settings into session `SET`s. chdb/connection
 * also exposes chdb-node's raw insert: the Buffer is handed over without a copy and settings go
 * into the statement's own SETTINGS clause, so nothing outlives the insert on the session. On a
 * server the client streams the same bytes over HTTP with the settings as URL parameters (also
 * per query).
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';

export type InsertSettings = Record<string, string | number>;

export interface RawInsert {
  (database: string, table: string, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void>;
  /** Which path it takes, for logs and the bench. */
  readonly path: 'chdb-raw' | 'client';
}

interface ChdbRawInsert {
  rawInsert(params: { table: string; values: Buffer; format: 'TabSeparated'; columns: readonly string[]; settings: Record<string, string | number> }): Promise<unknown>;
}

/** The chdb/connection behind a client, if that is what it talks to. Not public API of either package: checked by shape. */
function chdbOf(client: ClickHouseClient): ChdbRawInsert | undefined {
  const chdb = (client as unknown as { connection?: { chdb?: Partial<ChdbRawInsert> } }).connection?.chdb;
  return typeof chdb?.rawInsert === 'function' ? (chdb as ChdbRawInsert) : undefined;
}

export function rawInserter(client: ClickHouseClient): RawInsert {
  const chdb = chdbOf(client);
  if (chdb) {
    return Object.assign(
      async (database: string, table: string, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void> => {
        if (body.length === 0) return;
        // chdb-node's identifier check takes `db.table` without backquotes (both are identifiers here).
        await chdb.rawInsert({ table: `${database}.${table}`, values: body, format: 'TabSeparated', columns, settings });
      },
      { path: 'chdb-raw' as const },
    );
  }
  return Object.assign(
    async (database: string, table: string, columns: readonly string[], body: Buffer, settings: InsertSettings): Promise<void> => {
      if (body.length === 0) return;
      // Readable.from defaults to object mode, which the client refuses for TabSeparated
      // ("expected Readable Stream with disabled object mode"): every insert on this path failed.
      await client.insert({ table: `\`${database}\`.${table}`, values: Readable.from([body], { objectMode: false }), format: 'TabSeparated', columns: [...columns] as [string, ...string[]], clickhouse_settings: settings });
    },
    { path: 'client' as const },
  );
}
