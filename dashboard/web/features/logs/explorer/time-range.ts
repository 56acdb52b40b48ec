/**
 * The explorer's time range as the URL keeps it: `from`/`to` in the server's own forms
 * (dashboard/server/time-expr.ts: `now-1h`, RFC 3339, unix ms), so a shared link means the same
 * window to the server as to the page. No `from` means the live tail.
 */
export interface TimePreset {
  label: string;
  from: string;
}

export const TIME_PRESETS: readonly TimePreset[] = [
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
];

/** The short names the picker shows on its buttons (`1h`), keyed by `from`. */
export function presetShortName(from: string): string {
  return from.replace(/^now-/, '');
}

export function rangeLabel(from: string, to: string): string {
  const preset = TIME_PRESETS.find((p) => p.from === from);
  if (preset && (!to || to === 'now')) return preset.label;
  return `${describeTime(from)} → ${to ? describeTime(to) : 'now'}`;
}

function describeTime(expr: string): string {
  if (/^\d{1,15}$/.test(expr)) return new Date(Number(expr)).toLocaleString();
  return expr;
}

/** A `datetime-local` input's value (local time, no zone) as unix ms for the URL; '' when empty or bad. */
export function localInputToMs(value: string): string {
  if (!value) return '';
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? String(ms) : '';
}

/** The other way, for showing a chosen absolute time in the custom fields. */
export function msToLocalInput(expr: string): string {
  if (!/^\d{1,15}$/.test(expr)) return '';
  const d = new Date(Number(expr));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The `to` of the next "Load older" page: just before the oldest line shown, in RFC 3339 with
 * nanoseconds (what the server parses exactly), since /api/logs pages by time, not by offset.
 */
export function olderThan(timeUnixNano: string): string {
  const ns = BigInt(timeUnixNano);
  const ms = ns / 1_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const iso = new Date(Number(ms)).toISOString().slice(0, 19);
  return `${iso}.${frac}Z`;
}
