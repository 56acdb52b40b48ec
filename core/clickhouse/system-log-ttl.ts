/**
 * Retention of a ClickHouse server's own log tables (`system.query_log`, `part_log`, …), which
 * otherwise grow without bound on a busy warehouse: at every start their TTL is made
 * `event_date + n days` (`clickhouse.system_logs_ttl_days`), and each change is logged, old → new.
 *
 * Only on a server: chDB keeps none of these tables. Nothing here stops a start: a table that does
 * not exist (not enabled in the server's config, or not flushed yet since the server started), a
 * TTL someone wrote by hand (moves, conditions) and a refused ALTER (the user lacks the grant) are
 * logged as warnings and left as they are.
 *
 * An ALTERed system log TTL is not the server's config: at its start ClickHouse builds each system
 * log table from its config and, where the existing table's definition differs, renames the old one
 * (`query_log_0`, …, keeping its data and the TTL set here) and creates a new one. Pharos sets the TTL
 * again at its own next start; for retention that holds across server restarts without Pharos, set
 * `<ttl>event_date + INTERVAL 7 DAY DELETE</ttl>` in each log's section of the server's config.
 * The ALTER keeps ClickHouse's default `materialize_ttl_after_modify = 1`: the new TTL is applied to
 * existing parts by a background mutation, so shortening it frees the disk it is meant to free.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { PharosConfig } from '../config/schema.js';
import type { Logger } from '../log.js';

/** The system log tables that grow with the warehouse's traffic. */
export const SYSTEM_LOG_TABLES = ['query_log', 'part_log', 'trace_log', 'metric_log', 'text_log', 'asynchronous_metric_log'] as const;

export interface SystemTable {
  name: string;
  /** `system.tables.engine_full`: the engine clause with PARTITION BY, ORDER BY, TTL and SETTINGS. */
  engine_full: string;
}

export type SystemLogTtlStep =
  | { table: string; action: 'keep'; days: number }
  | { table: string; action: 'set'; fromDays: number | null; toDays: number; sql: string }
  | { table: string; action: 'custom'; ttl: string }
  | { table: string; action: 'missing' };

/** `migrate()`'s `systemLogsTtlDays` for a config: the configured days on a server; none on chDB or when 0. */
export function systemLogsTtlDays(config: PharosConfig): number | undefined {
  const days = config.clickhouse.system_logs_ttl_days;
  return config.clickhouse.url === '' || days === 0 ? undefined : days;
}

/** The TTL clause of an engine definition, as ClickHouse prints it; undefined when there is none. */
export function ttlOf(engineFull: string): string | undefined {
  return /\sTTL\s+(.+?)(?:\s+SETTINGS\s.*)?$/s.exec(engineFull)?.[1]?.trim();
}

/**
 * What to do with each system log table, given those the server has. Pure: tested without a
 * server. `database` is `system` but for tests.
 */
export function planSystemLogTtl(existing: readonly SystemTable[], days: number, database = 'system'): SystemLogTtlStep[] {
  if (!Number.isInteger(days) || days < 1) throw new Error(`system log TTL must be a whole number of days, got ${days}`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new Error(`invalid database name ${JSON.stringify(database)}`);
  const byName = new Map(existing.map((t) => [t.name, t]));
  return SYSTEM_LOG_TABLES.map((table): SystemLogTtlStep => {
    const t = byName.get(table);
    if (t === undefined) return { table, action: 'missing' };
    const ttl = ttlOf(t.engine_full);
    const current = ttl === undefined ? null : /^event_date \+ toIntervalDay\((\d+)\)$/.exec(ttl)?.[1];
    if (current === undefined) return { table, action: 'custom', ttl: ttl! };
    if (current !== null && Number(current) === days) return { table, action: 'keep', days };
    return {
      table,
      action: 'set',
      fromDays: current === null ? null : Number(current),
      toDays: days,
      sql: `ALTER TABLE \`${database}\`.${table} MODIFY TTL event_date + toIntervalDay(${days})`,
    };
  });
}

export interface ReconcileSystemLogTtlOptions {
  days: number;
  log: Logger;
  /** For tests: a database standing in for `system`. */
  database?: string;
}

/** Applies planSystemLogTtl on the server; never throws. Returns what it did, for tests. */
export async function reconcileSystemLogTtl(client: ClickHouseClient, opts: ReconcileSystemLogTtlOptions): Promise<SystemLogTtlStep[]> {
  const database = opts.database ?? 'system';
  const log = opts.log;
  let existing: SystemTable[];
  try {
    const rs = await client.query({
      query: 'SELECT name, engine_full FROM system.tables WHERE database = {database:String} AND name IN {names:Array(String)}',
      query_params: { database, names: [...SYSTEM_LOG_TABLES] },
      format: 'JSONEachRow',
    });
    existing = await rs.json<SystemTable>();
  } catch (err) {
    log.warn({ err: firstLine(err) }, 'cannot read the system log tables; their TTL is left as it is');
    return [];
  }
  const plan = planSystemLogTtl(existing, opts.days, database);
  const missing = plan.filter((s) => s.action === 'missing').map((s) => `${database}.${s.table}`);
  if (missing.length > 0) log.warn({ tables: missing }, 'system log tables not found (not enabled in the server config, or not written yet): their TTL is set at a later start');
  for (const step of plan) {
    if (step.action === 'custom') {
      log.warn({ table: `${database}.${step.table}`, ttl: step.ttl }, 'system log table has a TTL Pharos did not write; left as it is');
    } else if (step.action === 'set') {
      try {
        await client.command({ query: step.sql });
        log.info({ table: `${database}.${step.table}`, from_days: step.fromDays, to_days: step.toDays }, `${database}.${step.table} TTL changed`);
      } catch (err) {
        log.warn({ table: `${database}.${step.table}`, from_days: step.fromDays, to_days: step.toDays, err: firstLine(err) }, 'cannot change the TTL of a system log table; left as it is');
      }
    }
  }
  return plan;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
