/**
 * Requests beyond `apiGet`: writes (POST, PUT, DELETE with a JSON body) and APIs without the
 * `{ status, data }` envelope (Alertmanager's v2 answers bare JSON). Same token, same ApiError.
 */
import { ApiError } from './api-client.js';
import { authHeaders } from './auth-token.js';

interface Options {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** The answer is `{ status: 'success', data }` and `data` is returned (the Pharos and Prometheus APIs). */
  envelope?: boolean;
  signal?: AbortSignal;
}

export async function apiRequest<T>(path: string, opts: Options = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, window.location.origin), {
      method: opts.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        // A Bearer token when one is set, else the session's CSRF token on writes (core/http/sessions.ts).
        ...authHeaders(opts.method ?? 'GET'),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ApiError(0, 'unreachable', 'Cannot reach the Pharos server. Is it running?');
  }
  const body = (await res.json().catch(() => null)) as { status?: string; data?: T; errorType?: string; error?: string } | null;
  if (!res.ok || (opts.envelope !== false && body?.status !== 'success')) {
    throw new ApiError(res.status, body?.errorType ?? 'http', body?.error ?? `The server answered ${res.status} ${res.statusText}`.trim());
  }
  return (opts.envelope === false ? body : body?.data) as T;
}
