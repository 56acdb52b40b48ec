/**
 * The app's credential. In a browser it is a session: `POST /api/login` trades the pasted token
 * for an HTTP-only cookie the page's scripts never see (features/login), so a script injected
 * into the page cannot steal a long-lived token. State-changing requests then repeat the
 * session's CSRF token, which the server also puts in the readable `pharos_csrf` cookie.
 *
 * A bearer token in localStorage still works (set by scripts and end-to-end tests with
 * setToken): API calls then carry `Authorization: Bearer` and need no CSRF token.
 */
import { useSyncExternalStore } from 'react';

const KEY = 'pharos.token';
const CSRF_COOKIE = 'pharos_csrf';
const listeners = new Set<() => void>();
/** Used when storage is disabled (privacy settings): the token then lives until reload. */
let memoryToken: string | null = null;

/** The bearer token, when one was set; null in the session flow. */
export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    memoryToken = token;
  }
  authChanged();
}

/** The CSRF token of the current session, from its readable cookie; null without a session. */
export function getCsrfToken(): string | null {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/**
 * Headers that authenticate a request of this method: the bearer token if there is one, else
 * (the session cookie travels by itself) the CSRF token on anything but GET and HEAD.
 */
export function authHeaders(method = 'GET'): Record<string, string> {
  const token = getToken();
  if (token) return { authorization: `Bearer ${token}` };
  const csrf = method === 'GET' || method === 'HEAD' ? null : getCsrfToken();
  return csrf ? { 'x-csrf-token': csrf } : {};
}

/** Tells every view that the credential changed (login, logout, a token set or cleared). */
export function authChanged(): void {
  for (const l of listeners) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (e: StorageEvent) => e.key === KEY && listener();
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}

/**
 * The bearer token, or null (no token, or the session flow); re-renders when it is set or
 * cleared, in this tab or another. Views pass it on as a bearer token, so it is never anything
 * else: a login or logout reloads the page instead (features/login), which restarts every view
 * with the new cookie.
 */
export function useToken(): string | null {
  return useSyncExternalStore(subscribe, getToken);
}

/** True while the browser holds a session (its readable CSRF cookie is there). */
export function hasSession(): boolean {
  return getCsrfToken() !== null;
}
