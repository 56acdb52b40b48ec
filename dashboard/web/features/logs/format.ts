/** Pure presentation helpers of log rows. */
import type { LogRow } from './api.js';

export type SeverityLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'unknown';

/** OpenTelemetry severity numbers come in bands of four: TRACE 1-4, DEBUG 5-8, … FATAL 21-24. */
const BANDS: readonly SeverityLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export function severityLevel(row: Pick<LogRow, 'severityNumber' | 'severityText'>): SeverityLevel {
  const n = row.severityNumber;
  if (n >= 1 && n <= 24) return BANDS[Math.floor((n - 1) / 4)] ?? 'unknown';
  // Sources that set only the text (syslog, plain JSON lines).
  const t = row.severityText.toLowerCase();
  if (/^(trace|verbose)/.test(t)) return 'trace';
  if (t.startsWith('debug')) return 'debug';
  if (/^(info|notice)/.test(t)) return 'info';
  if (t.startsWith('warn')) return 'warn';
  if (/^(err|crit|alert)/.test(t)) return 'error';
  if (/^(fatal|emerg|panic)/.test(t)) return 'fatal';
  return 'unknown';
}

export function severityLabel(row: Pick<LogRow, 'severityNumber' | 'severityText'>): string {
  if (row.severityText) return row.severityText.toUpperCase();
  const level = severityLevel(row);
  return level === 'unknown' ? '—' : level.toUpperCase();
}

/** Milliseconds since the epoch of the row: event time, else when the collector saw it. */
export function rowTimeMs(row: Pick<LogRow, 'timeUnixNano' | 'observedTimeUnixNano'>): number {
  const ns = row.timeUnixNano !== '0' && row.timeUnixNano !== '' ? row.timeUnixNano : row.observedTimeUnixNano;
  // Dropping the last six digits keeps full precision; Number(ns) would round past 2^53.
  return Number(ns.length > 6 ? ns.slice(0, -6) : '0');
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Local date and time with milliseconds, as two parts so the date can be set apart. */
export function formatLocalTime(ms: number): { date: string; time: string } {
  const d = new Date(ms);
  return {
    date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    time: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`,
  };
}

/** A stable React key: rows have no id, and identical lines in one nanosecond are rare enough to index. */
export function rowKey(row: LogRow, index: number): string {
  return `${row.timeUnixNano}|${row.serviceName}|${row.hostName}|${index}`;
}
