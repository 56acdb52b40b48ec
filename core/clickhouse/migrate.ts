/**
 * Brings the warehouse schema up to date at start: runs the migrations of ./migrations that
 * `<db>.schema_migrations` does not record yet, in order, then makes the tables' TTLs match
 * config (and, on a server, the TTL of its own system log tables: system-log-ttl.ts).
 *
 * A migration's row is written only after all its statements succeeded. Since every statement is
 * idempotent, a start interrupted mid-migration re-runs that migration from its first statement.
 * Two processes migrating at once run the same idempotent statements and may both record a row:
 * the table collapses them (ReplacingMergeTree on `version`) and reads group by version.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { PharosError } from '../errors.js';
import type { Logger } from '../log.js';
import { reconcileSystemLogTtl } from './system-log-ttl.js';
import { DEFAULT_METRICS_TTL_DAYS, metricTtls, migrationChecksum, migrations, renderStatement, type Migration, type MigrationContext } from './migrations/index.js';

export interface MigrateOptions {
  database: string;
  logsTtlDays: number;
  /** `clickhouse.metrics_ttl_days`; the config default when absent. */
  metricsTtlDays?: number;
  /**
   * A ClickHouse server's own log tables' retention (system-log-ttl.ts); absent on chDB and when
   * the config leaves them alone: see `systemLogsTtlDays(config)`.
   */
  systemLogsTtlDays?: number;
  log: Logger;
}

export async function migrate(client: ClickHouseClient, opts: MigrateOptions): Promise<{ applied: number[] }> {
  const ctx: MigrationContext = { database: opts.database, logsTtlDays: opts.logsTtlDays, metricsTtlDays: opts.metricsTtlDays ?? DEFAULT_METRICS_TTL_DAYS };
  assertOrdered(migrations);
  const db = renderStatement('{{database}}', ctx);

  await run(client, `CREATE DATABASE IF NOT EXISTS ${db}`, 'bootstrap');
  await run(
    client,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version`,
    'bootstrap',
  );

  const recorded = await recordedChecksums(client, db);
  const applied: number[] = [];
  for (const m of migrations) {
    const checksum = migrationChecksum(m);
    const prior = recorded.get(m.version);
    if (prior !== undefined) {
      if (prior !== checksum) {
        // Applied DDL cannot be re-run to match an edited file; say so loudly and carry on.
        opts.log.warn({ version: m.version, migration: m.name, recorded: prior, current: checksum }, 'applied migration was edited since; add a new migration instead');
      }
      continue;
    }
    const started = performance.now();
    for (const [i, template] of m.statements.entries()) {
      await run(client, renderStatement(template, ctx), `migration ${label(m)}, statement ${i + 1} of ${m.statements.length}`);
    }
    await client
      .insert({
        table: `${db}.schema_migrations`,
        values: [{ version: m.version, name: m.name, checksum }],
        format: 'JSONEachRow',
      })
      .catch((err: unknown) => {
        throw migrationError(`recording migration ${label(m)}`, err);
      });
    applied.push(m.version);
    opts.log.info({ version: m.version, migration: m.name, duration_ms: Math.round(performance.now() - started) }, 'migration applied');
  }

  const metricDays = metricTtls(ctx.metricsTtlDays ?? DEFAULT_METRICS_TTL_DAYS);
  for (const t of [
    { table: 'otel_logs', timeExpr: 'TimestampTime', days: opts.logsTtlDays },
    { table: 'metric_samples', timeExpr: 'toDateTime(Timestamp)', days: metricDays.raw },
    { table: 'metric_rollup_1m', timeExpr: 'BucketStart', days: metricDays.rollup1m },
    { table: 'metric_rollup_1h', timeExpr: 'BucketStart', days: metricDays.rollup1h },
  ]) {
    await reconcileTtl(client, ctx, t, opts.log);
  }
  if (opts.systemLogsTtlDays !== undefined) await reconcileSystemLogTtl(client, { days: opts.systemLogsTtlDays, log: opts.log });
  return { applied };
}

async function recordedChecksums(client: ClickHouseClient, db: string): Promise<Map<number, string>> {
  try {
    const rs = await client.query({
      query: `SELECT version, argMax(checksum, applied_at) AS checksum FROM ${db}.schema_migrations GROUP BY version`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ version: number; checksum: string }>();
    return new Map(rows.map((r) => [Number(r.version), r.checksum]));
  } catch (err) {
    throw migrationError('reading schema_migrations', err);
  }
}

/**
 * `CREATE TABLE IF NOT EXISTS` never changes an existing table, so a changed TTL in config is
 * applied here. Existing parts are not rewritten (`materialize_ttl_after_modify = 0`): with
 * `ttl_only_drop_parts` they are dropped whole once every row in them has expired under the new TTL.
 */
async function reconcileTtl(client: ClickHouseClient, ctx: MigrationContext, t: { table: string; timeExpr: string; days: number }, log: Logger): Promise<void> {
  let createQuery: string | undefined;
  try {
    const rs = await client.query({
      query: 'SELECT create_table_query FROM system.tables WHERE database = {database:String} AND name = {table:String}',
      query_params: { database: ctx.database, table: t.table },
      format: 'JSONEachRow',
    });
    createQuery = (await rs.json<{ create_table_query: string }>())[0]?.create_table_query;
  } catch (err) {
    throw migrationError(`reading the ${t.table} TTL`, err);
  }
  if (createQuery === undefined) return;
  const current = /\bTTL\s+.*?\+\s*toIntervalDay\((\d+)\)/.exec(createQuery)?.[1];
  if (current !== undefined && Number(current) === t.days) return;
  // The day count is a validated integer; the rest of the statement is constant.
  await run(
    client,
    `${renderStatement(`ALTER TABLE {{database}}.${t.table}`, ctx)} MODIFY TTL ${t.timeExpr} + toIntervalDay(${t.days})`,
    `changing the ${t.table} TTL`,
    { materialize_ttl_after_modify: 0 },
  );
  log.info({ table: t.table, from_days: current === undefined ? null : Number(current), to_days: t.days }, `${t.table} TTL changed`);
}

async function run(client: ClickHouseClient, query: string, what: string, settings?: Record<string, number>): Promise<void> {
  try {
    await client.command({ query, ...(settings ? { clickhouse_settings: settings } : {}) });
  } catch (err) {
    throw migrationError(what, err);
  }
}

function migrationError(what: string, err: unknown): PharosError {
  const message = err instanceof Error ? err.message : String(err);
  // A ClickHouse error (it carries a numeric code) is about the statement and will fail again;
  // anything else is the connection, worth retrying at the next start.
  const fromServer = typeof (err as { code?: unknown })?.code === 'string' && /^\d+$/.test((err as { code: string }).code);
  return new PharosError('migration_failed', `${what} failed: ${message.split('\n')[0]}; migrations resume from there at the next start`, !fromServer, {
    cause: err,
  });
}

function label(m: Migration): string {
  return `${String(m.version).padStart(3, '0')}-${m.name}`;
}

function assertOrdered(list: readonly Migration[]): void {
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.version <= list[i - 1]!.version) throw new Error(`migrations out of order at ${label(list[i]!)}`);
  }
}
