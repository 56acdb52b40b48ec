/**
 * The warehouse's schema, as numbered migrations applied in order by `migrate()`.
 *
 * Each migration is a list of statements that are each idempotent on their own (`CREATE ... IF
 * NOT EXISTS`), so a migration interrupted half-way is simply run again to completion on the next
 * start: there is no "dirty" state to repair. Statements are templates: `{{database}}` and
 * `{{logs_ttl_days}}` are filled from config at run time, and the checksum is taken over the
 * templates, so changing the TTL in config does not look like an edited migration.
 *
 * Never edit a migration that has shipped: add the next number.
 */
import { createHash } from 'node:crypto';
import { PharosError } from '../../errors.js';
import { otelLogs } from './001-otel-logs.js';
import { warehouseBatches } from './002-warehouse-batches.js';
import { metricSamples } from './003-metric-samples.js';
import { alertEvents } from './004-alert-events.js';
import { sqlAudit } from './005-sql-audit.js';
import { dashboards } from './006-dashboards.js';
import { bodyIndexPerGranule } from './007-body-index-per-granule.js';

export interface Migration {
  version: number;
  /** kebab-case, as in the file name. */
  name: string;
  statements: readonly string[];
}

export interface MigrationContext {
  database: string;
  logsTtlDays: number;
  /** Raw metric samples' retention; absent means the config default (callers older than migration 003). */
  metricsTtlDays?: number;
}

export const migrations: readonly Migration[] = [otelLogs, warehouseBatches, metricSamples, alertEvents, sqlAudit, dashboards, bodyIndexPerGranule];

/** `clickhouse.metrics_ttl_days`'s default in config. */
export const DEFAULT_METRICS_TTL_DAYS = 30;

/** The rollups keep 10× and 100× as long as raw samples: what long ranges read once raw data is gone. */
export function metricTtls(metricsTtlDays: number): { raw: number; rollup1m: number; rollup1h: number } {
  return { raw: metricsTtlDays, rollup1m: Math.min(MAX_LOGS_TTL_DAYS, metricsTtlDays * 10), rollup1h: Math.min(MAX_LOGS_TTL_DAYS, metricsTtlDays * 100) };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `TimestampTime + toIntervalDay(n)` is DateTime arithmetic, which wraps past 2106-02-07: with
 * n = 36500 the TTL of a row written today lands in 1989 and the next merge drops it (seen on
 * chDB within seconds). 20,000 days (~54 years) keeps rows written before 2051 correct.
 */
export const MAX_LOGS_TTL_DAYS = 20_000;

export function renderStatement(template: string, ctx: MigrationContext): string {
  // Config validates both, but these land in DDL text (identifiers cannot be query parameters).
  if (!IDENTIFIER.test(ctx.database)) throw new PharosError('invalid_config', `invalid database name ${JSON.stringify(ctx.database)}`);
  if (!Number.isInteger(ctx.logsTtlDays) || ctx.logsTtlDays < 1 || ctx.logsTtlDays > MAX_LOGS_TTL_DAYS) {
    throw new PharosError(
      'invalid_config',
      `clickhouse.logs_ttl_days must be an integer from 1 to ${MAX_LOGS_TTL_DAYS}, got ${ctx.logsTtlDays}: a longer TTL overflows ClickHouse's DateTime (2106) and would expire every row at once`,
    );
  }
  const metricsDays = ctx.metricsTtlDays ?? DEFAULT_METRICS_TTL_DAYS;
  if (!Number.isInteger(metricsDays) || metricsDays < 1 || metricsDays > MAX_LOGS_TTL_DAYS) {
    throw new PharosError('invalid_config', `clickhouse.metrics_ttl_days must be an integer from 1 to ${MAX_LOGS_TTL_DAYS}, got ${metricsDays}`);
  }
  const ttl = metricTtls(metricsDays);
  return template
    .replaceAll('{{database}}', `\`${ctx.database}\``)
    .replaceAll('{{logs_ttl_days}}', String(ctx.logsTtlDays))
    .replaceAll('{{metrics_ttl_days}}', String(ttl.raw))
    .replaceAll('{{metrics_1m_ttl_days}}', String(ttl.rollup1m))
    .replaceAll('{{metrics_1h_ttl_days}}', String(ttl.rollup1h));
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.statements.join('\n;\n')).digest('hex');
}
