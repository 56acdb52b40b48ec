import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { notifyConfigSchema, type NotifyConfigInput } from './config.js';
import { FileNotificationLogStore } from './notification-log.js';
import { Notifications } from './notifier.js';
import type { NotificationEvent } from './record-stage.js';
import type { SilenceEvent } from './silences.js';
import { alert, FakeClock, settle, startReceiver, until, type Receiver } from './test-helpers.js';
import type { WebhookMessage } from './webhook.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const VALID_FOR = 60_000;

let hook: Receiver;
let fallback: Receiver;
let dir: string;
const stops: Array<() => void> = [];

beforeEach(async () => {
  hook = await startReceiver();
  fallback = await startReceiver();
  dir = await mkdtemp(join(tmpdir(), 'pharos-notify-'));
});
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  await hook.close();
  await fallback.close();
  await rm(dir, { recursive: true, force: true });
});

function config(over: Partial<NotifyConfigInput> = {}): NotifyConfigInput {
  return {
    route: { receiver: 'oncall', group_by: ['alertname', 'host'], group_wait: '0s', group_interval: '1m', repeat_interval: '4h' },
    receivers: [
      { name: 'oncall', webhook_configs: [{ url: hook.url }] },
      { name: 'fallback', webhook_configs: [{ url: fallback.url }] },
    ],
    fallback_receiver: 'fallback',
    fallback_after_failures: 2,
    delivery: { deadline: '10s', initial_backoff: '1s', max_backoff: '4s' },
    silence_expiry_notice: '5m',
    ...over,
  };
}

async function start(clock: FakeClock, over: Partial<NotifyConfigInput> = {}, extra: { events?: NotificationEvent[]; silenceEvents?: SilenceEvent[]; logFile?: string } = {}) {
  const cfg = notifyConfigSchema.parse(config(over));
  const n = await Notifications.start({
    config: cfg,
    log: silentLogger(),
    registry: createRegistry(),
    clock,
    rng: () => 0.5,
    ...(extra.logFile ? { logStore: new FileNotificationLogStore(extra.logFile) } : {}),
    onNotification: (e) => extra.events?.push(e),
    onSilenceEvent: (e) => extra.silenceEvents?.push(e),
  });
  stops.push(() => n.stop());
  return n;
}

const disk = (clock: FakeClock, endsAt = clock.now() + VALID_FOR) =>
  alert({ alertname: 'DiskFull', host: 'db1', severity: 'page' }, T0, endsAt, { summary: 'disk / on db1 is 95% full' });

describe('Notifications', () => {
  it('pages a webhook once for a disk-full alert, not again before repeat_interval, and sends the resolve', async () => {
    const clock = new FakeClock(T0);
    const events: NotificationEvent[] = [];
    const n = await start(clock, {}, { events });
    await n.put([disk(clock)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1, 'the page');
    const page = hook.bodies[0] as WebhookMessage;
    expect(page).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'oncall',
      groupKey: '{}:{alertname="DiskFull",host="db1"}',
      groupLabels: { alertname: 'DiskFull', host: 'db1' },
      commonLabels: { alertname: 'DiskFull', host: 'db1', severity: 'page' },
      commonAnnotations: { summary: 'disk / on db1 is 95% full' },
      truncatedAlerts: 0,
    });
    expect(page.alerts).toEqual([
      expect.objectContaining({ status: 'firing', startsAt: new Date(T0).toISOString(), endsAt: '0001-01-01T00:00:00Z', fingerprint: expect.any(String) }),
    ]);

    // The evaluator re-sends every 15 s; group intervals pass; nothing new to say.
    for (let i = 0; i < 20; i++) {
      clock.advance(15_000);
      await n.put([disk(clock)]);
      await settle();
    }
    expect(hook.bodies).toHaveLength(1);
    await until(() => events.length === 1, 'the event');
    expect(events[0]).toMatchObject({ receiver: 'oncall/webhook[0]', status: 'sent', groupKey: page.groupKey });

    await n.put([disk(clock, clock.now() - 1)]);
    clock.advance(60_000);
    await until(() => hook.bodies.length === 2, 'the resolve');
    expect(hook.bodies[1]).toMatchObject({ status: 'resolved', alerts: [expect.objectContaining({ status: 'resolved' })] });
    clock.advance(60_000);
    await settle();
    expect(hook.bodies).toHaveLength(2);
  });

  it('with group_interval 0 sends a resolve as soon as it arrives, and does not spin while nothing changes', async () => {
    const clock = new FakeClock(T0);
    const n = await start(clock, { route: { receiver: 'oncall', group_by: ['alertname'], group_wait: '0s', group_interval: '0s', repeat_interval: '1h' } });
    await n.put([disk(clock)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1, 'the page');
    await n.put([disk(clock)]);
    await settle();
    // One timer (the repeat) and no flush loop.
    expect(clock.pending()).toBe(1);
    await n.put([disk(clock, clock.now())]);
    clock.advance(0);
    await until(() => hook.bodies.length === 2, 'the resolve without waiting for a tick');
    expect(hook.bodies[1]).toMatchObject({ status: 'resolved' });
  });

  it('pages again once repeat_interval has passed', async () => {
    const clock = new FakeClock(T0);
    const n = await start(clock, { route: { receiver: 'oncall', group_by: ['alertname'], group_wait: '0s', group_interval: '1m', repeat_interval: '10m' } });
    await n.put([disk(clock, T0 + 3600_000)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1, 'the page');
    for (let i = 0; i < 9; i++) {
      clock.advance(60_000);
      await settle();
    }
    expect(hook.bodies).toHaveLength(1);
    clock.advance(60_000);
    await until(() => hook.bodies.length === 2, 'the repeat');
  });

  it('a silence suppresses the page; when it ends while the alert fires, the page goes out at once', async () => {
    const clock = new FakeClock(T0);
    const silenceEvents: SilenceEvent[] = [];
    const n = await start(clock, {}, { silenceEvents });
    const s = n.silences.create({ matchers: [{ name: 'host', type: '=', value: 'db1' }], endsAt: T0 + 30 * 60_000, createdBy: 'ops', comment: 'maintenance' });
    await n.put([disk(clock, T0 + 3600_000)]);
    clock.advance(0);
    await settle();
    expect(hook.bodies).toHaveLength(0);
    expect(n.list()[0]).toMatchObject({ state: 'suppressed', silencedBy: [s.id] });

    clock.advance(25 * 60_000);
    expect(silenceEvents.map((e) => e.kind)).toEqual(['created', 'expiring_soon']);
    // Ends at T0+30m; the next group tick would be later, yet the page must arrive at the end.
    clock.advance(5 * 60_000 - 30_000);
    await settle();
    expect(hook.bodies).toHaveLength(0);
    clock.advance(30_000);
    await until(() => hook.bodies.length === 1, 'the page at silence end');
    expect(silenceEvents.map((e) => e.kind)).toContain('expired');
  });

  it('a silence that was paged through still pages at once when it is expired through the API', async () => {
    const clock = new FakeClock(T0);
    const n = await start(clock);
    await n.put([disk(clock, T0 + 3600_000)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1, 'the first page');
    const s = n.silences.create({ matchers: [{ name: 'alertname', type: '=', value: 'DiskFull' }], endsAt: T0 + 3600_000, createdBy: 'ops', comment: 'ack' });
    clock.advance(60_000);
    await settle();
    expect(n.silences.expire(s.id)).toBe(true);
    clock.advance(0);
    await until(() => hook.bodies.length === 2, 'the page after expiry');
  });

  it('an until-resolved silence ends once its alert resolves', async () => {
    const clock = new FakeClock(T0);
    const n = await start(clock);
    const s = n.silences.create({ matchers: [{ name: 'alertname', type: '=', value: 'DiskFull' }], untilResolved: true, createdBy: 'ops', comment: 'fixing' });
    await n.put([disk(clock)]);
    expect(n.silences.get(s.id)!.endsAt).toBeGreaterThan(T0 + 3600_000);
    clock.advance(10_000);
    await n.put([disk(clock, clock.now() - 1)]);
    expect(n.silences.get(s.id)!.endsAt).toBe(clock.now());
    await settle();
    expect(hook.bodies).toHaveLength(0);
  });

  it('an inhibit rule suppresses the lesser alert of the same host', async () => {
    const clock = new FakeClock(T0);
    const n = await start(clock, {
      route: { receiver: 'oncall', group_by: ['alertname'], group_wait: '0s', group_interval: '1m', repeat_interval: '4h' },
      inhibit_rules: [{ source_matchers: ['severity="page"'], target_matchers: ['severity=~"warning|info"'], equal: ['host'] }],
    });
    const warn = alert({ alertname: 'DiskFilling', host: 'db1', severity: 'warning' }, T0, T0 + VALID_FOR);
    const otherHost = alert({ alertname: 'DiskFilling', host: 'db2', severity: 'warning' }, T0, T0 + VALID_FOR);
    await n.put([disk(clock), warn, otherHost]);
    clock.advance(0);
    await until(() => hook.bodies.length === 2, 'two group pages');
    await settle();
    const sent = (hook.bodies as WebhookMessage[]).flatMap((b) => b.alerts.map((a) => `${a.labels.alertname}@${a.labels.host}`)).sort();
    expect(sent).toEqual(['DiskFilling@db2', 'DiskFull@db1']);
    const status = n.list().find((s) => s.alert.fingerprint === warn.fingerprint)!;
    expect(status).toMatchObject({ state: 'suppressed', inhibitedBy: [disk(clock).fingerprint] });
  });

  it('waits as long as a 429 Retry-After asks before retrying', async () => {
    const clock = new FakeClock(T0);
    hook.respond = (_req, res, n) => (n === 1 ? res.writeHead(429, { 'retry-after': '7' }).end('slow down') : res.writeHead(200).end());
    const n = await start(clock);
    await n.put([disk(clock)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1, 'the first attempt');
    await settle();
    clock.advance(6_999);
    await settle();
    expect(hook.bodies).toHaveLength(1);
    clock.advance(1);
    await until(() => hook.bodies.length === 2, 'the retry');
    expect(fallback.bodies).toHaveLength(0);
  });

  it('sends to the fallback receiver once the receiver failed past the threshold, and does not page twice', async () => {
    const clock = new FakeClock(T0);
    hook.respond = (_req, res) => res.writeHead(503).end('down');
    const events: NotificationEvent[] = [];
    const n = await start(clock, {}, { events });
    await n.put([disk(clock, T0 + 3600_000)]);
    clock.advance(0);
    // Delivery 1: retries until the 10 s deadline, then fails (below the threshold of 2).
    for (let i = 0; i < 12; i++) {
      await settle();
      clock.advance(1000);
    }
    await until(() => events.some((e) => e.status === 'failed'), 'first failed delivery');
    expect(fallback.bodies).toHaveLength(0);
    // Delivery 2 at the next group tick fails too: the fallback gets the page.
    for (let i = 0; i < 70 && fallback.bodies.length === 0; i++) {
      await settle();
      clock.advance(1000);
    }
    await until(() => fallback.bodies.length === 1, 'the fallback page');
    expect(fallback.bodies[0]).toMatchObject({ status: 'firing', receiver: 'oncall' });
    expect(events.filter((e) => e.status === 'sent').map((e) => e.receiver)).toEqual(['fallback/webhook[0]']);
    // Logged as delivered: later ticks do not page the fallback again.
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      await settle();
    }
    expect(fallback.bodies).toHaveLength(1);
  });

  it('does not re-page after a restart with the file notification log', async () => {
    const clock = new FakeClock(T0);
    const logFile = join(dir, 'nflog.json');
    const first = await start(clock, {}, { logFile });
    await first.put([disk(clock, T0 + 3600_000)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1, 'the page');
    await until(() => existsSync(logFile), 'the notification log file');
    first.stop();

    clock.advance(30_000);
    const second = await start(clock, {}, { logFile });
    await second.put([disk(clock, T0 + 3600_000)]);
    clock.advance(0);
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      await settle();
    }
    expect(hook.bodies).toHaveLength(1);
  });

  it('keeps silences across a restart with the silences file', async () => {
    const clock = new FakeClock(T0);
    const silencesFile = join(dir, 'silences.json');
    const first = await start(clock, { silences_file: silencesFile });
    const s = first.silences.create({ matchers: [{ name: 'host', type: '=', value: 'db1' }], endsAt: T0 + 3600_000, createdBy: 'ops', comment: 'm' });
    await first.silencesPersisted();
    first.stop();
    const second = await start(clock, { silences_file: silencesFile });
    expect(second.silences.get(s.id)).toEqual(s);
    await second.put([disk(clock, T0 + 3600_000)]);
    clock.advance(60_000);
    await settle();
    expect(hook.bodies).toHaveLength(0);
  });

  it('counts notifications and silences in metrics', async () => {
    const clock = new FakeClock(T0);
    const registry = createRegistry();
    const cfg = notifyConfigSchema.parse(config());
    const n = await Notifications.start({ config: cfg, log: silentLogger(), registry, clock, rng: () => 0 });
    stops.push(() => n.stop());
    n.silences.create({ matchers: [{ name: 'host', type: '=', value: 'zz' }], endsAt: T0 + 60_000, createdBy: 'a', comment: '' });
    await n.put([disk(clock)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1, 'the page');
    await settle();
    const text = await registry.metrics();
    expect(text).toMatch(/pharos_alerts_notifications_total\{receiver="oncall\/webhook\[0\]",status="sent"\} 1/);
    expect(text).toMatch(/pharos_alerts_silences\{state="active"\} 1/);
    expect(text).toMatch(/pharos_alerts_notification_latency_seconds_count\{receiver="oncall\/webhook\[0\]"\} 1/);
  });
});

describe('mute_time_intervals', () => {
  // 2026-11-27 is a Friday; the window is the weekend (Saturday and Sunday, UTC).
  const FRI = Date.UTC(2026, 10, 27, 23, 50, 0);
  const MON = Date.UTC(2026, 10, 30, 0, 0, 0);
  const windowed = (over: Record<string, unknown> = {}): Partial<NotifyConfigInput> => ({
    route: {
      receiver: 'oncall',
      group_by: ['alertname'],
      group_wait: '0s',
      group_interval: '0s',
      repeat_interval: '4h',
      routes: [{ matchers: ['env="staging"'], mute_time_intervals: ['weekend-maintenance'], escalation_policy: 'staging', ...over }],
    },
    time_intervals: [{ name: 'weekend-maintenance', time_intervals: [{ weekdays: ['saturday', 'sunday'] }] }],
    oncall: { escalation_policies: [{ name: 'staging', levels: [{ targets: [{ receiver: 'fallback' }], escalate_after: '15m' }, { targets: [{ receiver: 'fallback' }] }] }] },
  });
  const staging = (startsAt: number) => alert({ alertname: 'DiskFull', env: 'staging' }, startsAt, MON + 86_400_000);

  it('pages nothing inside the window, then the still-firing alert once, as the window ends', async () => {
    const clock = new FakeClock(MON - 3600_000);
    const n = await start(clock, windowed());
    await n.put([staging(clock.now())]);
    clock.advance(0);
    for (let i = 0; i < 5; i++) {
      clock.advance(10 * 60_000);
      await n.put([staging(MON - 3600_000)]);
      await settle();
    }
    expect(hook.bodies).toHaveLength(0);
    expect(fallback.bodies).toHaveLength(0);
    expect(n.list()[0]).toMatchObject({ state: 'suppressed', mutedBy: ['weekend-maintenance'], silencedBy: [] });
    expect(n.timeIntervalStatus()).toEqual([{ name: 'weekend-maintenance', active: true, nextEndMs: MON, nextStartMs: Date.UTC(2026, 11, 5) }]);

    clock.advance(MON - clock.now());
    await until(() => hook.bodies.length === 1 && fallback.bodies.length === 1, 'the page and the first escalation level as the window ends');
    expect(hook.bodies[0]).toMatchObject({ status: 'firing', groupLabels: { alertname: 'DiskFull' } });
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      await n.put([staging(MON - 3600_000)]);
      await settle();
    }
    expect(hook.bodies).toHaveLength(1);
  });

  it('holds an escalation already under way while the window lasts', async () => {
    const clock = new FakeClock(FRI);
    const n = await start(clock, windowed());
    await n.put([staging(FRI)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1 && fallback.bodies.length === 1, 'the page and level one before the window');
    // Level two is due at 00:05 Saturday, inside the window.
    for (let t = clock.now(); t < MON - 3600_000; t += 3600_000) {
      clock.advance(3600_000);
      await settle();
    }
    expect(fallback.bodies).toHaveLength(1);
    expect(hook.bodies).toHaveLength(1);
    clock.advance(MON - clock.now());
    // The group flushes at once (a window end counts like a silence end); the escalation resumes within its step.
    await until(() => hook.bodies.length === 2, 'the notification as the window ends');
    clock.advance(15 * 60_000);
    await until(() => fallback.bodies.length === 2, 'the next escalation level after the window');
  });

  it('sends the resolve of a page from before the window after it, and ends its escalation', async () => {
    const clock = new FakeClock(FRI);
    const n = await start(clock, windowed());
    await n.put([staging(FRI)]);
    clock.advance(0);
    await until(() => hook.bodies.length === 1 && fallback.bodies.length === 1, 'the page and level one before the window');
    clock.advance(3600_000);
    await n.put([alert({ alertname: 'DiskFull', env: 'staging' }, FRI, clock.now())]);
    clock.advance(0);
    await settle();
    expect(hook.bodies).toHaveLength(1);
    clock.advance(MON - clock.now());
    await until(() => hook.bodies.length === 2, 'the resolve as the window ends');
    expect(hook.bodies[1]).toMatchObject({ status: 'resolved' });
    // The escalation ended with the resolve: no second level (fallback gets at most the resolve).
    clock.advance(3600_000);
    await settle();
    expect((fallback.bodies as WebhookMessage[]).filter((b) => b.status === 'firing')).toHaveLength(1);
  });

  it('with active_time_intervals notifies only inside them', async () => {
    const clock = new FakeClock(FRI - 12 * 3600_000);
    const n = await start(clock, windowed({ mute_time_intervals: undefined, active_time_intervals: ['weekend-maintenance'], escalation_policy: undefined }));
    await n.put([staging(clock.now())]);
    clock.advance(0);
    await settle();
    clock.advance(3600_000);
    await settle();
    expect(hook.bodies).toHaveLength(0);
    clock.advance(Date.UTC(2026, 10, 28) - clock.now());
    await until(() => hook.bodies.length === 1, 'the page as the active interval starts');
    expect(fallback.bodies).toHaveLength(0);
  });
});
