/**
 * The bearer token the user pasted, kept in localStorage so a reload does not ask again.
 * A browser cannot attach a token to page navigations, so the app holds it and adds it to each
 * API call (and to the WebSocket URL, the one place the server accepts it in a query).
 */
import { useSyncExternalStore } from 'react';

const KEY = 'pharos.token';
const listeners = new Set<() => void>();
/** Used when storage is disabled (privacy settings): the token then lives until reload. */
let memoryToken: string | null = null;

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

/** The current token; re-renders when it is set or cleared, in this tab or another. */
export function useToken(): string | null {
  return useSyncExternalStore(subscribe, getToken);
}
