import { describe, expect, it } from 'vitest';
import { notifyConfigSchema } from './config.js';
import { parseDurationMs as parseDuration } from '../rules/duration.js';
import { parseMatchers } from './matchers.js';
import { needsNotify, type Entry } from './notification-log.js';
import { Route } from './route.js';

describe('matchers', () => {
  it('parses the forms Alertmanager 0.2x accepts', () => {
    const ms = parseMatchers('{severity="page", team=~"db|infra", env!=dev, host!~"test-.*"}');
    expect(ms.map((m) => [m.name, m.type, m.value])).toEqual([
      ['severity', '=', 'page'],
      ['team', '=~', 'db|infra'],
      ['env', '!=', 'dev'],
      ['host', '!~', 'test-.*'],
    ]);
    const labels = { severity: 'page', team: 'db', env: 'prod', host: 'db1' };
    expect(ms.every((m) => m.matches(labels))).toBe(true);
    expect(parseMatchers('foo="a\\"b"')[0]!.value).toBe('a"b');
  });

  it('anchors regexes and treats a missing label as empty', () => {
    const [m] = parseMatchers('team=~"db"');
    expect(m!.matches({ team: 'db2' })).toBe(false);
    expect(parseMatchers('team=""')[0]!.matches({})).toBe(true);
  });

  it('rejects bad input with a reason', () => {
    expect(() => parseMatchers('foo')).toThrow(/expected one of/);
    expect(() => parseMatchers('foo=~"("')).toThrow(/invalid regex/);
    expect(() => parseMatchers('foo="bar')).toThrow(/unterminated/);
  });
});

describe('route tree', () => {
  const cfg = notifyConfigSchema.parse({
    route: {
      receiver: 'default',
      group_by: ['alertname'],
      group_wait: '30s',
      routes: [
        { matchers: ['severity="page"'], receiver: 'pager', continue: true, group_wait: '0s' },
        { matchers: ['team="db"'], receiver: 'db', group_by: ['...'], routes: [{ matchers: ['env="dev"'], receiver: 'devnull' }] },
        { matchers: ['team="db"'], receiver: 'never' },
      ],
    },
    receivers: ['default', 'pager', 'db', 'devnull', 'never'].map((name) => ({ name })),
  });
  const root = new Route(cfg.route);

  it('goes on past a match only with continue, and inherits unset settings', () => {
    const rs = root.match({ alertname: 'DiskFull', severity: 'page', team: 'db', env: 'prod' });
    expect(rs.map((r) => r.opts.receiver)).toEqual(['pager', 'db']);
    expect(rs[0]!.opts).toMatchObject({ groupWaitMs: 0, groupBy: ['alertname'], groupIntervalMs: 300_000 });
    expect(rs[1]!.opts).toMatchObject({ groupWaitMs: 30_000, groupBy: 'all' });
    expect(root.match({ team: 'db', env: 'dev' }).map((r) => r.opts.receiver)).toEqual(['devnull']);
    expect(root.match({ team: 'web' }).map((r) => r.opts.receiver)).toEqual(['default']);
  });

  it('keys groups by route and group labels', () => {
    const [r] = root.match({ alertname: 'A', team: 'web', host: 'x' });
    expect(r!.groupKey(r!.groupLabels({ alertname: 'A', team: 'web', host: 'x' }))).toBe('{}:{alertname="A"}');
    const [, db] = root.match({ alertname: 'A', severity: 'page', team: 'db' });
    expect(db!.groupKey(db!.groupLabels({ alertname: 'A', severity: 'page', team: 'db' }))).toBe('{}/{team="db"}:{alertname="A",severity="page",team="db"}');
    expect(root.routes[2]!.key).toBe('{}/{team="db"}/1');
  });
});

describe('needsNotify', () => {
  const last: Entry = { groupKey: 'g', receiver: 'r', firing: ['a'], resolved: [], atMs: 1000 };
  const s = (...x: string[]) => new Set(x);
  it('says why a group must be sent, or null', () => {
    expect(needsNotify(undefined, s('a'), s(), 100, 1000)).toBe('first_notification');
    expect(needsNotify(undefined, s(), s('a'), 100, 1000)).toBeNull();
    expect(needsNotify(last, s('a'), s(), 10_000, 2000)).toBeNull();
    expect(needsNotify(last, s('a', 'b'), s(), 10_000, 2000)).toBe('new_firing');
    expect(needsNotify(last, s(), s('a'), 10_000, 2000)).toBe('all_resolved');
    expect(needsNotify({ ...last, firing: [] }, s(), s('a'), 10_000, 2000)).toBeNull();
    expect(needsNotify({ ...last, firing: ['a', 'b'] }, s('a'), s('b'), 10_000, 2000)).toBe('newly_resolved');
    expect(needsNotify({ ...last, firing: ['a', 'b'] }, s('a'), s('b'), 10_000, 2000, false)).toBeNull();
    expect(needsNotify(last, s('a'), s(), 1000, 2000)).toBe('repeat_interval');
  });
});

describe('config', () => {
  it('reads Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('5 minutes')).toBeUndefined();
  });

  it('names undefined receivers, bad matchers and missing secrets', () => {
    const r = notifyConfigSchema.safeParse({
      route: { receiver: 'a', group_wait: 'soon', routes: [{ receiver: 'b', matchers: ['x=~"("'] }] },
      receivers: [{ name: 'a', webhook_configs: [{}] }],
      fallback_receiver: 'c',
    });
    expect(r.success).toBe(false);
    const msgs = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^route.group_wait: invalid duration "soon"/),
        expect.stringMatching(/^route.routes.0.matchers.0: invalid regex/),
        'receivers.0.webhook_configs.0.url: set exactly one of url, url_file',
      ]),
    );
  });

  it('checks receiver references once the receivers parse', () => {
    const r = notifyConfigSchema.safeParse({ route: { receiver: 'a', routes: [{ receiver: 'b' }] }, receivers: [{ name: 'a' }], fallback_receiver: 'c' });
    expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['route.routes.0.receiver: undefined receiver "b"', 'fallback_receiver: undefined receiver "c"']);
  });
});

describe('route time intervals', () => {
  it('apply to the route naming them only: children do not inherit them (as in Alertmanager)', () => {
    const cfg = notifyConfigSchema.parse({
      route: { receiver: 'a', routes: [{ matchers: ['env="staging"'], mute_time_intervals: ['w'], active_time_intervals: ['w'], routes: [{ matchers: ['team="db"'] }] }] },
      receivers: [{ name: 'a' }],
      time_intervals: [{ name: 'w', time_intervals: [{ weekdays: ['saturday', 'sunday'] }] }],
    });
    const [staging] = new Route(cfg.route).match({ env: 'staging', team: 'web' });
    expect(staging!.opts).toMatchObject({ muteTimeIntervals: ['w'], activeTimeIntervals: ['w'] });
    const [db] = new Route(cfg.route).match({ env: 'staging', team: 'db' });
    expect(db!.opts).toMatchObject({ muteTimeIntervals: [], activeTimeIntervals: [] });
  });
});
