/**
 * Historical log search over `otel_logs`, for the dashboard and log alert rules. Give it a
 * client of purpose 'query', so a slow search never holds the writer's inserts.
 *
 * Text search is by whole tokens, case-sensitive, because that is what the body's `tokenbf_v1`
 * index can answer: each term ("quoted phrases" count as one) is split on the separators
 * ClickHouse tokenizes on (ASCII non-alphanumerics), each token becomes `hasToken(Body, …)`,
 * which prunes granules, and a term with separators (`ERR_CODE_7f3a`, `GET /api`) also needs
 * `position(Body, term) > 0`, since `hasToken` refuses a needle holding a separator and the
 * tokens alone would match them in any order. `position` rather than `positionCaseInsensitive`:
 * `hasToken` is case-sensitive already, and `hasTokenCaseInsensitive` is not served by the index
 * (measured on chDB 26.7: no granule skipped), so a case-insensitive phrase next to case-sensitive
 * tokens would only blur what a search means.
 *
 * Every value reaches ClickHouse as a query parameter. (On chDB, chdb-node runs parameterized
 * queries of the whole process one at a time; searches therefore queue behind each other.)
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { PharosError } from '../../core/errors.js';
import type { LogRow, LogSearch, LogSearchParams } from '../../core/model/log-search.js';

export interface ClickHouseLogSearchOptions {
  /** Upper bound on `limit`, whatever the caller asks. */
  maxLimit?: number;
  /** Terms beyond this many are refused rather than turned into an enormous query. */
  maxTerms?: number;
}

const NANOS_PER_SECOND = 1_000_000_000n;
const MAX_INT64 = 9_223_372_036_854_775_807n;
/** Last second of `DateTime` (TimestampTime). */
const MAX_DATETIME_SECONDS = 4_294_967_295n;
/** What ClickHouse's token functions treat as separators: every ASCII character but [A-Za-z0-9]. */
const SEPARATORS = /[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+/;

export class ClickHouseLogSearch implements LogSearch {
  private readonly table: string;
  private readonly maxLimit: number;
  private readonly maxTerms: number;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    opts: ClickHouseLogSearchOptions = {},
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new PharosError('invalid_config', `invalid database name ${JSON.stringify(database)}`);
    this.table = `\`${database}\`.otel_logs`;
    this.maxLimit = opts.maxLimit ?? 10_000;
    this.maxTerms = opts.maxTerms ?? 32;
  }

  async search(params: LogSearchParams): Promise<LogRow[]> {
    const { sql, values } = this.build(params);
    const rs = await this.client.query({ query: sql, query_params: values, format: 'JSONEachRow' });
    const rows = await rs.json<SelectedRow>();
    return rows.map(toLogRow);
  }

  /** The SQL text and its parameters; public for tests that check no value is interpolated. */
  build(params: LogSearchParams): { sql: string; values: Record<string, string | number> } {
    const { fromNs, toNs } = params;
    if (fromNs < 0n || toNs <= fromNs) throw new PharosError('bad_request', `time range [${fromNs}, ${toNs}) is empty or negative`);
    if (!Number.isInteger(params.limit) || params.limit < 1) throw new PharosError('bad_request', `limit must be a positive integer, got ${params.limit}`);
    const to = toNs > MAX_INT64 ? MAX_INT64 : toNs;
    const values: Record<string, string | number> = {
      fromNs: fromNs.toString(),
      toNs: to.toString(),
      // Whole seconds for TimestampTime, the partition and primary key column: these prune;
      // the Timestamp bounds then make the range exact to the nanosecond.
      fromS: min(fromNs / NANOS_PER_SECOND, MAX_DATETIME_SECONDS).toString(),
      toS: min((to - 1n) / NANOS_PER_SECOND, MAX_DATETIME_SECONDS).toString(),
      limit: Math.min(params.limit, this.maxLimit),
    };
    const where = [
      'TimestampTime >= toDateTime({fromS:UInt32})',
      'TimestampTime <= toDateTime({toS:UInt32})',
      'Timestamp >= fromUnixTimestamp64Nano({fromNs:Int64})',
      'Timestamp < fromUnixTimestamp64Nano({toNs:Int64})',
    ];
    if (params.service !== undefined && params.service !== '') {
      values.service = params.service;
      where.push('ServiceName = {service:String}');
    }
    if (params.host !== undefined && params.host !== '') {
      values.host = params.host;
      where.push("ResourceAttributes['host.name'] = {host:String}");
    }
    if (params.minSeverity !== undefined && params.minSeverity > 0) {
      values.minSeverity = Math.min(255, Math.trunc(params.minSeverity));
      where.push('SeverityNumber >= {minSeverity:UInt8}');
    }
    const terms = searchTerms(params.text ?? '');
    if (terms.length > this.maxTerms) throw new PharosError('bad_request', `search text has ${terms.length} terms; at most ${this.maxTerms} are allowed`);
    let n = 0;
    for (const term of terms) {
      const tokens = term.split(SEPARATORS).filter((t) => t !== '');
      for (const token of tokens) {
        values[`t${n}`] = token;
        where.push(`hasToken(Body, {t${n++}:String})`);
      }
      if (tokens.length !== 1 || tokens[0] !== term) {
        values[`t${n}`] = term;
        where.push(`position(Body, {t${n++}:String}) > 0`);
      }
    }
    const sql = `SELECT
    toString(toUnixTimestamp64Nano(Timestamp)) AS time_ns,
    SeverityText, SeverityNumber, ServiceName,
    ResourceAttributes['host.name'] AS host_name,
    Body, TraceId, SpanId, ResourceAttributes, LogAttributes
FROM ${this.table}
WHERE ${where.join('\n  AND ')}
ORDER BY Timestamp DESC
LIMIT {limit:UInt32}
SETTINGS max_execution_time = 10, readonly = 1`;
    return { sql, values };
  }
}

/** Whitespace-separated words and "quoted phrases"; an unterminated quote runs to the end. */
export function searchTerms(text: string): string[] {
  const terms: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"?|(\S+)/g)) {
    const term = m[1] ?? m[2] ?? '';
    if (term.trim() !== '') terms.push(term);
  }
  return terms;
}

interface SelectedRow {
  time_ns: string;
  SeverityText: string;
  SeverityNumber: number;
  ServiceName: string;
  host_name: string;
  Body: string;
  TraceId: string;
  SpanId: string;
  ResourceAttributes: Record<string, string>;
  LogAttributes: Record<string, string>;
}

function toLogRow(r: SelectedRow): LogRow {
  return {
    timeUnixNano: r.time_ns,
    // The exporter's schema keeps one time per record (the event time, else the observed one).
    observedTimeUnixNano: r.time_ns,
    severityText: r.SeverityText,
    severityNumber: Number(r.SeverityNumber),
    serviceName: r.ServiceName,
    hostName: r.host_name,
    body: r.Body,
    traceId: r.TraceId,
    spanId: r.SpanId,
    resourceAttributes: r.ResourceAttributes,
    logAttributes: r.LogAttributes,
  };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
