import { describe, expect, it } from 'vitest';
import { notifyConfigSchema } from '../notify/config.js';
import { buildSchedules } from './build.js';
import { onCallAt, type Schedule } from './schedule.js';

const H = 3600_000;
const MON = Date.parse('2026-01-05T09:00:00Z');

const weekly: Schedule = {
  name: 'primary',
  layers: [{ name: 'weekly', members: ['alice', 'bob', 'carol'], startMs: MON, shiftMs: 168 * H }],
  overrides: [],
};

describe('on-call schedules', () => {
  it('rotates at the handoff time, wrapping around the members', () => {
    expect(onCallAt(weekly, MON - 1)).toBeUndefined();
    expect(onCallAt(weekly, MON)).toEqual({ member: 'alice', source: 'weekly', untilMs: MON + 168 * H });
    expect(onCallAt(weekly, MON + 168 * H - 1)?.member).toBe('alice');
    expect(onCallAt(weekly, MON + 168 * H)?.member).toBe('bob');
    expect(onCallAt(weekly, MON + 3 * 168 * H + 5 * H)?.member).toBe('alice');
  });

  it('lets a later layer cover its span and an override beat both', () => {
    const s: Schedule = {
      ...weekly,
      layers: [...weekly.layers, { name: 'nights', members: ['dave'], startMs: MON + 10 * H, endMs: MON + 22 * H, shiftMs: 24 * H }],
      overrides: [{ member: 'erin', startMs: MON + 12 * H, endMs: MON + 14 * H }],
    };
    // Alice's shift is cut short where the night layer starts.
    expect(onCallAt(s, MON + H)).toEqual({ member: 'alice', source: 'weekly', untilMs: MON + 10 * H });
    expect(onCallAt(s, MON + 11 * H)).toEqual({ member: 'dave', source: 'nights', untilMs: MON + 12 * H });
    expect(onCallAt(s, MON + 13 * H)).toEqual({ member: 'erin', source: 'override', untilMs: MON + 14 * H });
    expect(onCallAt(s, MON + 15 * H)?.member).toBe('dave');
    expect(onCallAt(s, MON + 23 * H)?.member).toBe('alice');
  });

  it('is read from the notification config, which rejects members and targets that do not exist', () => {
    const ok = notifyConfigSchema.parse({
      route: { receiver: 'a', escalation_policy: 'p' },
      receivers: [{ name: 'a' }, { name: 'b' }],
      oncall: {
        schedules: [{ name: 's', layers: [{ name: 'l', members: ['a', 'b'], start: '2026-01-05T09:00:00Z', rotation: 'daily' }] }],
        escalation_policies: [{ name: 'p', levels: [{ targets: [{ schedule: 's' }], escalate_after: '2s' }] }],
      },
    });
    expect(onCallAt(buildSchedules(ok.oncall).get('s')!, MON + 25 * H)?.member).toBe('b');
    const bad = notifyConfigSchema.safeParse({
      route: { receiver: 'a', escalation_policy: 'nope' },
      receivers: [{ name: 'a' }],
      oncall: {
        schedules: [{ name: 's', layers: [{ name: 'l', members: ['ghost'], start: '2026-01-05T09:00:00Z' }] }],
        escalation_policies: [{ name: 'p', levels: [{ targets: [{ schedule: 'missing' }] }] }],
      },
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'route.escalation_policy: undefined escalation policy "nope"',
        'oncall.schedules.0.layers.0.members.0: undefined receiver "ghost"',
        'oncall.escalation_policies.0.levels.0.targets.0: undefined schedule "missing"',
      ]),
    );
  });
});
