/**
 * Recurring time intervals (Alertmanager `timeinterval/timeinterval.go`), named in the notification
 * config's `time_intervals` and used by routes as `mute_time_intervals` / `active_time_intervals`.
 * Semantics are Alertmanager's so its configs carry over: times are [start, end) in minutes of the
 * day, every other range is inclusive, negative days of month count from the month's end, and all
 * fields are read in `location` (an IANA zone, UTC by default) through Intl, which knows DST.
 */
import { z } from 'zod';

const WEEKDAYS: Record<string, number> = { sunday: 0, monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6 };
const MONTHS: Record<string, number> = {
  january: 1, february: 2, march: 3, april: 4, may: 5, june: 6, july: 7, august: 8, september: 9, october: 10, november: 11, december: 12,
};

interface Range {
  begin: number;
  end: number;
}

/** "a:b" or "a" with names (case-insensitive) or integers, as Alertmanager's stringableRangeFromString. */
function parseRange(s: string, names: Record<string, number> | undefined, what: string): Range {
  const parts = s.toLowerCase().split(':');
  if (parts.length > 2) throw new Error(`invalid ${what} range "${s}": expected a or a:b`);
  const one = (p: string): number => {
    const named = names?.[p.trim()];
    if (named !== undefined) return named;
    if (!/^-?\d+$/.test(p.trim())) throw new Error(`unknown ${what} "${p}"`);
    return Number(p.trim());
  };
  const begin = one(parts[0]!);
  return { begin, end: parts.length === 2 ? one(parts[1]!) : begin };
}

function parseWeekdays(s: string): Range {
  const r = parseRange(s, WEEKDAYS, 'weekday');
  for (const v of [r.begin, r.end]) if (v < 0 || v > 6) throw new Error(`${v} is not a valid weekday: out of range`);
  if (r.begin > r.end) throw new Error(`weekday range "${s}": start day cannot be after end day (weeks start on sunday: list "saturday", "sunday" separately)`);
  return r;
}

function parseDaysOfMonth(s: string): Range {
  const r = parseRange(s, undefined, 'day of month');
  for (const v of [r.begin, r.end]) if (v === 0 || v < -31 || v > 31) throw new Error(`${v} is not a valid day of the month: out of range`);
  // Months shorter than 31 days cannot be checked here; Alertmanager compares as if in a 30-day month.
  const trueBegin = r.begin < 0 ? 30 + r.begin : r.begin;
  const trueEnd = r.end < 0 ? 30 + r.end : r.end;
  if (trueBegin > trueEnd) throw new Error(`days of month range "${s}": end day must be after start day`);
  return r;
}

function parseMonths(s: string): Range {
  const r = parseRange(s, MONTHS, 'month');
  for (const v of [r.begin, r.end]) if (v < 1 || v > 12) throw new Error(`${v} is not a valid month: out of range`);
  if (r.begin > r.end) throw new Error(`month range "${s}": end month must be after start month`);
  return r;
}

function parseYears(s: string): Range {
  const r = parseRange(s, undefined, 'year');
  if (r.begin < 0 || r.end < 0) throw new Error(`year range "${s}": years cannot be negative`);
  if (r.begin > r.end) throw new Error(`year range "${s}": end year must be after start year`);
  return r;
}

const CLOCK = /^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/;
const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function zoneFormatter(location: string | undefined): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    // 'Local' is Alertmanager's name for the machine's zone.
    ...(location === 'Local' ? {} : { timeZone: location ?? 'UTC' }),
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    weekday: 'long',
    hour: 'numeric',
    minute: 'numeric',
  });
}

/** A string list field whose entries each parse; the issue path names the failing entry. */
const ranges = (parse: (s: string) => Range) =>
  z.array(
    z.string().superRefine((s, ctx) => {
      try {
        parse(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  );

const timeRangeSchema = z
  .strictObject({
    start_time: z.string().regex(CLOCK, 'expected HH:MM (00:00 to 24:00)'),
    end_time: z.string().regex(CLOCK, 'expected HH:MM (00:00 to 24:00)'),
  })
  .refine((t) => !CLOCK.test(t.start_time) || !CLOCK.test(t.end_time) || minutes(t.start_time) < minutes(t.end_time), {
    path: ['end_time'],
    message: 'end_time must be after start_time (the end is exclusive; intervals do not cross midnight, split them)',
  });

export const timeIntervalSpecSchema = z.strictObject({
  times: z.array(timeRangeSchema).optional(),
  weekdays: ranges(parseWeekdays).optional(),
  days_of_month: ranges(parseDaysOfMonth).optional(),
  months: ranges(parseMonths).optional(),
  years: ranges(parseYears).optional(),
  location: z
    .string()
    .superRefine((loc, ctx) => {
      try {
        zoneFormatter(loc);
      } catch {
        ctx.addIssue({ code: 'custom', message: `unknown time zone "${loc}": expected an IANA name such as Europe/Berlin` });
      }
    })
    .optional(),
});

export const timeIntervalsSchema = z.array(z.strictObject({ name: z.string().min(1), time_intervals: z.array(timeIntervalSpecSchema) })).default([]);

export type TimeIntervalSpec = z.infer<typeof timeIntervalSpecSchema>;
export type TimeIntervalsConfig = z.infer<typeof timeIntervalsSchema>;

interface LocalTime {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minuteOfDay: number;
}

const inRanges = (rs: readonly Range[] | undefined, v: number) => rs === undefined || rs.length === 0 || rs.some((r) => v >= r.begin && v <= r.end);

/** One entry of a named interval's `time_intervals`: all its given fields must hold. */
class TimeInterval {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly times: Range[] | undefined;
  private readonly weekdays: Range[] | undefined;
  private readonly daysOfMonth: Range[] | undefined;
  private readonly months: Range[] | undefined;
  private readonly years: Range[] | undefined;
  /** Minutes of the day at which `contains` can change: where the next change is searched. */
  readonly edges: number[];

  constructor(spec: TimeIntervalSpec) {
    this.fmt = zoneFormatter(spec.location);
    this.times = spec.times?.map((t) => ({ begin: minutes(t.start_time), end: minutes(t.end_time) }));
    this.weekdays = spec.weekdays?.map(parseWeekdays);
    this.daysOfMonth = spec.days_of_month?.map(parseDaysOfMonth);
    this.months = spec.months?.map(parseMonths);
    this.years = spec.years?.map(parseYears);
    this.edges = [...new Set([0, ...(this.times ?? []).flatMap((t) => [t.begin, t.end])])].sort((a, b) => a - b);
  }

  local(ms: number): LocalTime {
    const p: Record<string, string> = {};
    for (const part of this.fmt.formatToParts(ms)) p[part.type] = part.value;
    return {
      year: Number(p.year),
      month: Number(p.month),
      day: Number(p.day),
      weekday: WEEKDAYS[p.weekday!.toLowerCase()]!,
      minuteOfDay: Number(p.hour) * 60 + Number(p.minute),
    };
  }

  contains(ms: number): boolean {
    const t = this.local(ms);
    if (this.times?.length && !this.times.some((r) => t.minuteOfDay >= r.begin && t.minuteOfDay < r.end)) return false;
    if (this.daysOfMonth?.length) {
      const daysInMonth = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
      const ok = this.daysOfMonth.some((r) => {
        let begin = r.begin < 0 ? daysInMonth + r.begin + 1 : r.begin;
        let end = r.end < 0 ? daysInMonth + r.end + 1 : r.end;
        // A range starting after this month's last day (e.g. 31 in April) does not apply.
        if (begin > daysInMonth) return false;
        begin = Math.max(-daysInMonth, Math.min(begin, daysInMonth));
        end = Math.max(-daysInMonth, Math.min(end, daysInMonth));
        return t.day >= begin && t.day <= end;
      });
      if (!ok) return false;
    }
    return inRanges(this.weekdays, t.weekday) && inRanges(this.months, t.month) && inRanges(this.years, t.year);
  }
}

const MINUTE = 60_000;
/** How far ahead the next start or end is searched (a window in a given year may be years away). */
const HORIZON_MS = 4 * 366 * 24 * 3600_000;

export interface IntervalStatus {
  name: string;
  active: boolean;
  /** The next time it becomes active / inactive; undefined when that is not within four years. */
  nextStartMs?: number | undefined;
  nextEndMs?: number | undefined;
}

/** A named interval: active when any of its entries contains the time. */
export class NamedTimeInterval {
  private readonly entries: TimeInterval[];
  constructor(
    readonly name: string,
    specs: readonly TimeIntervalSpec[],
  ) {
    this.entries = specs.map((s) => new TimeInterval(s));
  }

  contains(ms: number): boolean {
    return this.entries.some((e) => e.contains(ms));
  }

  /**
   * The first minute after `fromMs` where `contains` differs from its value at `fromMs`. Steps from
   * one possible edge (a start/end minute or midnight, in each entry's zone) to the next; a DST
   * jump can land past an edge, so a change found is narrowed down to its minute by bisection.
   */
  nextChange(fromMs: number): number | undefined {
    const state = this.contains(fromMs);
    let prev = Math.floor(fromMs / MINUTE) * MINUTE;
    while (prev - fromMs < HORIZON_MS) {
      let step = 24 * 60;
      for (const e of this.entries) {
        const m = e.local(prev).minuteOfDay;
        const next = e.edges.find((x) => x > m) ?? 24 * 60;
        // At least a minute, so the search always moves on.
        step = Math.max(1, Math.min(step, next - m));
      }
      const at = prev + step * MINUTE;
      if (this.contains(at) !== state) {
        let lo = prev;
        let hi = at;
        while (hi - lo > MINUTE) {
          const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
          if (this.contains(mid) !== state) hi = mid;
          else lo = mid;
        }
        return hi;
      }
      prev = at;
    }
    return undefined;
  }

  status(nowMs: number): IntervalStatus {
    const active = this.contains(nowMs);
    const first = this.nextChange(nowMs);
    const second = first !== undefined ? this.nextChange(first) : undefined;
    return active ? { name: this.name, active, nextEndMs: first, nextStartMs: second } : { name: this.name, active, nextStartMs: first, nextEndMs: second };
  }
}

export class TimeIntervals {
  private readonly byName: Map<string, NamedTimeInterval>;
  constructor(cfg: TimeIntervalsConfig) {
    this.byName = new Map(cfg.map((c) => [c.name, new NamedTimeInterval(c.name, c.time_intervals)]));
  }

  get(name: string): NamedTimeInterval | undefined {
    return this.byName.get(name);
  }

  list(): NamedTimeInterval[] {
    return [...this.byName.values()];
  }

  /**
   * Whether a route with these interval names is muted now, and by which names (for active
   * intervals: all of them, as Alertmanager's marker shows) (Alertmanager's TimeMuteStage and
   * TimeActiveStage): inside any mute interval, or outside all of its active intervals. With
   * `withUntil`, `untilMs` is when that may change, so a group can wake up then (a search of up to
   * a few ms, hence only on request).
   */
  routeMuted(mute: readonly string[], active: readonly string[], nowMs: number, withUntil = true): { muted: boolean; by: string[]; untilMs?: number | undefined } {
    const by = mute.filter((n) => this.byName.get(n)?.contains(nowMs));
    const outsideActive = active.length > 0 && !active.some((n) => this.byName.get(n)?.contains(nowMs));
    if (by.length === 0 && !outsideActive) return { muted: false, by };
    if (!withUntil) return { muted: true, by: outsideActive ? [...by, ...active] : by };
    const relevant = [...mute, ...active].map((n) => this.byName.get(n)?.nextChange(nowMs)).filter((x): x is number => x !== undefined);
    return { muted: true, by: outsideActive ? [...by, ...active] : by, untilMs: relevant.length ? Math.min(...relevant) : undefined };
  }
}
