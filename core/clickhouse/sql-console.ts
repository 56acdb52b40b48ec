/**
 * The analysts' SQL console: runs one read-only SELECT against the warehouse, estimates its cost
 * first if asked, cancels it on request, and audits every statement (table `sql_audit`, and a log
 * line).
 *
 * Two layers hold a statement in: the guard (sql-guard.ts) refuses what is not a plain SELECT of
 * allowed tables, and the run carries ClickHouse's own limits in its SETTINGS clause —
 * `readonly = 1`, `max_execution_time`, `max_result_rows`/`max_result_bytes` with
 * `result_overflow_mode = 'break'`, `max_rows_to_read` — and the principal's scope as
 * `additional_table_filters`, which the engine applies to every read of a scoped table. The
 * analyst cannot loosen either: a SETTINGS clause of theirs is refused by the guard.
 *
 * Settings travel in the SETTINGS clause, never as `clickhouse_settings`: chDB applies those as a
 * session `SET` that outlives the query (DESIGN.md), and `readonly` would then stick to the
 * connection.
 *
 * Cancelling: chDB's abort only drops the JavaScript promise while the engine runs on, holding the
 * connection (seen: a 3-billion-row count went on for 11 s). `KILL QUERY ... SYNC` from another
 * connection does stop it, on chDB as on a server; the query is found in `system.processes` by a
 * random marker in its `log_comment` setting, since chDB makes up its own query ids.
 *
 * Connections: `client` runs the analysts' statements (and their guard steps), `control` kills
 * and writes the audit. On chDB they must be two connections, as a connection runs one query at a
 * time; give the console a `client` of its own so an analyst's 20-second query does not hold the
 * dashboard's log search.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { PharosConfig } from '../config/schema.js';
import { PharosError } from '../errors.js';
import type { Logger } from '../log.js';
import { createClickHouse } from './client.js';
import { clickHouseMessage, inspectStatement, scopeIsSet, scopeTableFilters, sqlString, SqlRefusal, type SqlPolicy, type SqlScope } from './sql-guard.js';

export type { SqlScope };

export interface SqlLimits {
  maxExecutionTimeS: number;
  maxResultRows: number;
  maxResultBytes: number;
  /** 0 = no limit. */
  maxRowsToRead: number;
  /** Estimated rows above which the page asks before running. */
  confirmAboveRows: number;
}

/** What came of a statement, as the audit records it. */
export type SqlVerdict = 'ok' | 'refused' | 'error' | 'timeout' | 'cancelled';

export class SqlConsoleError extends PharosError {
  constructor(
    readonly verdict: Exclude<SqlVerdict, 'ok'>,
    message: string,
    readonly queryId: string,
    options?: { cause?: unknown },
  ) {
    super('bad_request', message, false, options);
    this.name = 'SqlConsoleError';
  }
}

export interface SqlCaller {
  /** Principal name and role, for the audit (never a token). */
  user: string;
  role: string;
  /** May cancel other users' statements. */
  admin?: boolean;
}

export interface SqlRequest {
  sql: string;
  caller: SqlCaller;
  /** Chosen by the client so it can cancel before the answer arrives; a UUID. Made up when absent. */
  queryId?: string | undefined;
  scope?: SqlScope | undefined;
}

export interface SqlColumn {
  name: string;
  type: string;
}

export interface SqlResult {
  queryId: string;
  columns: SqlColumn[];
  /** Row-major, values as ClickHouse's JSONCompact writes them (64-bit integers as strings). */
  rows: unknown[][];
  /** True when the statement had more rows than `limits.maxResultRows` (or bytes than `maxResultBytes`) and was cut. */
  truncated: boolean;
  elapsedMs: number;
  readRows: number;
  readBytes: number;
  /** Tables the statement read, `database.table`. */
  tables: string[];
  limits: SqlLimits;
}

export interface SqlEstimate {
  queryId: string;
  /** After partition and primary-key pruning, from the index alone: an upper bound. */
  rows: number;
  /** Rows times the average on-disk row size of the tables' active parts. */
  bytes: number;
  parts: number;
  marks: number;
  tables: string[];
  /** True when `rows` is over `limits.confirmAboveRows`: the page asks before running. */
  costly: boolean;
  limits: SqlLimits;
}

export interface SqlConsoleOptions {
  /** Runs the analysts' statements and their guard steps. */
  client: ClickHouseClient;
  /** Kills and audits; another connection than `client` on chDB. */
  control: ClickHouseClient;
  database: string;
  /** True on the embedded chDB engine, whose connections have no default database. */
  embedded: boolean;
  settings: PharosConfig['sql_console'];
  log: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MARKER_PREFIX = 'pharos-sql-console ';
/** How long a cancel keeps trying after the time limit: a statement still queued on chDB starts late. */
const CANCEL_GRACE_MS = 5_000;
const CANCEL_RETRY_MS = 100;

interface Running {
  user: string;
  marker: string;
  cancelled: boolean;
  /** Resolves when the engine is done with the statement (before the audit row is written). */
  settled: Promise<unknown>;
}

interface AuditEntry {
  queryId: string;
  caller: SqlCaller;
  action: 'run' | 'estimate';
  sql: string;
  verdict: SqlVerdict;
  reason: string;
  durationMs: number;
  resultRows: number;
  readRows: number;
  readBytes: number;
  truncated: boolean;
  scope: SqlScope | undefined;
}

export class SqlConsole {
  readonly limits: SqlLimits;
  private readonly policy: SqlPolicy;
  private readonly running = new Map<string, Running>();
  private databaseSelected: Promise<void> | undefined;
  private turns: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SqlConsoleOptions) {
    const s = opts.settings;
    this.limits = {
      maxExecutionTimeS: s.max_execution_time_s,
      maxResultRows: s.max_result_rows,
      maxResultBytes: s.max_result_bytes,
      maxRowsToRead: s.max_rows_to_read,
      confirmAboveRows: s.confirm_above_rows,
    };
    this.policy = { database: opts.database, allowedTables: s.allowed_tables };
  }

  /** Runs a statement; throws SqlConsoleError for a refusal, the analyst's mistake, a timeout or a cancel. */
  async run(req: SqlRequest): Promise<SqlResult> {
    const queryId = this.claimQueryId(req.queryId);
    const started = performance.now();
    const marker = `${MARKER_PREFIX}${queryId}`;
    let done!: () => void;
    const entry: Running = { user: req.caller.user, marker, cancelled: false, settled: new Promise<void>((r) => (done = r)) };
    this.running.set(queryId, entry);
    const audit = (a: Omit<AuditEntry, 'queryId' | 'caller' | 'action' | 'sql' | 'durationMs' | 'scope'>) =>
      this.audit({ ...a, queryId, caller: req.caller, action: 'run', sql: req.sql, durationMs: performance.now() - started, scope: req.scope });
    try {
      const settings = this.settingsClause(req.scope, marker, this.limits.maxResultRows + 1);
      const { inspected, body } = await this.inTurn(async () => {
        // Cancelled while waiting for its turn: it never reaches the engine.
        if (entry.cancelled) throw new SqlConsoleError('cancelled', 'the statement was cancelled before it started', queryId);
        const inspected = await this.inspect(req, queryId, settings);
        const query = `SELECT * FROM (\n${inspected.canonical}\n)\nLIMIT ${this.limits.maxResultRows + 1}\nSETTINGS ${settings}`;
        try {
          const rs = await this.opts.client.query({ query, format: 'JSONCompact' });
          // JSONCompact answers one object (meta, data, statistics), not rows.
          return { inspected, body: (await rs.json()) as unknown as JsonCompactBody };
        } catch (err) {
          throw this.runError(err, queryId, entry.cancelled);
        }
      });
      done();
      const rows = body.data.slice(0, this.limits.maxResultRows);
      const result: SqlResult = {
        queryId,
        columns: body.meta.map((m) => ({ name: m.name, type: m.type })),
        rows,
        truncated: body.data.length > this.limits.maxResultRows || resultBytesReached(body, this.limits.maxResultBytes),
        elapsedMs: Math.round(performance.now() - started),
        readRows: Number(body.statistics?.rows_read ?? 0),
        readBytes: Number(body.statistics?.bytes_read ?? 0),
        tables: inspected.tables,
        limits: this.limits,
      };
      await audit({ verdict: 'ok', reason: '', resultRows: rows.length, readRows: result.readRows, readBytes: result.readBytes, truncated: result.truncated });
      return result;
    } catch (err) {
      if (err instanceof SqlConsoleError) await audit({ verdict: err.verdict, reason: err.message, resultRows: 0, readRows: 0, readBytes: 0, truncated: false });
      else await audit({ verdict: 'error', reason: clickHouseMessage(err), resultRows: 0, readRows: 0, readBytes: 0, truncated: false });
      throw err;
    } finally {
      this.running.delete(queryId);
      // Also for a statement refused before it ran.
      done();
    }
  }

  /** ClickHouse's EXPLAIN ESTIMATE of a statement that passes the guard; refused ones throw as in run(). */
  async estimate(req: SqlRequest): Promise<SqlEstimate> {
    const queryId = req.queryId !== undefined && UUID.test(req.queryId) ? req.queryId.toLowerCase() : randomUUID();
    const started = performance.now();
    const audit = (a: Pick<AuditEntry, 'verdict' | 'reason' | 'resultRows'>) =>
      this.audit({ ...a, queryId, caller: req.caller, action: 'estimate', sql: req.sql, durationMs: performance.now() - started, readRows: 0, readBytes: 0, truncated: false, scope: req.scope });
    try {
      const settings = this.settingsClause(req.scope, `${MARKER_PREFIX}${queryId}`, this.limits.maxResultRows + 1);
      const { inspected, estimate } = await this.inTurn(async () => {
        const inspected = await this.inspect(req, queryId, settings);
        try {
          return { inspected, estimate: await explainEstimate(this.opts.client, `SELECT * FROM (\n${inspected.canonical}\n)\nSETTINGS ${settings}`) };
        } catch (err) {
          throw this.runError(err, queryId, false);
        }
      });
      await audit({ verdict: 'ok', reason: '', resultRows: estimate.rows });
      return { queryId, ...estimate, tables: inspected.tables, costly: estimate.rows > this.limits.confirmAboveRows, limits: this.limits };
    } catch (err) {
      await audit({ verdict: err instanceof SqlConsoleError ? err.verdict : 'error', reason: clickHouseMessage(err), resultRows: 0 });
      throw err;
    }
  }

  /**
   * Stops a running statement: KILL QUERY on the engine, retried until the engine is done with
   * it (a statement still queued behind another on chDB is not in system.processes yet). ASYNC:
   * a SYNC kill of a query that is already ending can wait on it for good, holding `control`.
   * False when no such statement is running, or it is someone else's and the caller is no admin.
   */
  async cancel(queryId: string, caller: SqlCaller): Promise<boolean> {
    const entry = this.running.get(queryId.toLowerCase());
    if (!entry || (entry.user !== caller.user && !caller.admin)) return false;
    entry.cancelled = true;
    const deadline = Date.now() + this.limits.maxExecutionTimeS * 1000 + CANCEL_GRACE_MS;
    let ended = false;
    void entry.settled.then(() => (ended = true));
    while (!ended && Date.now() < deadline) {
      try {
        await this.kill(entry.marker);
      } catch (err) {
        this.opts.log.warn({ query_id: queryId, err: clickHouseMessage(err) }, 'sql console: KILL QUERY failed');
      }
      await Promise.race([entry.settled, new Promise((r) => setTimeout(r, CANCEL_RETRY_MS))]);
    }
    return true;
  }

  /** Statements running now, for tests and shutdown. */
  get runningCount(): number {
    return this.running.size;
  }

  private async kill(marker: string): Promise<void> {
    const control = this.opts.control;
    const rs = await control.query({
      query: 'SELECT query_id FROM system.processes WHERE position(query, {marker:String}) > 0 AND query_id != queryID()',
      query_params: { marker },
      format: 'JSONEachRow',
    });
    for (const { query_id } of await rs.json<{ query_id: string }>()) {
      await control.command({ query: 'KILL QUERY WHERE query_id = {id:String} ASYNC', query_params: { id: query_id } });
    }
  }

  /**
   * On chDB the console's statements take turns on `client`, as the engine would make them anyway
   * (one query at a time per connection), so that a statement cancelled while waiting never
   * starts, and so that what a failed statement leaves behind is cleared before the next one:
   * chDB hands the partial output of a statement that failed mid-way (JSONCompact's header of a
   * timed-out or killed query) to the next query on the connection, ahead of its own (seen on
   * chDB 26.7). A throwaway query takes it.
   */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.opts.embedded) return fn();
    const turn = this.turns.then(async () => {
      try {
        return await fn();
      } catch (err) {
        await this.opts.client
          .query({ query: 'SELECT 1', format: 'TabSeparated' })
          .then((rs) => rs.text())
          .catch(() => undefined);
        throw err;
      }
    });
    this.turns = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  private claimQueryId(requested: string | undefined): string {
    if (requested === undefined) return randomUUID();
    if (!UUID.test(requested)) throw new SqlConsoleError('refused', `queryId must be a UUID, got ${JSON.stringify(requested.slice(0, 64))}`, randomUUID());
    const id = requested.toLowerCase();
    if (this.running.has(id)) throw new SqlConsoleError('refused', `a statement with queryId ${id} is already running`, id);
    return id;
  }

  private async inspect(req: SqlRequest, queryId: string, settings: string) {
    await this.selectDatabase();
    try {
      return await inspectStatement(this.opts.client, req.sql, this.policy, req.scope, settings);
    } catch (err) {
      if (err instanceof SqlRefusal) throw new SqlConsoleError('refused', err.message, queryId, { cause: err });
      throw this.runError(err, queryId, false);
    }
  }

  /** chDB connections start in `default`; bare table names must mean the Pharos database, as on a server. */
  private selectDatabase(): Promise<void> {
    if (!this.opts.embedded) return Promise.resolve();
    this.databaseSelected ??= this.opts.client.command({ query: `USE \`${this.opts.database}\`` }).then(
      () => undefined,
      (err: unknown) => {
        this.databaseSelected = undefined;
        throw err;
      },
    );
    return this.databaseSelected;
  }

  /** The body of the SETTINGS clause every statement (and its analysis) runs under. */
  private settingsClause(scope: SqlScope | undefined, marker: string, maxResultRows: number): string {
    const settings = [
      'readonly = 1',
      `max_execution_time = ${this.limits.maxExecutionTimeS}`,
      "timeout_overflow_mode = 'throw'",
      `max_result_rows = ${maxResultRows}`,
      `max_result_bytes = ${this.limits.maxResultBytes}`,
      "result_overflow_mode = 'break'",
      // JavaScript numbers lose 64-bit integers; the page shows them as text.
      'output_format_json_quote_64bit_integers = 1',
    ];
    if (this.limits.maxRowsToRead > 0) settings.push(`max_rows_to_read = ${this.limits.maxRowsToRead}`, "read_overflow_mode = 'throw'");
    const filters = scopeTableFilters(scope, this.policy);
    if (filters !== undefined) settings.push(`additional_table_filters = ${filters}`);
    settings.push(`log_comment = ${sqlString(marker)}`);
    return settings.join(', ');
  }

  /** A failed run as the analyst should read it; connection failures stay PharosErrors (503). */
  private runError(err: unknown, queryId: string, cancelled: boolean): Error {
    if (err instanceof SqlConsoleError) return err;
    const code = (err as { code?: unknown })?.code;
    const fromEngine = typeof code === 'string' && /^\d+$/.test(code);
    if (cancelled || code === '394') return new SqlConsoleError('cancelled', 'the statement was cancelled', queryId, { cause: err });
    if (!fromEngine) {
      return new PharosError('clickhouse_unavailable', `the warehouse did not answer: ${clickHouseMessage(err)}`, true, { cause: err });
    }
    const message = clickHouseMessage(err);
    if (code === '159') {
      return new SqlConsoleError('timeout', `the statement ran longer than ${this.limits.maxExecutionTimeS} s (sql_console.max_execution_time_s) and was stopped: ${message}`, queryId, { cause: err });
    }
    if (code === '158') {
      return new SqlConsoleError('error', `the statement would read more than ${this.limits.maxRowsToRead.toLocaleString('en-US')} rows (sql_console.max_rows_to_read): narrow it (${message})`, queryId, { cause: err });
    }
    if (code === '164') return new SqlConsoleError('refused', `ClickHouse refused it in read-only mode: ${message}`, queryId, { cause: err });
    return new SqlConsoleError('error', `ClickHouse: ${message}`, queryId, { cause: err });
  }

  /** One audit row and one log line; a failed audit insert is logged, never the analyst's error. */
  private async audit(a: AuditEntry): Promise<void> {
    const durationMs = Math.round(a.durationMs);
    this.opts.log.info(
      {
        query_id: a.queryId,
        user: a.caller.user,
        role: a.caller.role,
        action: a.action,
        verdict: a.verdict,
        duration_ms: durationMs,
        rows: a.resultRows,
        ...(a.reason ? { reason: a.reason } : {}),
        ...(scopeIsSet(a.scope) ? { scope: a.scope } : {}),
        query: a.sql,
      },
      `sql console ${a.action}: ${a.verdict}`,
    );
    try {
      await this.opts.control.insert({
        table: `\`${this.opts.database}\`.sql_audit`,
        format: 'JSONEachRow',
        values: [
          {
            QueryId: a.queryId,
            User: a.caller.user,
            Role: a.caller.role,
            Action: a.action,
            Query: a.sql,
            Verdict: a.verdict,
            Reason: a.reason,
            DurationMs: durationMs,
            ResultRows: a.resultRows,
            ReadRows: a.readRows,
            ReadBytes: a.readBytes,
            Truncated: a.truncated,
            Scope: scopeIsSet(a.scope) ? JSON.stringify(a.scope) : '',
          },
        ],
      });
    } catch (err) {
      this.opts.log.error({ query_id: a.queryId, err: clickHouseMessage(err) }, 'sql console: the audit row could not be written');
    }
  }
}

/**
 * The console of a process: its own `query` connection for the analysts' statements, `control`
 * (the process's `query` client) for kills and the audit. Close it at shutdown.
 */
export function openSqlConsole(config: PharosConfig, log: Logger, control: ClickHouseClient): { console: SqlConsole; close(): Promise<void> } {
  const client = createClickHouse(config, log, 'query');
  const sql = new SqlConsole({ client, control, database: config.clickhouse.database, embedded: config.clickhouse.url === '', settings: config.sql_console, log });
  return { console: sql, close: () => client.close() };
}

interface JsonCompactBody {
  meta: Array<{ name: string; type: string }>;
  data: unknown[][];
  rows: number;
  statistics?: { elapsed: number; rows_read: number | string; bytes_read: number | string };
}

/**
 * `result_overflow_mode = 'break'` stops quietly at `max_result_bytes` (at a block boundary), so
 * the cut is inferred: a result whose JSON is at least that large was probably cut there.
 */
function resultBytesReached(body: JsonCompactBody, maxResultBytes: number): boolean {
  return Buffer.byteLength(JSON.stringify(body.data)) >= maxResultBytes;
}

/** EXPLAIN ESTIMATE summed over tables, with bytes from the parts' average row size (as pipeline/warehouse/query-budget.ts). */
async function explainEstimate(client: ClickHouseClient, select: string): Promise<{ rows: number; bytes: number; parts: number; marks: number }> {
  const rs = await client.query({ query: `EXPLAIN ESTIMATE ${select}`, format: 'JSONEachRow' });
  const rows = await rs.json<{ database: string; table: string; parts: string | number; rows: string | number; marks: string | number }>();
  const estimate = { rows: 0, bytes: 0, parts: 0, marks: 0 };
  for (const r of rows) {
    estimate.rows += Number(r.rows);
    estimate.parts += Number(r.parts);
    estimate.marks += Number(r.marks);
  }
  if (estimate.rows > 0) {
    const sizes = await client.query({
      query: `SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts
WHERE active AND database IN {dbs:Array(String)} AND table IN {tables:Array(String)}`,
      query_params: { dbs: [...new Set(rows.map((r) => r.database))], tables: [...new Set(rows.map((r) => r.table))] },
      format: 'JSONEachRow',
    });
    const [size] = await sizes.json<{ bytes: string | number; rows: string | number }>();
    const totalRows = Number(size?.rows ?? 0);
    if (totalRows > 0) estimate.bytes = Math.round((Number(size!.bytes) / totalRows) * estimate.rows);
  }
  return estimate;
}
