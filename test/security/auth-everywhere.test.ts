/**
 * Auth on every endpoint of a real `pharos all` with tokens configured: the dashboard's REST API,
 * the real-time Prometheus API and the alerts API (all three served on the dashboard's port in
 * `all`), /metrics, the live WebSocket. Roles: a viewer may not create a silence. Sessions: a
 * cookie-authenticated POST needs the CSRF token.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../../core/http/passwords.js';
import { freePort } from '../../core/kafka/local-broker.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';

const VIEWER = 'viewer-token-sec-0123456789';
const OPERATOR = 'operator-token-sec-0123456789';
const ADMIN = 'admin-token-sec-0123456789';
const PASSWORD = 'correct horse battery staple';

let pharos: PharosProcess;
let base = '';

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-auth-'));
  const port = await freePort();
  const config = join(dir, 'pharos.yaml');
  writeFileSync(
    config,
    [
      `data_dir: ${dir}`,
      'kafka: { local: { enabled: never } }',
      `dashboard: { listen: "127.0.0.1:${port}" }`,
      `collector: { listen: "127.0.0.1:${await freePort()}", self_logs: false, host_metrics: { enabled: false } }`,
      'auth:',
      '  tokens:',
      `    - { name: vic, role: viewer, token: ${VIEWER} }`,
      `    - { name: ops, role: operator, token: ${OPERATOR} }`,
      `    - { name: root, role: admin, token: ${ADMIN} }`,
      '  users:',
      `    - { name: alice, role: operator, password_hash: "${await hashPassword(PASSWORD)}" }`,
      '',
    ].join('\n'),
  );
  pharos = spawnPharos(['all', '--config', config], {});
  await pharos.waitForOutput(/pharos is running/, 90_000);
  base = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  expect(await pharos?.stop()).toBe(0);
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every authenticated endpoint `pharos all` serves, data-bearing or state-changing. */
const ENDPOINTS: Array<[method: string, path: string]> = [
  ['GET', '/metrics'],
  ['GET', '/api/whoami'],
  ['GET', '/api/logs?from=now-1h'],
  ['GET', '/api/logs/histogram?from=now-1h'],
  ['GET', '/api/logs/context?service=a&time=1'],
  ['GET', '/api/delivery?from=now-1h'],
  ['GET', '/api/self/metrics-summary'],
  ['GET', '/api/v1/query?query=up'],
  ['POST', '/api/v1/query'],
  ['GET', '/api/v1/query_range?query=up&start=0&end=60&step=15'],
  ['GET', '/api/v1/series?match[]=up'],
  ['GET', '/api/v1/labels'],
  ['GET', '/api/v1/label/job/values'],
  ['GET', '/api/v1/status/tsdb'],
  ['GET', '/api/v1/status/buildinfo'],
  ['GET', '/api/v1/rules'],
  ['GET', '/api/v1/alerts'],
  ['GET', '/api/v2/alerts'],
  ['GET', '/api/v2/silences'],
  ['GET', '/api/v2/silence/some-id'],
  ['POST', '/api/v2/silences'],
  ['DELETE', '/api/v2/silence/some-id'],
  // Unknown paths too: nothing tells an anonymous caller what exists.
  ['GET', '/api/no-such-thing'],
];

const silence = {
  matchers: [{ name: 'alertname', value: 'SecurityTest', isRegex: false, isEqual: true }],
  endsAt: new Date(Date.now() + 3_600_000).toISOString(),
  createdBy: 'security-test',
  comment: 'auth test',
};

describe('no token', () => {
  test('401 on every authenticated endpoint', async () => {
    const answers = await Promise.all(
      ENDPOINTS.map(async ([method, path]) => {
        const res = await fetch(base + path, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
        return `${method} ${path} ${res.status} ${res.headers.get('www-authenticate') ?? ''}`;
      }),
    );
    expect(answers).toEqual(ENDPOINTS.map(([method, path]) => `${method} ${path} 401 Bearer realm="pharos"`));
  });

  test('a wrong token is 401 too; probes stay open and carry no data', async () => {
    expect((await fetch(`${base}/api/v2/alerts`, { headers: bearer('wrong-token-000000000000') })).status).toBe(401);
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok');
  });

  test('with a token the same endpoints answer', async () => {
    for (const [method, path] of ENDPOINTS.filter(([m]) => m === 'GET')) {
      const res = await fetch(base + path, { headers: bearer(ADMIN) });
      expect([`${path} ${res.status}`]).not.toContain(`${path} 401`);
    }
  });
});

describe('roles', () => {
  test('a viewer may read silences but not create or expire one (403); an operator may', async () => {
    const headers = (token: string) => ({ ...bearer(token), 'content-type': 'application/json' });
    expect((await fetch(`${base}/api/v2/silences`, { headers: bearer(VIEWER) })).status).toBe(200);
    const denied = await fetch(`${base}/api/v2/silences`, { method: 'POST', headers: headers(VIEWER), body: JSON.stringify(silence) });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ errorType: 'forbidden', error: expect.stringMatching(/role viewer of vic may not do this: operator or above/) });
    const created = await fetch(`${base}/api/v2/silences`, { method: 'POST', headers: headers(OPERATOR), body: JSON.stringify(silence) });
    expect(created.status).toBe(200);
    const { silenceID } = (await created.json()) as { silenceID: string };
    expect((await fetch(`${base}/api/v2/silence/${silenceID}`, { method: 'DELETE', headers: bearer(VIEWER) })).status).toBe(403);
    expect((await fetch(`${base}/api/v2/silence/${silenceID}`, { method: 'DELETE', headers: bearer(OPERATOR) })).status).toBe(200);
  });
});

describe('live WebSocket', () => {
  const connect = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ opened: boolean; status?: number }>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => {
        ws.close();
        resolve({ opened: true });
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve({ opened: false, status: res.statusCode });
        res.resume();
      });
      ws.once('error', () => resolve({ opened: false }));
    });

  test('refused without a token, or with a bad one; accepted with a token, a query token or a session cookie', async () => {
    const ws = base.replace('http:', 'ws:') + '/api/live';
    expect(await connect(ws)).toEqual({ opened: false, status: 401 });
    expect(await connect(ws, bearer('wrong-token-000000000000'))).toEqual({ opened: false, status: 401 });
    expect(await connect(`${ws}?access_token=wrong-token-000000000000`)).toEqual({ opened: false, status: 401 });
    expect(await connect(`${ws}`, { cookie: 'pharos_session=forged' })).toEqual({ opened: false, status: 401 });
    expect(await connect(ws, bearer(VIEWER))).toEqual({ opened: true });
    expect(await connect(`${ws}?access_token=${VIEWER}`)).toEqual({ opened: true });
    const { cookie } = await login(VIEWER);
    expect(await connect(ws, { cookie })).toEqual({ opened: true });
  });
});

async function login(token: string): Promise<{ cookie: string; csrf: string; setCookie: string[] }> {
  const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { csrfToken: string } };
  const setCookie = res.headers.getSetCookie();
  const cookie = setCookie.map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf: body.data.csrfToken, setCookie };
}

describe('browser sessions', () => {
  test('login sets an HTTP-only SameSite=Strict session cookie holding no token', async () => {
    const { setCookie, csrf } = await login(OPERATOR);
    const session = setCookie.find((c) => c.startsWith('pharos_session='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).not.toContain(OPERATOR);
    const readable = setCookie.find((c) => c.startsWith('pharos_csrf='))!;
    expect(readable).not.toMatch(/HttpOnly/);
    expect(readable).toContain(csrf);
  });

  test('a user of auth.users logs in with a password; a wrong password or an unknown user does not', async () => {
    const attempt = (username: string, password: string) =>
      fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    const ok = await attempt('alice', PASSWORD);
    expect(ok.status).toBe(200);
    const cookie = ok.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    expect(await (await fetch(`${base}/api/whoami`, { headers: { cookie } })).json()).toMatchObject({ data: { name: 'alice', role: 'operator' } });
    for (const [user, password] of [['alice', 'wrong horse'], ['mallory', PASSWORD]] as const) {
      const res = await attempt(user, password);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'wrong user name or password' });
    }
  });

  test('a bad token does not log in', async () => {
    const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'wrong-token-000000000000' }) });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('GET with the cookie works; a POST with the cookie needs the CSRF token (403 without, 200 with)', async () => {
    const { cookie, csrf } = await login(OPERATOR);
    const me = await fetch(`${base}/api/whoami`, { headers: { cookie } });
    expect(await me.json()).toMatchObject({ data: { name: 'ops', role: 'operator' } });
    const post = (extra: Record<string, string>) =>
      fetch(`${base}/api/v2/silences`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...extra }, body: JSON.stringify(silence) });
    const without = await post({});
    expect(without.status).toBe(403);
    expect(await without.json()).toMatchObject({ errorType: 'forbidden', error: expect.stringMatching(/CSRF token in the X-CSRF-Token header/) });
    expect((await post({ 'x-csrf-token': 'not-the-token' })).status).toBe(403);
    const withToken = await post({ 'x-csrf-token': csrf });
    expect(withToken.status).toBe(200);
    expect(await withToken.json()).toHaveProperty('silenceID');
  });

  test('the session keeps the role of its token: a viewer session still gets 403 on an operator action', async () => {
    const { cookie, csrf } = await login(VIEWER);
    const res = await fetch(`${base}/api/v2/silences`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: JSON.stringify(silence) });
    expect(res.status).toBe(403);
  });

  test('logout ends the session: the cookie is refused afterwards', async () => {
    const { cookie, csrf } = await login(VIEWER);
    expect((await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie } })).status).toBe(403);
    expect((await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(200);
    const after = await fetch(`${base}/api/whoami`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: expect.stringMatching(/session has expired or is unknown/) });
  });

  test('rejections are counted in pharos_http_rejected_total by reason', async () => {
    const text = await (await fetch(`${base}/metrics`, { headers: bearer(ADMIN) })).text();
    for (const reason of ['unauthenticated', 'forbidden', 'csrf']) {
      expect(text).toMatch(new RegExp(`pharos_http_rejected_total\\{[^}]*reason="${reason}"[^}]*\\} [1-9]`));
    }
  });
});
