/**
 * Client-side navigation by URL path, without a router library: three top-level pages need
 * nothing more than the path and history. The server answers index.html for every app path,
 * so a reload or a shared link lands on the same page.
 *
 * The metrics explorer lives at `/explore`: `/metrics` is every Pharos process's Prometheus
 * exposition, served by the common service server before the app.
 */
import { useSyncExternalStore, type MouseEvent } from 'react';

export type Route = 'logs' | 'overview' | 'metrics' | 'dashboards' | 'alerts' | 'delivery' | 'sql' | 'not-found';

export const ROUTES: Array<{ route: Exclude<Route, 'not-found'>; path: string; label: string }> = [
  { route: 'logs', path: '/', label: 'Logs' },
  { route: 'overview', path: '/overview', label: 'Overview' },
  { route: 'metrics', path: '/explore', label: 'Metrics' },
  { route: 'dashboards', path: '/dashboards', label: 'Dashboards' },
  { route: 'alerts', path: '/alerts', label: 'Alerts' },
  { route: 'delivery', path: '/delivery', label: 'Delivery' },
  { route: 'sql', path: '/sql', label: 'SQL' },
];

export function routeOf(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  return ROUTES.find((r) => r.path === path)?.route ?? 'not-found';
}

function subscribe(cb: () => void): () => void {
  window.addEventListener('popstate', cb);
  return () => window.removeEventListener('popstate', cb);
}

export function useRoute(): Route {
  return useSyncExternalStore(subscribe, () => routeOf(window.location.pathname));
}

/** Goes to an app path. A synthetic popstate tells every listener, URL-parameter hooks included. */
export function navigate(path: string): void {
  if (path === window.location.pathname + window.location.search) return;
  window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}

/** For `<a href>` clicks: a plain left click navigates in place, modified clicks open tabs as usual. */
export function onLinkClick(e: MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(e.currentTarget.getAttribute('href') ?? '/');
}
