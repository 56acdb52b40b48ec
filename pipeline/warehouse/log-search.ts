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
import { logScopeSql, type LabelScope } from '../../core/http/scope.js';
import type { LogRow, LogSearch, LogSearchParams } from '../../core/model/log-search.js';
import { checkBudget } from './query-budget.js';

/** Query parameters: scalars, and the scope's allowed values as arrays. */
type QueryValues = Record<string, string | number | string[]>;

/** The search of core/model with what only the warehouse offers on top. */
export interface WarehouseLogSearchParams extends LogSearchParams {
  /** `LogAttributes[key] = value` for each entry (`attr.key=value` in the API). */
  attributes?: Readonly<Record<string, string>> | undefined;
  /** `nextCursor` of the previous page: continues after its last row. */
  cursor?: string | undefined;
  /**
   * What the caller may see (core/http/scope.ts), applied in the WHERE so a page is full and
   * counts are true; absent: everything.
   */
  scope?: LabelScope | undefined;
}

export interface LogPage {
  rows: LogRow[];
  /** Present when the page was full: pass it as `cursor` for the next, older page. */
  nextCursor?: string;
}

export interface HistogramParams extends Omit<WarehouseLogSearchParams, 'limit' | 'cursor'> {
  /** Number of equal intervals the range is cut into (1-1000). */
  buckets: number;
}

export interface HistogramBucket {
  /** Interval start, nanoseconds since the epoch, decimal string; the interval runs to the next one's start. */
  startNs: string;
  count: number;
}

export interface ContextParams {
  service: string;
  host?: string | undefined;
  /** The line's time, nanoseconds since the epoch. */
  timeNs: bigint;
  /** Older lines wanted (0-1000). */
  before: number;
  /** Newer lines wanted after the line itself (0-1000). */
  after: number;
  /** Neighbours outside it are skipped in the query, so `before`/`after` count visible lines. */
  scope?: LabelScope | undefined;
}

export interface LogContext {
  /** Oldest first: up to `before` older lines, then the lines at `timeNs`, then up to `after` newer ones. */
  rows: LogRow[];
  /** Index in `rows` of the first line at `timeNs`, or where it would be. */
  index: number;
}

export interface ClickHouseLogSearchOptions {
  /** Upper bound on `limit`, whatever the caller asks. */
  maxLimit?: number;
  /** Terms beyond this many are refused rather than turned into an enormous query. */
  maxTerms?: number;
  /**
   * Rows a search or histogram may read by ClickHouse's estimate (EXPLAIN ESTIMATE, after
   * partition and primary-key pruning) before it is refused; unlimited when absent.
   */
  budgetRows?: number;
  /** How far from a line `context()` looks for its neighbours, each way (default 1 h). */
  contextWindowNs?: bigint;
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
  private readonly budgetRows: number | undefined;
  private readonly contextWindowNs: bigint;

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
    opts: ClickHouseLogSearchOptions = {},
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new PharosError('invalid_config', `invalid database name ${JSON.stringify(database)}`);
    this.table = `\`${database}\`.otel_logs`;
    this.maxLimit = opts.maxLimit ?? 10_000;
    this.maxTerms = opts.maxTerms ?? 32;
    this.budgetRows = opts.budgetRows;
    this.contextWindowNs = opts.contextWindowNs ?? 3_600n * NANOS_PER_SECOND;
  }

  async search(params: WarehouseLogSearchParams): Promise<LogRow[]> {
    return (await this.searchPage(params)).rows;
  }

  /** A page of matches, newest first, and the cursor of the next one. */
  async searchPage(params: WarehouseLogSearchParams): Promise<LogPage> {
    const { sql, values } = this.build(params);
    if (this.budgetRows !== undefined) await checkBudget(this.client, sql, values as Record<string, string | number>, this.budgetRows, 'this log search');
    const rs = await this.client.query({ query: sql, query_params: values, format: 'JSONEachRow' });
    const selected = await rs.json<SelectedRow & { tiebreak: string }>();
    const page: LogPage = { rows: selected.map(toLogRow) };
    const last = selected[selected.length - 1];
    if (last !== undefined && selected.length === values.limit) page.nextCursor = encodeCursor(BigInt(last.time_ns), last.tiebreak);
    return page;
  }

  /** Matches per interval: `buckets` equal intervals over the range, empty ones included. */
  async histogram(params: HistogramParams): Promise<HistogramBucket[]> {
    if (!Number.isInteger(params.buckets) || params.buckets < 1 || params.buckets > 1000) {
      throw new PharosError('bad_request', `buckets must be a whole number from 1 to 1000, got ${params.buckets}`);
    }
    const { where, values, fromNs, toNs } = this.filters(params);
    const span = toNs - fromNs;
    const width = (span + BigInt(params.buckets) - 1n) / BigInt(params.buckets);
    values.width = width.toString();
    values.from = fromNs.toString();
    const sql = `SELECT intDiv(toUnixTimestamp64Nano(Timestamp) - {from:Int64}, {width:Int64}) AS bucket, count() AS n
FROM ${this.table}
WHERE ${where.join('\n  AND ')}
GROUP BY bucket
SETTINGS max_execution_time = 10, readonly = 1`;
    if (this.budgetRows !== undefined) await checkBudget(this.client, sql, values as Record<string, string | number>, this.budgetRows, 'this log histogram');
    const rs = await this.client.query({ query: sql, query_params: values, format: 'JSONEachRow' });
    const counts = new Map((await rs.json<{ bucket: string | number; n: string | number }>()).map((r) => [Number(r.bucket), Number(r.n)]));
    const out: HistogramBucket[] = [];
    for (let i = 0; i < params.buckets && fromNs + BigInt(i) * width < toNs; i++) out.push({ startNs: (fromNs + BigInt(i) * width).toString(), count: counts.get(i) ?? 0 });
    return out;
  }

  /**
   * The lines of the same service (and host) around a line. Looks at most `contextWindowNs` each
   * way, so the read stays bounded however sparse the stream is.
   */
  async context(params: ContextParams): Promise<LogContext> {
    for (const k of ['before', 'after'] as const) {
      const n = params[k];
      if (!Number.isInteger(n) || n < 0 || n > 1000) throw new PharosError('bad_request', `${k} must be a whole number from 0 to 1000, got ${n}`);
    }
    if (params.service === '') throw new PharosError('bad_request', 'service is required for context');
    const t = params.timeNs;
    if (t < 0n || t > MAX_INT64) throw new PharosError('bad_request', `time ${t} is out of range`);
    const base = { service: params.service, host: params.host, scope: params.scope, limit: 1 };
    const older = params.before === 0 ? [] : await this.selectRows({ ...base, fromNs: max(0n, t - this.contextWindowNs), toNs: t, limit: params.before }, 'DESC');
    const newer = await this.selectRows({ ...base, fromNs: t, toNs: t + this.contextWindowNs, limit: Math.max(1, params.after + 1) }, 'ASC');
    // Lines sharing the line's own time all belong with it; `after` counts from the first of them.
    const atLine = newer.filter((r) => r.timeUnixNano === t.toString()).length;
    const rows = [...older.reverse(), ...newer.slice(0, Math.max(atLine, 0) + params.after)];
    return { rows, index: older.length };
  }

  private async selectRows(params: WarehouseLogSearchParams, order: 'ASC' | 'DESC'): Promise<LogRow[]> {
    const { sql, values } = this.build(params, order);
    const rs = await this.client.query({ query: sql, query_params: values, format: 'JSONEachRow' });
    return (await rs.json<SelectedRow>()).map(toLogRow);
  }

  /** The SQL text and its parameters; public for tests that check no value is interpolated. */
  build(params: WarehouseLogSearchParams, order: 'ASC' | 'DESC' = 'DESC'): { sql: string; values: QueryValues } {
    if (!Number.isInteger(params.limit) || params.limit < 1) throw new PharosError('bad_request', `limit must be a positive integer, got ${params.limit}`);
    let bounded = params;
    let after: { timeNs: bigint; tiebreak: string } | undefined;
    if (params.cursor !== undefined && params.cursor !== '') {
      after = decodeCursor(params.cursor);
      // Rows after the cursor are older: the range's end moves back, which also prunes.
      if (after.timeNs + 1n < params.toNs) bounded = { ...params, toNs: after.timeNs + 1n };
    }
    const { where, values } = this.filters(bounded);
    values.limit = Math.min(params.limit, this.maxLimit);
    if (after !== undefined) {
      values.cursorNs = after.timeNs.toString();
      values.cursorTie = after.tiebreak;
      where.push('(Timestamp < fromUnixTimestamp64Nano({cursorNs:Int64}) OR (Timestamp = fromUnixTimestamp64Nano({cursorNs:Int64}) AND tie < {cursorTie:UInt64}))');
    }
    // The tiebreak orders rows of the same nanosecond stably across pages; rows equal in all
    // of these are indistinguishable, and a page boundary between them drops the rest.
    const sql = `SELECT
    toString(toUnixTimestamp64Nano(Timestamp)) AS time_ns,
    SeverityText, SeverityNumber, ServiceName,
    ResourceAttributes['host.name'] AS host_name,
    Body, TraceId, SpanId, ResourceAttributes, LogAttributes,
    cityHash64(ServiceName, Body, ResourceAttributes, LogAttributes) AS tie,
    toString(tie) AS tiebreak
FROM ${this.table}
WHERE ${where.join('\n  AND ')}
ORDER BY Timestamp ${order}, tie ${order}
LIMIT {limit:UInt32}
SETTINGS max_execution_time = 10, readonly = 1`;
    return { sql, values };
  }

  private filters(params: Omit<WarehouseLogSearchParams, 'limit'>): { where: string[]; values: QueryValues; fromNs: bigint; toNs: bigint } {
    const { fromNs, toNs } = params;
    if (fromNs < 0n || toNs <= fromNs) throw new PharosError('bad_request', `time range [${fromNs}, ${toNs}) is empty or negative`);
    const to = toNs > MAX_INT64 ? MAX_INT64 : toNs;
    const values: QueryValues = {
      fromNs: fromNs.toString(),
      toNs: to.toString(),
      // Whole seconds for TimestampTime, the partition and primary key column: these prune;
      // the Timestamp bounds then make the range exact to the nanosecond.
      fromS: min(fromNs / NANOS_PER_SECOND, MAX_DATETIME_SECONDS).toString(),
      toS: min((to - 1n) / NANOS_PER_SECOND, MAX_DATETIME_SECONDS).toString(),
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
    const attrs = Object.entries(params.attributes ?? {});
    if (attrs.length > this.maxTerms) throw new PharosError('bad_request', `${attrs.length} attribute filters; at most ${this.maxTerms} are allowed`);
    attrs.forEach(([k, v], i) => {
      values[`ak${i}`] = k;
      values[`av${i}`] = v;
      where.push(`LogAttributes[{ak${i}:String}] = {av${i}:String}`);
    });
    if (params.scope) {
      const scope = logScopeSql(params.scope);
      if (scope.sql !== '1') {
        Object.assign(values, scope.params);
        where.push(scope.sql);
      }
    }
    return { where, values, fromNs, toNs: to };
  }
}

/** Opaque to callers: `<time ns>.<tiebreak>` in base64url, so nobody builds one by hand. */
function encodeCursor(timeNs: bigint, tiebreak: string): string {
  return Buffer.from(`${timeNs}.${tiebreak}`).toString('base64url');
}

function decodeCursor(cursor: string): { timeNs: bigint; tiebreak: string } {
  const m = /^(\d{1,19})\.(\d{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new PharosError('bad_request', `invalid cursor ${JSON.stringify(cursor.slice(0, 64))}: pass nextCursor of the previous page unchanged`);
  const timeNs = BigInt(m[1]!);
  if (timeNs > MAX_INT64 || BigInt(m[2]!) > 18_446_744_073_709_551_615n) throw new PharosError('bad_request', 'invalid cursor: out of range');
  return { timeNs, tiebreak: m[2]! };
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
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
