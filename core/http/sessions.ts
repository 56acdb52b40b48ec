/**
 * Browser sessions: an opaque random id in an HTTP-only cookie, the principal kept on the
 * server. The cookie never holds the token, so a stolen cookie dies with the session (logout,
 * idle expiry, restart) while the token stays valid for API clients.
 *
 * Each session also holds a CSRF token: state-changing requests authenticated by the cookie must
 * repeat it in `X-CSRF-Token`. The browser attaches cookies to cross-site requests by itself;
 * it never attaches a header, and another site cannot read the `pharos_csrf` cookie.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Principal } from './auth.js';

export const SESSION_COOKIE = 'pharos_session';
/** Readable by the page's script (not HTTP-only): the app copies it into `X-CSRF-Token`. */
export const CSRF_COOKIE = 'pharos_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface Session {
  id: string;
  csrf: string;
  principal: Principal;
  /** ms since the epoch; refreshed on use (idle timeout). */
  expiresAt: number;
}

/** Bounds memory: a login flood cannot grow the map without end (the oldest sessions go first). */
const MAX_SESSIONS = 10_000;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(principal: Principal): Session {
    this.sweep();
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const session: Session = { id: randomId(), csrf: randomId(), principal, expiresAt: this.now() + this.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of this id, its idle timer restarted; undefined when unknown or expired. */
  get(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const now = this.now();
    if (s.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    s.expiresAt = now + this.ttlMs;
    // Re-inserted so map order stays least-recently-used first (what create() evicts).
    this.sessions.delete(id);
    this.sessions.set(id, s);
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

/** 256 random bits, URL-safe. */
function randomId(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `presented` equals the session's CSRF token; constant time over equal lengths. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie of the request; undefined when absent. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/** Methods that must not change state, so need no CSRF token (RFC 9110 safe methods). */
export function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
