/**
 * Time expressions of the dashboard API, in the forms users type into Grafana and Prometheus:
 * RFC 3339 (`2025-01-31T12:00:00.123456789Z`, nanoseconds kept), unix milliseconds
 * (`1738324800000`, what JavaScript's Date gives) and `now`, `now-15m`, `now+1h`.
 * Results are nanoseconds since the epoch, the unit of LogSearchParams.
 */
import { PharosError } from '../../core/errors.js';

const NS_PER_MS = 1_000_000n;
/** The range of a JavaScript Date: 100,000,000 days either side of 1970. */
const MAX_DATE_MS = 8.64e15;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

const RELATIVE = /^now(?:([+-])(\d{1,9})(ms|s|m|h|d|w))?$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
const UNIX_MS = /^\d{1,15}$/;

export const TIME_FORMS = 'RFC 3339 (2025-01-31T12:00:00Z), unix milliseconds, or now-15m (units ms s m h d w)';

/** Parses one time expression; throws a `bad_request` PharosError naming `param`. */
export function parseTimeExpr(param: string, value: string, nowMs: number): bigint {
  const v = value.trim();
  const rel = RELATIVE.exec(v);
  if (rel) {
    const [, sign, amount, unit] = rel;
    const offsetMs = sign && amount && unit ? Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS] : 0;
    const ms = nowMs + (sign === '-' ? -offsetMs : offsetMs);
    // Past what a Date holds the time could not be echoed back (toISOString throws): refused here.
    if (Math.abs(ms) > MAX_DATE_MS) throw new PharosError('bad_request', `invalid "${param}": ${JSON.stringify(value)} is out of range (about 270,000 years either side of 1970)`);
    return BigInt(ms) * NS_PER_MS;
  }
  if (UNIX_MS.test(v)) return BigInt(v) * NS_PER_MS;
  const m = RFC3339.exec(v);
  if (m) {
    const [, y, mo, d, h, mi, s, frac = '', tz] = m;
    const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${tz!.toUpperCase()}`);
    // Date.parse rolls 2025-02-30 over to March 2 instead of refusing it.
    const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
    if (Number.isFinite(ms) && Number(d) >= 1 && Number(d) <= daysInMonth) {
      return BigInt(ms) * NS_PER_MS + BigInt(frac.padEnd(9, '0') || '0');
    }
  }
  throw new PharosError('bad_request', `invalid "${param}": ${JSON.stringify(value)} is not a time; use ${TIME_FORMS}`);
}

/** RFC 3339 in UTC, with as many fraction digits as the value needs (up to nanoseconds). */
export function formatRfc3339(ns: bigint): string {
  const ms = ns / NS_PER_MS - (ns % NS_PER_MS < 0n ? 1n : 0n);
  const subMs = ns - ms * NS_PER_MS;
  const iso = new Date(Number(ms)).toISOString(); // …SS.mmmZ
  if (subMs === 0n) return iso;
  return `${iso.slice(0, -1)}${subMs.toString().padStart(6, '0').replace(/0+$/, '')}Z`;
}
