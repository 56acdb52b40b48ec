import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { csrfMatches, readCookie, SessionStore } from './sessions.js';

const principal = { name: 'ops', role: 'operator' as const, anonymous: false };

describe('SessionStore', () => {
  it('makes unguessable ids and CSRF tokens, distinct per session', () => {
    const store = new SessionStore(60_000);
    const a = store.create(principal);
    const b = store.create(principal);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([a.id, b.id, a.csrf, b.csrf]).size).toBe(4);
    expect(store.get(a.id)?.principal).toEqual(principal);
  });

  it('expires idle sessions and refreshes used ones', () => {
    let now = 0;
    const store = new SessionStore(1000, () => now);
    const s = store.create(principal);
    now = 900;
    expect(store.get(s.id)).toBeDefined();
    now = 1800; // 900 ms after the last use
    expect(store.get(s.id)).toBeDefined();
    now = 2900;
    expect(store.get(s.id)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('checks the CSRF token exactly', () => {
    const s = new SessionStore(1000).create(principal);
    expect(csrfMatches(s, s.csrf)).toBe(true);
    expect(csrfMatches(s, undefined)).toBe(false);
    expect(csrfMatches(s, s.csrf.slice(1))).toBe(false);
    expect(csrfMatches(s, s.csrf.slice(1) + 'x')).toBe(false);
  });
});

describe('readCookie', () => {
  const req = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as IncomingMessage;
  it('finds one cookie among several, by exact name', () => {
    expect(readCookie(req('a=1; pharos_session=abc; b=2'), 'pharos_session')).toBe('abc');
    expect(readCookie(req('xpharos_session=abc'), 'pharos_session')).toBeUndefined();
    expect(readCookie(req(), 'pharos_session')).toBeUndefined();
    expect(readCookie(req('pharos_session=%zz'), 'pharos_session')).toBe('%zz');
  });
});
