/**
 * The SQL console's API (core/clickhouse/sql-console.ts), for analysts and admins:
 *
 *   POST   /api/sql            { query, queryId? }  → the result, or 400 with `verdict` and the reason
 *   POST   /api/sql/estimate   { query, queryId? }  → EXPLAIN ESTIMATE rows, bytes, parts
 *   DELETE /api/sql/:queryId                        → stops the statement in the engine
 *
 * `queryId` (a UUID) is chosen by the page, so it can cancel a statement before its answer
 * arrives; a client that goes away mid-statement cancels it too. The principal's label scope is
 * enforced by the engine (additional_table_filters), whatever the statement says.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { SqlConsole, SqlCaller, SqlEstimate, SqlResult, SqlVerdict } from '../../../core/clickhouse/sql-console.js';
import { SqlConsoleError } from '../../../core/clickhouse/sql-console.js';
import { PharosError } from '../../../core/errors.js';
import { hasRole, requireRole, type Principal } from '../../../core/http/auth.js';
import { sendError } from '../../../core/http/service-server.js';

export interface SqlRunResponse {
  status: 'success';
  data: SqlResult;
}

export interface SqlEstimateResponse {
  status: 'success';
  data: SqlEstimate;
}

/** The API's error envelope, plus what came of the statement and its id. */
export interface SqlErrorResponse {
  status: 'error';
  errorType: string;
  error: string;
  verdict?: Exclude<SqlVerdict, 'ok'>;
  queryId?: string;
}

export interface SqlRouteDeps {
  sql: SqlConsole;
}

export function sqlRoutes(deps: SqlRouteDeps): Router {
  const router = Router();

  router.post('/api/sql', requireRole('analyst'), async (req: Request, res: Response) => {
    const input = readBody(req, res);
    if (!input) return;
    const principal = res.locals.principal as Principal;
    const caller = callerOf(principal);
    const queryId = input.queryId ?? randomUUID();
    // A closed connection before the answer: the page was closed or the request aborted.
    res.on('close', () => {
      if (!res.writableFinished) void deps.sql.cancel(queryId, caller);
    });
    try {
      const data = await deps.sql.run({ sql: input.query, caller, queryId, scope: principal.scope });
      const body: SqlRunResponse = { status: 'success', data };
      res.json(body);
    } catch (err) {
      sendSqlError(res, err);
    }
  });

  router.post('/api/sql/estimate', requireRole('analyst'), async (req: Request, res: Response) => {
    const input = readBody(req, res);
    if (!input) return;
    const principal = res.locals.principal as Principal;
    try {
      const data = await deps.sql.estimate({ sql: input.query, caller: callerOf(principal), queryId: input.queryId, scope: principal.scope });
      const body: SqlEstimateResponse = { status: 'success', data };
      res.json(body);
    } catch (err) {
      sendSqlError(res, err);
    }
  });

  router.delete('/api/sql/:queryId', requireRole('analyst'), async (req: Request, res: Response) => {
    const queryId = String(req.params.queryId);
    const principal = res.locals.principal as Principal;
    if (!(await deps.sql.cancel(queryId, callerOf(principal)))) {
      return sendError(res, 404, 'not_found', `no statement ${queryId} of yours is running`);
    }
    res.json({ status: 'success', data: { queryId, cancelled: true } });
  });

  return router;
}

function callerOf(principal: Principal): SqlCaller {
  return { user: principal.name, role: principal.role, admin: hasRole(principal, 'admin') };
}

/** `{ query: string, queryId?: string }`, or a 400 naming what is wrong. */
function readBody(req: Request, res: Response): { query: string; queryId: string | undefined } | undefined {
  const body = req.body as unknown;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    sendError(res, 400, 'bad_request', 'send a JSON object: {"query": "SELECT ..."} with Content-Type: application/json');
    return undefined;
  }
  const { query, queryId } = body as Record<string, unknown>;
  if (typeof query !== 'string') {
    sendError(res, 400, 'bad_request', 'invalid "query": a string holding one SELECT statement is required');
    return undefined;
  }
  if (queryId !== undefined && typeof queryId !== 'string') {
    sendError(res, 400, 'bad_request', 'invalid "queryId": a UUID string, or leave it out');
    return undefined;
  }
  return { query, queryId };
}

function sendSqlError(res: Response, err: unknown): void {
  if (err instanceof SqlConsoleError) {
    const body: SqlErrorResponse = { status: 'error', errorType: 'bad_request', error: err.message, verdict: err.verdict, queryId: err.queryId };
    res.status(400).json(body);
    return;
  }
  if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) {
    sendError(res, 503, 'unavailable', `the SQL console is unavailable: ${err.message}`);
    return;
  }
  throw err;
}
