/**
 * Sets `from` and `to` in one history entry: two useSearchParam setters would push two, and Back
 * would stop halfway. The popstate it sends makes every useSearchParam re-read the URL.
 */
export function setRangeInUrl(from: string, to: string): void {
  const url = new URL(window.location.href);
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (value) url.searchParams.set(name, value);
    else url.searchParams.delete(name);
  }
  if (url.href === window.location.href) return;
  window.history.pushState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}
