import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator, authMiddleware } from '../../core/http/auth.js';
import { silentLogger } from '../../core/log.js';
import { notifyConfigSchema } from '../notify/config.js';
import { Notifications } from '../notify/notifier.js';
import { alert, FakeClock, settle, startReceiver, until, type Receiver } from '../notify/test-helpers.js';
import type { WebhookMessage } from '../notify/webhook.js';
import { oncallApiRouter } from './oncall-api.js';

const T0 = Date.parse('2026-01-05T10:00:00Z');
const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  const clock = new FakeClock(T0);
  const first: Receiver = await startReceiver();
  const second: Receiver = await startReceiver();
  cleanups.push(() => first.close(), () => second.close());
  const n = await Notifications.start({
    config: notifyConfigSchema.parse({
      route: { receiver: 'none', group_wait: '0s', group_by: ['alertname'], escalation_policy: 'disk' },
      receivers: [{ name: 'none' }, { name: 'alice', webhook_configs: [{ url: first.url }] }, { name: 'lead', webhook_configs: [{ url: second.url }] }],
      oncall: {
        schedules: [{ name: 'primary', layers: [{ name: 'weekly', members: ['alice'], start: '2026-01-05T09:00:00Z', rotation: 'weekly' }] }],
        escalation_policies: [{ name: 'disk', levels: [{ targets: [{ schedule: 'primary' }], escalate_after: '2s' }, { targets: [{ receiver: 'lead' }] }] }],
      },
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
  app.use(oncallApiRouter(n, clock));
  const server: Server = await new Promise((res) => {
    const s = app.listen(0, '127.0.0.1', () => res(s));
  });
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, token: string) => {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { clock, n, first, second, call };
}

describe('on-call API', () => {
  it('shows who is on call, and an acknowledgement by an operator stops the escalation', async () => {
    const { clock, n, first, second, call } = await setup();
    const oncall = await call('GET', '/api/v2/oncall', VIEWER);
    expect(oncall.body.schedules).toEqual([{ name: 'primary', onCall: { receiver: 'alice', source: 'weekly', until: '2026-01-12T09:00:00.000Z' } }]);

    const a = alert({ alertname: 'DiskFull', host: 'h1' }, T0, T0 + 60_000);
    await n.put([a]);
    clock.advance(0);
    await until(() => first.bodies.length === 1, 'the first level paged');
    expect((first.bodies[0] as WebhookMessage).alerts[0]!.labels).toMatchObject({ alertname: 'DiskFull' });

    expect((await call('POST', `/api/v2/alerts/${encodeURIComponent(a.fingerprint)}/ack`, VIEWER)).status).toBe(403);
    expect((await call('POST', '/api/v2/alerts/unknown/ack', OPERATOR)).status).toBe(404);
    const ack = await call('POST', `/api/v2/alerts/${encodeURIComponent(a.fingerprint)}/ack`, OPERATOR);
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ acknowledgedBy: 'op', step: 0, policy: 'disk' });

    clock.advance(10_000);
    await settle();
    expect(second.bodies).toHaveLength(0);
    const own = await call('POST', `/api/v2/alerts/${encodeURIComponent(a.fingerprint)}/own`, OPERATOR);
    expect(own.body).toMatchObject({ owner: 'op', acknowledgedBy: 'op' });
    const after = await call('GET', '/api/v2/oncall', VIEWER);
    expect(after.body.escalations).toEqual([expect.objectContaining({ fingerprint: a.fingerprint, owner: 'op', pages: [expect.objectContaining({ receivers: ['alice'] })] })]);
  });

  it('pages the next level when the page is not acknowledged in time', async () => {
    const { clock, n, first, second } = await setup();
    await n.put([alert({ alertname: 'DiskFull', host: 'h1' }, T0, T0 + 60_000)]);
    clock.advance(0);
    await until(() => first.bodies.length === 1, 'the first level paged');
    clock.advance(1999);
    await settle();
    expect(second.bodies).toHaveLength(0);
    clock.advance(1);
    await until(() => second.bodies.length === 1, 'the second level paged');
    expect(first.bodies).toHaveLength(1);
  });
});
