import type { IncomingMessage } from 'node:http';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { PharosError } from '../errors.js';
import { Authenticator, authenticateUpgrade, authIsOpen, hashToken, hasRole } from './auth.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const FILE_TOKEN = 'file-token-0123456789abcdef';

function authConfig(auth: unknown) {
  return configSchema.parse({ auth }).auth;
}

function request(headers: Record<string, string> = {}, url = '/'): IncomingMessage {
  return { headers, url } as unknown as IncomingMessage;
}

const configured = () =>
  new Authenticator(
    authConfig({
      tokens: [
        { name: 'root', role: 'admin', token: ADMIN_TOKEN },
        { name: 'grafana', role: 'viewer', token_sha256: hashToken(VIEWER_TOKEN) },
        { name: 'ci', role: 'operator', token_file: '/run/secrets/ci' },
      ],
    }),
    (path) => (path === '/run/secrets/ci' ? `${FILE_TOKEN}\n` : ''),
  );

describe('Authenticator', () => {
  it('maps each configured token (clear, sha256 or file) to its name and role', () => {
    const auth = configured();
    expect(auth.authenticate(request({ authorization: `Bearer ${ADMIN_TOKEN}` }))).toEqual({ name: 'root', role: 'admin', anonymous: false });
    expect(auth.authenticate(request({ authorization: `bearer ${VIEWER_TOKEN}` }))).toEqual({ name: 'grafana', role: 'viewer', anonymous: false });
    expect(auth.authenticate(request({ authorization: `Bearer ${FILE_TOKEN}` }))).toEqual({ name: 'ci', role: 'operator', anonymous: false });
  });

  it('refuses a request without a token when tokens are configured', () => {
    expect(configured().authenticate(request())).toBeNull();
  });

  it('refuses a wrong token, another scheme or an empty bearer', () => {
    const auth = configured();
    expect(auth.authenticate(request({ authorization: 'Bearer not-the-token-at-all-000' }))).toBeNull();
    expect(auth.authenticate(request({ authorization: `Basic ${Buffer.from(`u:${ADMIN_TOKEN}`).toString('base64')}` }))).toBeNull();
    expect(auth.authenticate(request({ authorization: 'Bearer ' }))).toBeNull();
  });

  it('gives anonymous_role to a request without a token when no token is configured', () => {
    const auth = new Authenticator(authConfig({ anonymous_role: 'operator' }));
    expect(auth.isOpen).toBe(true);
    expect(auth.authenticate(request())).toEqual({ name: 'anonymous', role: 'operator', anonymous: true });
  });

  it('refuses a token even in open mode, since a token nobody configured is a bad one', () => {
    const auth = new Authenticator(authConfig({}));
    expect(auth.authenticate(request({ authorization: `Bearer ${ADMIN_TOKEN}` }))).toBeNull();
  });

  it('ignores ?access_token= on plain requests but accepts it on WebSocket upgrades', () => {
    const auth = configured();
    const req = request({}, `/api/live?access_token=${VIEWER_TOKEN}`);
    expect(auth.authenticate(req)).toBeNull();
    expect(authenticateUpgrade(auth, req)).toMatchObject({ name: 'grafana', role: 'viewer' });
    expect(authenticateUpgrade(auth, request({}, '/api/live?access_token=wrong-token-000000000000'))).toBeNull();
    expect(authenticateUpgrade(auth, request({}, '/api/live'))).toBeNull();
  });

  it('prefers the header over the query on upgrades, so a bad header is not rescued by the URL', () => {
    const auth = configured();
    expect(authenticateUpgrade(auth, request({ authorization: 'Bearer wrong-token-000000000000' }, `/?access_token=${ADMIN_TOKEN}`))).toBeNull();
  });

  it('keeps no token in clear inside the object', () => {
    const auth = configured();
    const dump = inspect(auth, { depth: 10, showHidden: true });
    for (const t of [ADMIN_TOKEN, FILE_TOKEN]) expect(dump).not.toContain(t);
  });

  it('rejects an unreadable or empty token_file, naming the entry but not the content', () => {
    const cfg = authConfig({ tokens: [{ name: 'ci', role: 'viewer', token_file: '/missing' }] });
    expect(
      () =>
        new Authenticator(cfg, () => {
          throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
        }),
    ).toThrow(/auth\.tokens\[0\] \(ci\): cannot read token_file \/missing: ENOENT/);
    expect(() => new Authenticator(cfg, () => '  \n')).toThrow(PharosError);
    expect(() => new Authenticator(cfg, () => 'short')).toThrow(/shorter than 16 characters/);
  });

  it('rejects two entries holding the same token', () => {
    const cfg = authConfig({
      tokens: [
        { name: 'a', role: 'viewer', token: ADMIN_TOKEN },
        { name: 'b', role: 'admin', token_sha256: hashToken(ADMIN_TOKEN) },
      ],
    });
    expect(() => new Authenticator(cfg)).toThrow(/auth\.tokens\[1\] \(b\): same token as the entry named "a"/);
  });
});

describe('scopes and sessions', () => {
  const scoped = () =>
    new Authenticator(authConfig({ tokens: [{ name: 'team-a', role: 'viewer', token: VIEWER_TOKEN, scope: { service: ['a'], environment: ['prod'] } }] }));

  it('carries a token entry\'s scope onto its principal, and into sessions made from it', () => {
    const auth = scoped();
    const expected = { name: 'team-a', role: 'viewer', anonymous: false, scope: { service: ['a'], environment: ['prod'] } };
    expect(auth.authenticate(request({ authorization: `Bearer ${VIEWER_TOKEN}` }))).toEqual(expected);
    const session = auth.login(VIEWER_TOKEN)!;
    expect(auth.identify(request({ cookie: `pharos_session=${session.id}` }))).toEqual({ principal: expected, session });
  });

  it('makes no session from a bad token, nor in open mode', () => {
    expect(scoped().login('wrong-token-000000000000')).toBeNull();
    expect(new Authenticator(authConfig({})).login(ADMIN_TOKEN)).toBeNull();
  });

  it('refuses an unknown session cookie when tokens are configured; in open mode it is just anonymous', () => {
    expect(scoped().identify(request({ cookie: 'pharos_session=forged' }))).toBeNull();
    expect(new Authenticator(authConfig({})).identify(request({ cookie: 'pharos_session=stale' }))).toEqual({ principal: { name: 'anonymous', role: 'viewer', anonymous: true } });
  });

  it('a bearer header wins over the cookie; an upgrade accepts the cookie', () => {
    const auth = scoped();
    const session = auth.login(VIEWER_TOKEN)!;
    const cookie = `pharos_session=${session.id}`;
    expect(auth.identify(request({ cookie, authorization: 'Bearer wrong-token-000000000000' }))).toBeNull();
    expect(authenticateUpgrade(auth, request({ cookie }, '/api/live'))).toMatchObject({ name: 'team-a' });
  });

  it('reads the limits of auth with defaults', () => {
    expect(new Authenticator(authConfig({})).limits).toEqual({ ratePerSecond: 100, rateBurst: 200, maxBodyBytes: 1024 * 1024, cookieSecure: undefined });
    expect(new Authenticator(authConfig({ rate_limit_per_s: 5, max_body_bytes: 4096, cookie_secure: true })).limits).toEqual({ ratePerSecond: 5, rateBurst: 10, maxBodyBytes: 4096, cookieSecure: true });
  });
});

describe('roles', () => {
  it('orders viewer < operator < analyst < admin', () => {
    const p = (role: 'viewer' | 'operator' | 'analyst' | 'admin') => ({ name: 'x', role, anonymous: false });
    expect(hasRole(p('admin'), 'viewer')).toBe(true);
    expect(hasRole(p('analyst'), 'operator')).toBe(true);
    expect(hasRole(p('operator'), 'analyst')).toBe(false);
    expect(hasRole(p('viewer'), 'operator')).toBe(false);
  });

  it('reports open mode exactly when no token is configured', () => {
    expect(authIsOpen(configSchema.parse({}))).toBe(true);
    expect(authIsOpen(configSchema.parse({ auth: { tokens: [{ name: 'a', role: 'viewer', token: ADMIN_TOKEN }] } }))).toBe(false);
  });

  it('hashes tokens as lowercase SHA-256 hex, the format of token_sha256', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
