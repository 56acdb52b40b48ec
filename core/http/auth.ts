/**
 * The one authentication and authorisation layer of every Pharos HTTP and WebSocket server.
 *
 * Two credentials: a bearer token, what Prometheus-compatible clients (Grafana, curl, scrapers)
 * already send; and, for browsers, a session cookie made from a token by `POST /api/login`
 * (login-routes.ts), whose state-changing requests must also carry the session's CSRF token.
 * Tokens are held as SHA-256 digests from the moment they are read, so a heap dump or a log line
 * of this object never reveals one, and every comparison is timingSafeEqual over equal-length
 * digests, so response time does not leak how many leading bytes matched.
 *
 * Open mode (no token configured) exists for a laptop: requests without a token get
 * `auth.anonymous_role`, and the service server refuses to bind anything but loopback then.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { PharosConfig, Role } from '../config/schema.js';
import { PharosError } from '../errors.js';
import type { LabelScope } from './scope.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './passwords.js';
import { CSRF_HEADER, SESSION_COOKIE, SessionStore, csrfMatches, isSafeMethod, readCookie, type Session } from './sessions.js';

export type { Role };

/** Who is calling: set on `res.locals.principal` by authMiddleware. */
export interface Principal {
  name: string;
  role: Role;
  anonymous: boolean;
  /** What this principal may see (core/http/scope.ts); absent: everything. */
  scope?: LabelScope;
}

/** A principal and how it proved itself. */
export interface Identity {
  principal: Principal;
  /** Set when the request was authenticated by the session cookie. */
  session?: Session;
}

/** Why a request was refused: the `reason` label of pharos_http_rejected_total. */
export type RejectReason = 'unauthenticated' | 'forbidden' | 'csrf' | 'rate_limited' | 'body_too_large' | 'host';

/** The parts of `auth` the Authenticator reads; session settings have defaults (tests pass less). */
export type AuthSettings = Pick<PharosConfig['auth'], 'tokens' | 'anonymous_role'> &
  Partial<Pick<PharosConfig['auth'], 'users' | 'session_ttl_s' | 'rate_limit_per_s' | 'rate_limit_burst' | 'max_body_bytes' | 'cookie_secure'>>;

export interface RequestLimits {
  /** Requests per second per principal; 0: no limit. */
  ratePerSecond: number;
  rateBurst: number;
  maxBodyBytes: number;
  /** undefined: Secure when the request came over TLS. */
  cookieSecure: boolean | undefined;
}

/** Ordered: each role has every right of the roles before it. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'analyst', 'admin'];

export function hasRole(principal: Principal, needed: Role): boolean {
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(needed);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when no token and no user is configured: anonymous requests are allowed and servers must stay on loopback. */
export function authIsOpen(config: Pick<PharosConfig, 'auth'>): boolean {
  return config.auth.tokens.length === 0 && config.auth.users.length === 0;
}

interface KnownToken {
  name: string;
  role: Role;
  digest: Buffer;
  scope?: LabelScope;
}

const DEFAULT_SESSION_TTL_S = 12 * 3600;
const DEFAULT_RATE_PER_S = 100;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const MIN_TOKEN_CHARS = 16;

export class Authenticator {
  private readonly tokens: readonly KnownToken[];
  private readonly users: ReadonlyMap<string, NonNullable<AuthSettings['users']>[number]>;
  private readonly anonymousRole: Role;
  readonly sessions: SessionStore;
  /** Request limits of the servers this authenticator guards (auth.rate_limit_*, auth.max_body_bytes). */
  readonly limits: RequestLimits;

  /**
   * @param readFile reads `token_file` entries (injected so tests need no files); its content is
   *   trimmed, since secret files written by `echo` or Kubernetes often end with a newline.
   */
  constructor(auth: AuthSettings, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')) {
    this.anonymousRole = auth.anonymous_role;
    this.sessions = new SessionStore((auth.session_ttl_s ?? DEFAULT_SESSION_TTL_S) * 1000);
    const ratePerSecond = auth.rate_limit_per_s ?? DEFAULT_RATE_PER_S;
    this.limits = {
      ratePerSecond,
      rateBurst: auth.rate_limit_burst ?? Math.max(1, Math.ceil(ratePerSecond * 2)),
      maxBodyBytes: auth.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES,
      cookieSecure: auth.cookie_secure,
    };
    const tokens: KnownToken[] = [];
    auth.tokens.forEach((t, i) => {
      const key = `auth.tokens[${i}] (${t.name})`;
      let hex: string;
      if (t.token_sha256) hex = t.token_sha256;
      else if (t.token) hex = hashToken(t.token);
      else if (t.token_file) hex = hashToken(readTokenFile(key, t.token_file, readFile));
      else throw new PharosError('invalid_config', `${key}: set exactly one of token_sha256, token_file, token`);
      const digest = Buffer.from(hex, 'hex');
      const twin = tokens.find((k) => timingSafeEqual(k.digest, digest));
      // Two entries with one token would make the role depend on list order.
      if (twin) throw new PharosError('invalid_config', `${key}: same token as the entry named "${twin.name}"`);
      tokens.push({ name: t.name, role: t.role, digest, ...(t.scope ? { scope: t.scope } : {}) });
    });
    this.tokens = tokens;
    this.users = new Map((auth.users ?? []).map((u) => [u.name, u]));
  }

  /** True when no token and no user is configured (anonymous access, loopback only). */
  get isOpen(): boolean {
    return this.tokens.length === 0 && this.users.size === 0;
  }

  /**
   * Reads `Authorization: Bearer <token>`, else the session cookie. Null means 401: no credential
   * while tokens are configured, a bad token, or an unknown or expired session.
   */
  authenticate(req: IncomingMessage): Principal | null {
    return this.identify(req)?.principal ?? null;
  }

  /** authenticate(), also saying whether the session cookie was the credential (then CSRF applies). */
  identify(req: IncomingMessage): Identity | null {
    const bearer = bearerToken(req);
    if (bearer !== undefined) return wrap(this.resolve(bearer));
    const sessionId = readCookie(req, SESSION_COOKIE);
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      if (session) return { principal: session.principal, session };
      // A stale cookie in open mode is no reason to refuse what needs no credential at all.
      return this.isOpen ? wrap(this.resolve(undefined)) : null;
    }
    return wrap(this.resolve(undefined));
  }

  /** A session for a presented token (`POST /api/login`); null when the token is not good. */
  login(token: string): Session | null {
    if (this.isOpen) return null;
    const principal = this.resolve(token);
    return principal ? this.sessions.create(principal) : null;
  }

  /**
   * A session for a user of `auth.users` and its password; null when either is wrong. An unknown
   * name costs the same scrypt as a known one, so timing does not tell which names exist.
   */
  async loginPassword(username: string, password: string): Promise<Session | null> {
    const user = this.users.get(username);
    const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
    if (!user || !ok) return null;
    return this.sessions.create({ name: user.name, role: user.role, anonymous: false, ...(user.scope ? { scope: user.scope } : {}) });
  }

  /** Checks a presented token (or its absence) against the configuration. */
  resolve(token: string | undefined | null): Principal | null {
    if (token === undefined || token === null) {
      return this.isOpen ? { name: 'anonymous', role: this.anonymousRole, anonymous: true } : null;
    }
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let match: KnownToken | undefined;
    // No early exit: the time taken does not say which entry matched.
    for (const known of this.tokens) {
      if (timingSafeEqual(known.digest, presented) && !match) match = known;
    }
    if (!match) return null;
    return { name: match.name, role: match.role, anonymous: false, ...(match.scope ? { scope: match.scope } : {}) };
  }
}

function readTokenFile(key: string, path: string, readFile: (path: string) => string): string {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new PharosError('invalid_config', `${key}: cannot read token_file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, false, { cause: err });
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_CHARS) {
    throw new PharosError('invalid_config', `${key}: token_file ${path} holds ${token.length ? 'a token shorter than 16 characters' : 'no token'}`);
  }
  return token;
}

/**
 * The token of an `Authorization: Bearer` header; undefined when there is no header.
 * Any other header value (another scheme, an empty token) is returned as '' so it fails as a
 * bad credential instead of silently becoming anonymous.
 */
function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1] ?? '';
}

function wrap(principal: Principal | null): Identity | null {
  return principal ? { principal } : null;
}

/**
 * Authenticates a WebSocket upgrade. Browsers cannot set headers on `new WebSocket()`: they send
 * the session cookie by themselves, and a script holding a token may pass it as `?access_token=`,
 * here and only here (in a plain HTTP URL it would end up in access logs, history and Referer
 * headers). Cross-site pages are kept out by SameSite=Strict and the server's Origin check.
 */
export function authenticateUpgrade(auth: Authenticator, req: IncomingMessage): Principal | null {
  if (req.headers.authorization !== undefined) return auth.authenticate(req);
  let fromQuery: string | null = null;
  try {
    fromQuery = new URL(req.url ?? '/', 'http://upgrade.invalid').searchParams.get('access_token');
  } catch {
    return null;
  }
  if (fromQuery !== null) return auth.resolve(fromQuery);
  return auth.authenticate(req);
}

/**
 * The JSON error envelope of every Pharos API (the Prometheus HTTP API's shape). The reason is
 * left in `res.locals.rejected` for the service server's pharos_http_rejected_total.
 */
export function deny(res: Response, status: 401 | 403, errorType: 'unauthorized' | 'forbidden', error: string, reason: RejectReason = status === 401 ? 'unauthenticated' : 'forbidden'): void {
  if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="pharos"');
  res.locals.rejected = reason;
  res.status(status).json({ status: 'error', errorType, error });
}

/**
 * Sets `res.locals.principal` (and `res.locals.session` for cookie requests), or answers 401;
 * answers 403 to a state-changing request made with the session cookie but without its CSRF token.
 */
export function authMiddleware(auth: Authenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const identity = auth.identify(req);
    if (!identity) {
      const why =
        req.headers.authorization !== undefined
          ? 'invalid bearer token'
          : readCookie(req, SESSION_COOKIE) !== undefined
            ? 'the session has expired or is unknown: log in again'
            : 'a bearer token (Authorization: Bearer <token>) or a session (POST /api/login) is required';
      deny(res, 401, 'unauthorized', why);
      return;
    }
    if (identity.session && !isSafeMethod(req.method) && !csrfMatches(identity.session, headerValue(req, CSRF_HEADER))) {
      deny(res, 403, 'forbidden', `a ${req.method} with the session cookie needs the session's CSRF token in the X-CSRF-Token header`, 'csrf');
      return;
    }
    res.locals.principal = identity.principal;
    if (identity.session) res.locals.session = identity.session;
    next();
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Answers 403 unless the principal set by authMiddleware has at least `role`. */
export function requireRole(role: Role): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) {
      // authMiddleware was not mounted before this route: fail closed.
      deny(res, 401, 'unauthorized', 'a bearer token (Authorization: Bearer <token>) or a session (POST /api/login) is required');
      return;
    }
    if (!hasRole(principal, role)) {
      deny(res, 403, 'forbidden', `role ${principal.role} of ${principal.name} may not do this: ${role} or above is required`);
      return;
    }
    next();
  };
}
