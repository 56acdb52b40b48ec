/** The SQL console resource of the dashboard API (`dashboard/server/routes/sql.ts` is the other side). */
import type { SqlErrorResponse, SqlEstimateResponse, SqlRunResponse } from '../../../server/routes/sql.js';
import { ApiError } from '../../ui/api-client.js';
import { authHeaders } from '../../ui/auth-token.js';

export type SqlResult = SqlRunResponse['data'];
export type SqlEstimate = SqlEstimateResponse['data'];
export type SqlLimits = SqlResult['limits'];

/** An API error that also says what came of the statement: refused, error, timeout, cancelled. */
export class SqlError extends ApiError {
  constructor(
    status: number,
    errorType: string,
    message: string,
    readonly verdict: SqlErrorResponse['verdict'],
  ) {
    super(status, errorType, message);
    this.name = 'SqlError';
  }
}

export function runSql(query: string, queryId: string, signal?: AbortSignal): Promise<SqlResult> {
  return send<SqlResult>('POST', '/api/sql', { query, queryId }, signal);
}

export function estimateSql(query: string, signal?: AbortSignal): Promise<SqlEstimate> {
  return send<SqlEstimate>('POST', '/api/sql/estimate', { query }, signal);
}

export async function cancelSql(queryId: string): Promise<void> {
  await send<unknown>('DELETE', `/api/sql/${encodeURIComponent(queryId)}`, undefined);
}

/** A random UUID, also where `crypto.randomUUID` is missing (pages served over plain HTTP off loopback). */
export function newQueryId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function send<T>(method: 'POST' | 'DELETE', path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, window.location.origin), {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...authHeaders(method) },
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new SqlError(0, 'unreachable', 'Cannot reach the Pharos server. Is it running?', undefined);
  }
  const json = (await res.json().catch(() => null)) as ({ status?: string; data?: T } & Omit<Partial<SqlErrorResponse>, 'status'>) | null;
  if (!res.ok || json?.status !== 'success') {
    throw new SqlError(res.status, json?.errorType ?? 'http', json?.error ?? `The server answered ${res.status} ${res.statusText}`.trim(), json?.verdict);
  }
  return json.data as T;
}
