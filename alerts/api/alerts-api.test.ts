import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator, authMiddleware } from '../../core/http/auth.js';
import { silentLogger } from '../../core/log.js';
import { notifyConfigSchema } from '../notify/config.js';
import { Notifications } from '../notify/notifier.js';
import { alert, FakeClock } from '../notify/test-helpers.js';
import { alertsApiRouter } from './alerts-api.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  const clock = new FakeClock(T0);
  const n = await Notifications.start({
    config: notifyConfigSchema.parse({
      route: { receiver: 'null', group_wait: '1h' },
      receivers: [{ name: 'null' }],
      time_intervals: [{ name: 'weekend', time_intervals: [{ weekdays: ['saturday', 'sunday'] }] }],
    }),
    log: silentLogger(),
    clock,
  });
  cleanups.push(() => n.stop());
  const auth = new Authenticator({
    tokens: [
      { name: 'vi', role: 'viewer', token: VIEWER },
      { name: 'op', role: 'operator', token: OPERATOR },
    ],
    anonymous_role: 'viewer',
  } as never);
  const app = express();
  app.use(authMiddleware(auth));
  app.use(alertsApiRouter(n, clock));
  const server: Server = await new Promise((res) => {
    const s = app.listen(0, '127.0.0.1', () => res(s));
  });
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  return { n, clock, call };
}

describe('alerts API', () => {
  it('shows the time intervals to a viewer: active now, next start and end', async () => {
    const { call } = await setup();
    // T0 is Monday 2026-11-23 12:00 UTC.
    expect(await call('GET', '/api/v2/time_intervals', VIEWER)).toEqual({
      status: 200,
      body: [{ name: 'weekend', active: false, nextStart: '2026-11-28T00:00:00.000Z', nextEnd: '2026-11-30T00:00:00.000Z' }],
    });
    expect((await call('GET', '/api/v2/time_intervals', 'not-a-token-0123456789')).status).toBe(401);
  });

  it('creates a silence as operator, shows the alert as suppressed, and expires it', async () => {
    const { n, call } = await setup();
    await n.put([alert({ alertname: 'DiskFull', host: 'db1' }, T0, T0 + 60_000)]);
    const silence = {
      matchers: [{ name: 'host', value: 'db1', isRegex: false, isEqual: true }],
      endsAt: new Date(T0 + 3600_000).toISOString(),
      createdBy: 'alice',
      comment: 'disk swap',
    };
    expect((await call('POST', '/api/v2/silences', VIEWER, silence)).status).toBe(403);
    const created = await call('POST', '/api/v2/silences', OPERATOR, silence);
    expect(created.status).toBe(200);
    const id = (created.body as { silenceID: string }).silenceID;

    const alerts = await call('GET', '/api/v2/alerts', VIEWER);
    expect(alerts.body).toEqual([
      expect.objectContaining({ labels: { alertname: 'DiskFull', host: 'db1' }, receivers: [{ name: 'null' }], status: { state: 'suppressed', silencedBy: [id], inhibitedBy: [], mutedBy: [] } }),
    ]);
    const list = await call('GET', '/api/v2/silences', VIEWER);
    expect(list.body).toEqual([expect.objectContaining({ id, status: { state: 'active' }, createdBy: 'alice (op)', matchers: silence.matchers })]);

    expect((await call('DELETE', `/api/v2/silence/${id}`, VIEWER)).status).toBe(403);
    expect((await call('DELETE', `/api/v2/silence/${id}`, OPERATOR)).status).toBe(200);
    expect(((await call('GET', '/api/v2/silences', VIEWER)).body as Array<{ status: unknown }>)[0]!.status).toEqual({ state: 'expired' });
    expect(((await call('GET', '/api/v2/alerts', VIEWER)).body as Array<{ status: { state: string } }>)[0]!.status.state).toBe('active');
  });

  it('rejects a silence without an end or with a bad regex', async () => {
    const { call } = await setup();
    const noEnd = await call('POST', '/api/v2/silences', OPERATOR, { matchers: [{ name: 'a', value: 'b', isRegex: false }], createdBy: 'x' });
    expect(noEnd).toMatchObject({ status: 400, body: { errorType: 'bad_data' } });
    const badRe = await call('POST', '/api/v2/silences', OPERATOR, {
      matchers: [{ name: 'a', value: '(', isRegex: true }],
      endsAt: new Date(T0 + 60_000).toISOString(),
      createdBy: 'x',
    });
    expect(badRe.status).toBe(400);
    expect(JSON.stringify(badRe.body)).toMatch(/invalid regex/);
  });
});
