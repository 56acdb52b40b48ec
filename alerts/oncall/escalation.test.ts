import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { ManualClock } from '../evaluator/test-clock.js';
import type { Alert } from '../model.js';
import { MemoryKeyedStore } from '../store/keyed-store.js';
import { Escalations, type EscalationPolicy, type EscalationRecord } from './escalation.js';
import type { Schedule } from './schedule.js';

const T0 = Date.parse('2026-01-05T09:00:00Z');
const MIN = 60_000;

const policy: EscalationPolicy = {
  name: 'p',
  levels: [
    { targets: [{ schedule: 'primary' }], escalateAfterMs: 5 * MIN },
    { targets: [{ receiver: 'lead' }], escalateAfterMs: 10 * MIN },
  ],
  repeat: 1,
  nobodyOnCallReceiver: 'ops',
};
const primary: Schedule = { name: 'primary', layers: [{ name: 'l', members: ['alice', 'bob'], startMs: T0, shiftMs: 3600_000 }], overrides: [] };

function firing(startsAt = T0): Alert {
  return { labels: { alertname: 'DiskFull' }, annotations: {}, startsAt, endsAt: startsAt + 3600_000, generatorURL: '', fingerprint: 'fp1' };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function make(clock: ManualClock, store = new MemoryKeyedStore<EscalationRecord>(), schedules = new Map([['primary', primary]])) {
  const pages: Array<{ at: number; receivers: string[]; resolved: boolean }> = [];
  const e = new Escalations({
    policies: new Map([['p', policy]]),
    schedules,
    clock,
    store,
    page: async (receivers, alert) => {
      pages.push({ at: clock.now() - T0, receivers: [...receivers], resolved: alert.endsAt <= clock.now() });
    },
    log: silentLogger(),
  });
  return { e, pages, store };
}

describe('escalation policies', () => {
  it('pages the next level when nobody acknowledges, repeats the policy, then stops', async () => {
    const clock = new ManualClock(T0);
    const { e, pages } = make(clock);
    await e.trigger(firing(), 'p');
    await e.trigger(firing(), 'p'); // the same episode again (a group re-flush): no page
    expect(pages).toEqual([{ at: 0, receivers: ['alice'], resolved: false }]);
    clock.advance(5 * MIN - 1);
    await flush();
    expect(pages).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(pages[1]).toEqual({ at: 5 * MIN, receivers: ['lead'], resolved: false });
    clock.advance(10 * MIN);
    await flush();
    // Second round: the schedule's first shift is over, so bob is on call.
    expect(pages[2]).toEqual({ at: 15 * MIN, receivers: ['alice'], resolved: false });
    clock.advance(5 * MIN);
    await flush();
    clock.advance(60 * MIN);
    await flush();
    expect(pages.map((p) => p.receivers[0])).toEqual(['alice', 'lead', 'alice', 'lead']);
    expect(e.get('fp1')!.nextAtMs).toBeUndefined();
  });

  it('stops escalating once acknowledged, and sends the resolve to whoever was paged', async () => {
    const clock = new ManualClock(T0);
    const { e, pages } = make(clock);
    await e.trigger(firing(), 'p');
    clock.advance(5 * MIN);
    await flush();
    const rec = await e.acknowledge('fp1', 'alice');
    expect(rec).toMatchObject({ acknowledgedBy: 'alice', step: 1 });
    clock.advance(120 * MIN);
    await flush();
    expect(pages).toHaveLength(2);
    await e.resolve({ ...firing(), endsAt: clock.now() });
    expect(pages[2]).toEqual({ at: 125 * MIN, receivers: ['alice', 'lead'], resolved: true });
    expect(await e.acknowledge('nope', 'x')).toBeUndefined();
  });

  it('pages the nobody-on-call receiver when the schedule is empty', async () => {
    const clock = new ManualClock(T0 - 3600_000);
    const { e, pages } = make(clock);
    await e.trigger(firing(T0 - 3600_000), 'p');
    expect(pages[0]!.receivers).toEqual(['ops']);
    expect(e.get('fp1')!.pages[0]!.nobodyOnCall).toBe(true);
  });

  it('continues after a restart from the saved state: no step paged twice, a due step paged at once', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryKeyedStore<EscalationRecord>();
    const first = make(clock, store);
    await first.e.trigger(firing(), 'p');
    first.e.stop();
    // Down for 7 minutes: level 2 became due while nobody ran.
    clock.advance(7 * MIN);
    const second = make(clock, store);
    expect(await second.e.load()).toBe(1);
    await second.e.trigger(firing(), 'p');
    clock.advance(0);
    await flush();
    expect(second.pages).toEqual([{ at: 7 * MIN, receivers: ['lead'], resolved: false }]);
    // An acknowledgement made before a restart holds after it.
    await second.e.acknowledge('fp1', 'lead');
    second.e.stop();
    const third = make(clock, store);
    await third.e.load();
    clock.advance(60 * MIN);
    await flush();
    expect(third.pages).toEqual([]);
  });

  it('starts over for a new firing episode of the same alert', async () => {
    const clock = new ManualClock(T0);
    const { e, pages } = make(clock);
    await e.trigger(firing(), 'p');
    await e.acknowledge('fp1', 'alice');
    clock.advance(1000);
    await e.resolve({ ...firing(), endsAt: clock.now() });
    clock.advance(2 * MIN - 1000);
    await e.trigger(firing(T0 + 2 * MIN), 'p');
    expect(pages.filter((p) => !p.resolved).map((p) => p.at)).toEqual([0, 2 * MIN]);
    expect(e.get('fp1')!.acknowledgedBy).toBeUndefined();
  });
});
