/**
 * The typed fetch layer of the app: adds the credential's headers (auth-token.ts: a bearer token,
 * or the CSRF token of the session cookie), unwraps the API's `{ status, data }` envelope, and
 * turns failures into ApiError carrying the server's message.
 */
import { authHeaders } from './auth-token.js';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

type Params = Record<string, string | number | undefined>;

export async function apiGet<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...authHeaders('GET') },
      credentials: 'same-origin',
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'unreachable', 'Cannot reach the Pharos server. Is it running?');
  }
  const body = (await res.json().catch(() => null)) as { status?: string; data?: T; errorType?: string; error?: string } | null;
  if (!res.ok || body?.status !== 'success') {
    throw new ApiError(res.status, body?.errorType ?? 'http', body?.error ?? `The server answered ${res.status} ${res.statusText}`.trim());
  }
  return body.data as T;
}
