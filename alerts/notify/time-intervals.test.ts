import { describe, expect, it } from 'vitest';
import { notifyConfigSchema } from './config.js';
import { NamedTimeInterval, TimeIntervals, type TimeIntervalSpec } from './time-intervals.js';

const at = (iso: string) => Date.parse(iso);
const iv = (...specs: TimeIntervalSpec[]) => new NamedTimeInterval('w', specs);

describe('time intervals (Alertmanager semantics)', () => {
  it('keeps weekday ranges inclusive and day boundaries at local midnight', () => {
    // 2026-12-05 is a Saturday.
    const weekend = iv({ weekdays: ['saturday', 'sunday'] });
    expect(weekend.contains(at('2026-12-04T23:59:59Z'))).toBe(false);
    expect(weekend.contains(at('2026-12-05T00:00:00Z'))).toBe(true);
    expect(weekend.contains(at('2026-12-06T23:59:00Z'))).toBe(true);
    expect(weekend.contains(at('2026-12-07T00:00:00Z'))).toBe(false);
    expect(weekend.nextChange(at('2026-12-04T12:00:00Z'))).toBe(at('2026-12-05T00:00:00Z'));
    expect(weekend.nextChange(at('2026-12-05T12:00:00Z'))).toBe(at('2026-12-07T00:00:00Z'));
    // As in Alertmanager, weeks run sunday (0) to saturday (6), so a range cannot wrap.
    expect(errors({ ...base, time_intervals: [{ name: 'w', time_intervals: [{ weekdays: ['saturday:sunday'] }] }] })[0]).toMatch(/start day cannot be after end day/);
    // Names are case-insensitive; numbers are 0 = sunday .. 6 = saturday.
    expect(iv({ weekdays: ['Monday', '0'] }).contains(at('2026-12-06T10:00:00Z'))).toBe(true);
  });

  it('treats end_time as exclusive and start_time as inclusive', () => {
    const office = iv({ weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '17:00' }] });
    expect(office.contains(at('2026-12-04T08:59:00Z'))).toBe(false);
    expect(office.contains(at('2026-12-04T09:00:00Z'))).toBe(true);
    expect(office.contains(at('2026-12-04T16:59:59Z'))).toBe(true);
    expect(office.contains(at('2026-12-04T17:00:00Z'))).toBe(false);
    expect(office.contains(at('2026-12-05T10:00:00Z'))).toBe(false);
    // From Friday evening the next start is Monday 09:00.
    expect(office.status(at('2026-12-04T18:00:00Z'))).toMatchObject({ active: false, nextStartMs: at('2026-12-07T09:00:00Z'), nextEndMs: at('2026-12-07T17:00:00Z') });
    // 24:00 reaches the end of the day.
    expect(iv({ times: [{ start_time: '23:00', end_time: '24:00' }] }).contains(at('2026-12-04T23:59:00Z'))).toBe(true);
  });

  it('counts negative days of month from the end of each month', () => {
    const last = iv({ days_of_month: ['-1'] });
    expect(last.contains(at('2026-02-28T10:00:00Z'))).toBe(true);
    expect(last.contains(at('2026-02-27T10:00:00Z'))).toBe(false);
    expect(last.contains(at('2024-02-29T10:00:00Z'))).toBe(true);
    expect(last.contains(at('2024-02-28T10:00:00Z'))).toBe(false);
    const lastThree = iv({ days_of_month: ['-3:-1'] });
    expect(lastThree.contains(at('2026-12-29T00:00:00Z'))).toBe(true);
    expect(lastThree.contains(at('2026-12-28T23:59:00Z'))).toBe(false);
    expect(lastThree.contains(at('2026-04-28T00:00:00Z'))).toBe(true);
    // A range starting after the month's last day does not apply at all.
    expect(iv({ days_of_month: ['31'] }).contains(at('2026-04-30T12:00:00Z'))).toBe(false);
    expect(iv({ days_of_month: ['1:5'] }).contains(at('2026-12-05T23:59:00Z'))).toBe(true);
    expect(iv({ days_of_month: ['1:5'] }).contains(at('2026-12-06T00:00:00Z'))).toBe(false);
  });

  it('reads months by name or number and years as inclusive ranges', () => {
    const q1 = iv({ months: ['january:march', '12'] });
    expect(q1.contains(at('2026-02-15T00:00:00Z'))).toBe(true);
    expect(q1.contains(at('2026-04-01T00:00:00Z'))).toBe(false);
    expect(q1.contains(at('2026-12-01T00:00:00Z'))).toBe(true);
    expect(iv({ months: ['December'] }).contains(at('2026-11-30T23:59:00Z'))).toBe(false);
    const years = iv({ years: ['2026:2027'] });
    expect(years.contains(at('2027-12-31T23:59:00Z'))).toBe(true);
    expect(years.contains(at('2028-01-01T00:00:00Z'))).toBe(false);
  });

  it('reads every field in its location, across a DST change', () => {
    const morning = iv({ times: [{ start_time: '09:00', end_time: '10:00' }], location: 'Europe/Berlin' });
    expect(morning.contains(at('2026-01-15T08:00:00Z'))).toBe(true); // CET, UTC+1
    expect(morning.contains(at('2026-01-15T07:30:00Z'))).toBe(false);
    expect(morning.contains(at('2026-07-15T07:00:00Z'))).toBe(true); // CEST, UTC+2
    expect(morning.contains(at('2026-07-15T08:00:00Z'))).toBe(false);
    // Sunday 2026-03-29 02:00 CET jumps to 03:00 CEST: local 00:00-04:00 lasts three real hours.
    const night = iv({ weekdays: ['sunday'], times: [{ start_time: '00:00', end_time: '04:00' }], location: 'Europe/Berlin' });
    expect(night.contains(at('2026-03-28T22:59:00Z'))).toBe(false);
    expect(night.status(at('2026-03-28T12:00:00Z'))).toMatchObject({ active: false, nextStartMs: at('2026-03-28T23:00:00Z'), nextEndMs: at('2026-03-29T02:00:00Z') });
    expect(night.contains(at('2026-03-29T01:59:00Z'))).toBe(true);
  });

  it('mutes a route inside a mute interval or outside all its active intervals, and says until when', () => {
    const t = new TimeIntervals([
      { name: 'weekend', time_intervals: [{ weekdays: ['saturday', 'sunday'] }] },
      { name: 'office', time_intervals: [{ weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '17:00' }] }] },
    ]);
    expect(t.routeMuted(['weekend'], [], at('2026-12-05T10:00:00Z'))).toEqual({ muted: true, by: ['weekend'], untilMs: at('2026-12-07T00:00:00Z') });
    expect(t.routeMuted(['weekend'], [], at('2026-12-04T10:00:00Z')).muted).toBe(false);
    expect(t.routeMuted([], ['office'], at('2026-12-04T10:00:00Z')).muted).toBe(false);
    expect(t.routeMuted([], ['office'], at('2026-12-04T18:00:00Z'))).toMatchObject({ muted: true, untilMs: at('2026-12-07T09:00:00Z') });
  });
});

/** A zod issue as the user reads it: `a[0].b: message`. */
function errors(input: unknown): string[] {
  const r = notifyConfigSchema.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n > 0 ? '.' : ''}${String(p)}`)).join('')}: ${i.message}`);
}

const base = { route: { receiver: 'a' }, receivers: [{ name: 'a' }] };

describe('time_intervals config', () => {
  it('accepts Alertmanager configs and routes naming their intervals', () => {
    expect(
      errors({
        ...base,
        route: { receiver: 'a', routes: [{ matchers: ['env="staging"'], mute_time_intervals: ['weekend'], active_time_intervals: ['q1'] }] },
        time_intervals: [
          { name: 'weekend', time_intervals: [{ weekdays: ['saturday', 'sunday'], location: 'Europe/Berlin' }] },
          { name: 'q1', time_intervals: [{ months: ['january:march'], days_of_month: ['1:5', '-1'], years: ['2026:2027'], times: [{ start_time: '00:00', end_time: '24:00' }] }] },
        ],
      }),
    ).toEqual([]);
  });

  it("accepts Alertmanager's older top-level mute_time_intervals and checks names across both", () => {
    expect(
      errors({
        ...base,
        route: { receiver: 'a', routes: [{ matchers: ['env="x"'], mute_time_intervals: ['old', 'new'] }] },
        mute_time_intervals: [{ name: 'old', time_intervals: [{ weekdays: ['sunday'] }] }],
        time_intervals: [{ name: 'new', time_intervals: [{ weekdays: ['saturday'] }] }],
      }),
    ).toEqual([]);
    expect(errors({ ...base, mute_time_intervals: [{ name: 'x', time_intervals: [] }], time_intervals: [{ name: 'x', time_intervals: [] }] })).toEqual([
      'mute_time_intervals[0].name: duplicate time interval "x"',
    ]);
  });

  it('names the key of each bad field', () => {
    expect(
      errors({
        ...base,
        time_intervals: [
          {
            name: 'w',
            time_intervals: [
              {},
              { weekdays: ['mondy'], days_of_month: ['0'], months: ['13'], years: ['2027:2026'], location: 'Mars/Olympus', times: [{ start_time: '17:00', end_time: '09:00' }, { start_time: '25:00', end_time: '26:00' }] },
            ],
          },
        ],
      }),
    ).toEqual([
      'time_intervals[0].time_intervals[1].times[0].end_time: end_time must be after start_time (the end is exclusive; intervals do not cross midnight, split them)',
      'time_intervals[0].time_intervals[1].times[1].start_time: expected HH:MM (00:00 to 24:00)',
      'time_intervals[0].time_intervals[1].times[1].end_time: expected HH:MM (00:00 to 24:00)',
      'time_intervals[0].time_intervals[1].weekdays[0]: unknown weekday "mondy"',
      'time_intervals[0].time_intervals[1].days_of_month[0]: 0 is not a valid day of the month: out of range',
      'time_intervals[0].time_intervals[1].months[0]: 13 is not a valid month: out of range',
      'time_intervals[0].time_intervals[1].years[0]: year range "2027:2026": end year must be after start year',
      'time_intervals[0].time_intervals[1].location: unknown time zone "Mars/Olympus": expected an IANA name such as Europe/Berlin',
    ]);
  });

  it('rejects unknown interval names, duplicates, and intervals on the root route', () => {
    expect(
      errors({
        ...base,
        route: { receiver: 'a', mute_time_intervals: ['w'], routes: [{ matchers: ['env="x"'], mute_time_intervals: ['nope'], active_time_intervals: ['w'] }] },
        time_intervals: [
          { name: 'w', time_intervals: [] },
          { name: 'w', time_intervals: [] },
        ],
      }),
    ).toEqual([
      'time_intervals[1].name: duplicate time interval "w"',
      'route.mute_time_intervals: the root route must not have mute_time_intervals',
      'route.routes[0].mute_time_intervals[0]: undefined time interval "nope"',
    ]);
  });
});

describe('alerts/RULES.md', () => {
  it('has a maintenance window example the notification config schema accepts', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const doc = readFileSync(new URL('../RULES.md', import.meta.url), 'utf8');
    const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('mute_time_intervals'));
    const cfg = notifyConfigSchema.parse((parse(block!) as { alerts: { notify: unknown } }).alerts.notify);
    const t = new TimeIntervals(cfg.time_intervals);
    // Saturday noon in Berlin is inside the weekend window, outside office hours.
    expect(t.routeMuted(['weekend-maintenance'], [], at('2026-12-05T11:00:00Z')).muted).toBe(true);
    expect(t.routeMuted([], ['office-hours'], at('2026-12-05T11:00:00Z')).muted).toBe(true);
    expect(t.routeMuted([], ['office-hours'], at('2026-12-04T11:00:00Z')).muted).toBe(false);
  });
});
