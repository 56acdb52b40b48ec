/**
 * Browser sessions (core/http/login-routes.ts): a token is traded for an HTTP-only session
 * cookie, and never kept by the page.
 */
import type { LoginResponse } from '../../../../core/http/login-routes.js';
import { ApiError } from '../../ui/api-client.js';
import { authChanged, getCsrfToken, setToken } from '../../ui/auth-token.js';

export type LoginResult = LoginResponse['data'];

/** An API token, or a user of `auth.users` and its password. */
export type Credentials = { token: string } | { username: string; password: string };

export async function login(credentials: Credentials): Promise<LoginResult> {
  const res = await send('/api/login', credentials);
  const body = (await res.json().catch(() => null)) as { status?: string; data?: LoginResult; errorType?: string; error?: string } | null;
  if (!res.ok || body?.status !== 'success' || !body.data) {
    throw new ApiError(res.status, body?.errorType ?? 'http', body?.error ?? `The server answered ${res.status}`);
  }
  // From now on the cookie is the credential; a bearer token left from before would win over it.
  setToken(null);
  // Every view (REST hooks, the live WebSocket) starts again with the cookie.
  window.location.reload();
  return body.data;
}

export async function logout(): Promise<void> {
  const csrf = getCsrfToken();
  try {
    await send('/api/logout', undefined, csrf ? { 'x-csrf-token': csrf } : {});
  } finally {
    setToken(null);
    authChanged();
    window.location.reload();
  }
}

async function send(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(new URL(path, window.location.origin), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'Cannot reach the Pharos server. Is it running?');
  }
}
