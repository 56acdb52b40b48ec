/**
 * Event time from a parsed field, in nanoseconds since the epoch (bigint: a JS number loses the
 * nanoseconds of any current timestamp). `time_format` is one of:
 * - `rfc3339` (the default): RFC 3339 / ISO 8601 text with up to 9 fraction digits, or an epoch
 *   number whose unit is told by its magnitude (s, ms, µs, ns);
 * - `unix_s`, `unix_ms`, `unix_ns`: an epoch number in that unit, fractions allowed;
 * - a strftime-like pattern, e.g. nginx's `%d/%b/%Y:%H:%M:%S %z`.
 * Text without a zone is UTC; a pattern without a year takes the current one (syslog's
 * `%b %e %H:%M:%S`), stepping back a year when that would put the event more than a day ahead.
 */

/** A value that cannot be read in the format gives undefined: the caller flags it, never throws. */
export type TimeParser = (value: string | number) => bigint | undefined;

export const TIME_FORMAT_KEYWORDS = ['rfc3339', 'unix_s', 'unix_ms', 'unix_ns'] as const;
/** Every directive a pattern may use; the config schema checks patterns against the same list. */
export const TIME_DIRECTIVES = 'YymdeHIMSfLzZbBhaApjsTFDRnt%';

export class TimeFormatError extends Error {}

const NS_PER_MS = 1_000_000n;
/** 2^64 ns has 20 digits. */
const MAX_TIME_DIGITS = 20;
const TWO_64 = 1n << 64n;
const DAY_NS = 86_400_000_000_000n;

/**
 * Longer text is no time stamp. The cap also bounds the regular expressions below, some of which
 * backtrack quadratically over a long run of blanks (the RFC 3339 one on `2026-01-01` followed by
 * 16,000 spaces took 0.7 s, and a line holds 256 KiB).
 */
const MAX_TIME_TEXT = 256;

export function compileTimeFormat(format: string, now: () => number = Date.now): TimeParser {
  const parse = compileFormat(format, now);
  return (v) => (typeof v === 'string' && v.length > MAX_TIME_TEXT ? undefined : parse(v));
}

function compileFormat(format: string, now: () => number): TimeParser {
  switch (format) {
    case 'rfc3339':
      return (v) => (typeof v === 'number' ? epochByMagnitude(v, undefined) : parseRfc3339(v) ?? epochText(v));
    case 'unix_s':
      return (v) => epochNanos(v, 9);
    case 'unix_ms':
      return (v) => epochNanos(v, 6);
    case 'unix_ns':
      return (v) => epochNanos(v, 0);
    default:
      return compilePattern(format, now);
  }
}

// --- epoch numbers ------------------------------------------------------------------------------

const DECIMAL = /^\s*(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/** Digits in, so the nanoseconds a double cannot hold survive when the caller has the text. */
function epochNanos(v: string | number, unitExp: number): bigint | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    if (Number.isSafeInteger(v)) {
      const ns = BigInt(v) * 10n ** BigInt(unitExp);
      return ns >= TWO_64 || ns <= -TWO_64 ? undefined : ns;
    }
    v = String(v);
  }
  const m = DECIMAL.exec(v);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  let digits = (m[2] ?? '0') + frac;
  const exp = Number(m[4] ?? 0) - frac.length + unitExp;
  // More digits than a 64-bit count of nanoseconds has is no time, and 10n ** BigInt(1e9) for
  // `1e999999999` would compute for minutes: refuse before any power is taken.
  const significant = digits.length - (/^0*/.exec(digits)?.[0].length ?? 0);
  if (significant === 0) return 0n;
  if (significant + exp > MAX_TIME_DIGITS) return undefined;
  let ns: bigint;
  if (exp >= 0) ns = BigInt(digits) * 10n ** BigInt(exp);
  else {
    digits = digits.slice(0, Math.max(0, digits.length + exp));
    ns = digits.length === 0 ? 0n : BigInt(digits);
  }
  if (ns >= TWO_64) return undefined;
  return m[1] === '-' ? -ns : ns;
}

/** Seconds until year 5138, then ms, µs, ns: the ranges do not overlap for any plausible date. */
function unitExpFor(magnitude: number): number {
  if (magnitude < 1e11) return 9;
  if (magnitude < 1e14) return 6;
  if (magnitude < 1e17) return 3;
  return 0;
}

function epochByMagnitude(v: number, text: string | undefined): bigint | undefined {
  if (!Number.isFinite(v)) return undefined;
  return epochNanos(text ?? v, unitExpFor(Math.abs(v)));
}

function epochText(v: string): bigint | undefined {
  if (!DECIMAL.test(v)) return undefined;
  return epochByMagnitude(Number(v), v);
}

// --- RFC 3339 -----------------------------------------------------------------------------------

const RFC3339 = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$/;

export function parseRfc3339(v: string): bigint | undefined {
  const m = RFC3339.exec(v);
  if (!m) return undefined;
  return build({
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
    fractionNs: fraction(m[7]),
    offsetMinutes: offset(m[8]),
  });
}

function fraction(digits: string | undefined): bigint {
  if (!digits) return 0n;
  return BigInt(digits.length >= 9 ? digits.slice(0, 9) : digits.padEnd(9, '0'));
}

/** Minutes east of UTC; undefined for a zone name we do not know. */
function offset(z: string | undefined): number | undefined {
  if (z === undefined || z === 'Z' || z === 'z') return 0;
  const upper = z.toUpperCase();
  if (upper === 'UTC' || upper === 'GMT' || upper === 'UT') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(z);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  fractionNs: bigint;
  offsetMinutes: number | undefined;
}

function build(f: Fields): bigint | undefined {
  if (f.offsetMinutes === undefined) return undefined;
  // 60 admits a leap second (it reads as the next minute's first second).
  if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || f.hour > 23 || f.minute > 59 || f.second > 60) return undefined;
  // Date.UTC rolls 31 April into 1 May: refuse instead of shifting an event by a day.
  if (new Date(Date.UTC(f.year, f.month - 1, f.day)).getUTCDate() !== f.day) return undefined;
  const ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms - f.offsetMinutes * 60_000) * NS_PER_MS + f.fractionNs;
}

// --- strftime-like patterns ---------------------------------------------------------------------

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

type Setter = (f: Fields & { pm?: boolean; hour12?: number; yearDay?: number; epoch?: bigint; yearSet: boolean }, text: string) => boolean;

interface Directive {
  re: string;
  set?: Setter;
}

const num =
  (key: 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second'): Setter =>
  (f, t) => {
    f[key] = Number(t.trim());
    if (key === 'year') f.yearSet = true;
    return true;
  };

const DIRECTIVES: Record<string, Directive | string> = {
  Y: { re: '[+-]?\\d{4}', set: num('year') },
  y: {
    re: '\\d{2}',
    set: (f, t) => {
      const y = Number(t);
      f.year = y < 69 ? 2000 + y : 1900 + y; // POSIX's pivot
      f.yearSet = true;
      return true;
    },
  },
  m: { re: '\\d{1,2}', set: num('month') },
  d: { re: '\\d{1,2}', set: num('day') },
  e: { re: ' ?\\d{1,2}', set: num('day') },
  H: { re: '\\d{1,2}', set: num('hour') },
  I: {
    re: '\\d{1,2}',
    set: (f, t) => {
      f.hour12 = Number(t);
      return f.hour12 >= 1 && f.hour12 <= 12;
    },
  },
  p: {
    re: '[AaPp][Mm]',
    set: (f, t) => {
      f.pm = t.toLowerCase() === 'pm';
      return true;
    },
  },
  M: { re: '\\d{2}', set: num('minute') },
  S: { re: '\\d{2}', set: num('second') },
  f: {
    re: '\\d{1,9}',
    set: (f, t) => {
      f.fractionNs = fraction(t);
      return true;
    },
  },
  L: {
    re: '\\d{3}',
    set: (f, t) => {
      f.fractionNs = BigInt(t) * NS_PER_MS;
      return true;
    },
  },
  z: {
    re: 'Z|z|[+-]\\d{2}:?\\d{2}',
    set: (f, t) => (f.offsetMinutes = offset(t)) !== undefined,
  },
  Z: {
    re: '[A-Za-z]{1,5}',
    set: (f, t) => (f.offsetMinutes = offset(t)) !== undefined,
  },
  b: {
    re: '[A-Za-z]{3}',
    set: (f, t) => (f.month = MONTHS.indexOf(t.toLowerCase()) + 1) > 0,
  },
  B: {
    re: '[A-Za-z]{3,9}',
    set: (f, t) => (f.month = MONTHS.indexOf(t.slice(0, 3).toLowerCase()) + 1) > 0,
  },
  h: 'b',
  a: { re: '[A-Za-z]{3}' },
  A: { re: '[A-Za-z]{6,9}' },
  j: {
    re: '\\d{3}',
    set: (f, t) => {
      f.yearDay = Number(t);
      return f.yearDay >= 1 && f.yearDay <= 366;
    },
  },
  s: {
    // Bounded: two unbounded digit runs side by side (`%s%s`) backtrack quadratically.
    re: '-?\\d{1,20}',
    set: (f, t) => {
      f.epoch = BigInt(t) * 1_000_000_000n;
      return true;
    },
  },
  T: '%H:%M:%S',
  F: '%Y-%m-%d',
  D: '%m/%d/%y',
  R: '%H:%M',
  n: { re: '\\s+' },
  t: { re: '\\s+' },
  '%': { re: '%' },
};

function compilePattern(format: string, now: () => number): TimeParser {
  if (!format.includes('%')) throw new TimeFormatError(`"${format}" is neither ${TIME_FORMAT_KEYWORDS.join(', ')} nor a pattern with % directives`);
  const setters: Setter[] = [];
  let source = '';
  const expand = (fmt: string, depth: number): void => {
    for (let i = 0; i < fmt.length; i++) {
      const c = fmt[i]!;
      if (c !== '%') {
        // One space matches any run of blanks: syslog pads single-digit days with a second one.
        source += c === ' ' ? '\\s+' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        continue;
      }
      const name = fmt[++i];
      const d = name === undefined ? undefined : DIRECTIVES[name];
      if (d === undefined) throw new TimeFormatError(`unknown directive %${name ?? ''} in "${format}" (supported: ${[...TIME_DIRECTIVES].map((x) => `%${x}`).join(' ')})`);
      if (typeof d === 'string') {
        if (depth > 2) throw new TimeFormatError(`directive %${name} nests too deep`);
        expand(d.length === 1 ? `%${d}` : d, depth + 1);
        continue;
      }
      if (d.set) {
        source += `(${d.re})`;
        setters.push(d.set);
      } else {
        source += `(?:${d.re})`;
      }
    }
  };
  expand(format, 0);
  // Blank runs side by side (`%n%n`, a space before %t, the leading and trailing ones) are one run:
  // each pair of adjacent `\s` quantifiers multiplies the backtracking over a run of blanks.
  const re = new RegExp(`^\\s*${source}\\s*$`.replace(/(?:\\s[*+]|\(\?:\\s\+\))+/g, (run) => (run.includes('+') ? '\\s+' : '\\s*')));
  return (v) => {
    const m = re.exec(typeof v === 'number' ? String(v) : v);
    if (!m) return undefined;
    const f: Parameters<Setter>[0] = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, fractionNs: 0n, offsetMinutes: 0, yearSet: false };
    for (let i = 0; i < setters.length; i++) if (!setters[i]!(f, m[i + 1]!)) return undefined;
    if (f.epoch !== undefined) return f.epoch + f.fractionNs;
    if (f.hour12 !== undefined) f.hour = (f.hour12 % 12) + (f.pm ? 12 : 0);
    if (!f.yearSet) f.year = new Date(now()).getUTCFullYear();
    if (f.yearDay !== undefined) {
      const d = new Date(Date.UTC(f.year, 0, f.yearDay));
      f.month = d.getUTCMonth() + 1;
      f.day = d.getUTCDate();
    }
    const ns = build(f);
    if (ns === undefined || f.yearSet) return ns;
    // A year-less stamp from December read in January belongs to last year.
    if (ns > BigInt(now()) * NS_PER_MS + DAY_NS) return build({ ...f, year: f.year - 1 });
    return ns;
  };
}
