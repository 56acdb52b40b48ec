/**
 * The one authentication and authorisation layer of every Pharos HTTP and WebSocket server.
 *
 * Bearer tokens only: what Prometheus-compatible clients (Grafana, curl, scrapers) already send.
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

export type { Role };

/** Who is calling: set on `res.locals.principal` by authMiddleware. */
export interface Principal {
  name: string;
  role: Role;
  anonymous: boolean;
}

/** Ordered: each role has every right of the roles before it. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'analyst', 'admin'];

export function hasRole(principal: Principal, needed: Role): boolean {
  return ROLES.indexOf(principal.role) >= ROLES.indexOf(needed);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when no token is configured: anonymous requests are allowed and servers must stay on loopback. */
export function authIsOpen(config: Pick<PharosConfig, 'auth'>): boolean {
  return config.auth.tokens.length === 0;
}

interface KnownToken {
  name: string;
  role: Role;
  digest: Buffer;
}

const MIN_TOKEN_CHARS = 16;

export class Authenticator {
  private readonly tokens: readonly KnownToken[];
  private readonly anonymousRole: Role;

  /**
   * @param readFile reads `token_file` entries (injected so tests need no files); its content is
   *   trimmed, since secret files written by `echo` or Kubernetes often end with a newline.
   */
  constructor(auth: PharosConfig['auth'], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')) {
    this.anonymousRole = auth.anonymous_role;
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
      tokens.push({ name: t.name, role: t.role, digest });
    });
    this.tokens = tokens;
  }

  /** True when no token is configured (anonymous access, loopback only). */
  get isOpen(): boolean {
    return this.tokens.length === 0;
  }

  /** Reads `Authorization: Bearer <token>`. Null means 401: missing token while tokens are configured, or a bad token. */
  authenticate(req: IncomingMessage): Principal | null {
    return this.resolve(bearerToken(req));
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
    return match ? { name: match.name, role: match.role, anonymous: false } : null;
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

/**
 * Authenticates a WebSocket upgrade. Browsers cannot set headers on `new WebSocket()`, so the
 * token may also come as `?access_token=` here, and only here: in a plain HTTP URL it would end
 * up in access logs, history and Referer headers.
 */
export function authenticateUpgrade(auth: Authenticator, req: IncomingMessage): Principal | null {
  const header = bearerToken(req);
  if (header !== undefined) return auth.resolve(header);
  let fromQuery: string | null = null;
  try {
    fromQuery = new URL(req.url ?? '/', 'http://upgrade.invalid').searchParams.get('access_token');
  } catch {
    return null;
  }
  return auth.resolve(fromQuery);
}

/** The JSON error envelope of every Pharos API (the Prometheus HTTP API's shape). */
function deny(res: Response, status: 401 | 403, errorType: 'unauthorized' | 'forbidden', error: string): void {
  if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="pharos"');
  res.status(status).json({ status: 'error', errorType, error });
}

/** Sets `res.locals.principal`, or answers 401. */
export function authMiddleware(auth: Authenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const principal = auth.authenticate(req);
    if (!principal) {
      const presented = req.headers.authorization !== undefined;
      deny(res, 401, 'unauthorized', presented ? 'invalid bearer token' : 'a bearer token is required (Authorization: Bearer <token>)');
      return;
    }
    res.locals.principal = principal;
    next();
  };
}

/** Answers 403 unless the principal set by authMiddleware has at least `role`. */
export function requireRole(role: Role): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) {
      // authMiddleware was not mounted before this route: fail closed.
      deny(res, 401, 'unauthorized', 'a bearer token is required (Authorization: Bearer <token>)');
      return;
    }
    if (!hasRole(principal, role)) {
      deny(res, 403, 'forbidden', `role ${principal.role} of ${principal.name} may not do this: ${role} or above is required`);
      return;
    }
    next();
  };
}
