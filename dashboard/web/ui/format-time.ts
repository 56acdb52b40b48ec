/** Times as people read them on a status page: "12 s", "3 min", "2 h 5 min", and local clock times. */

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

export function formatAgo(ms: number, nowMs = Date.now()): string {
  const d = nowMs - ms;
  return d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

export function formatClock(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
