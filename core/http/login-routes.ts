/**
 * `POST /api/login` and `POST /api/logout`: browser sessions made from a token.
 *
 * login  body `{"token": "…"}`, or `{"username": "…", "password": "…"}` for `auth.users` → 200 `{status, data: {name, role, anonymous, csrfToken}}` and two
 *        cookies: `pharos_session` (HTTP-only: scripts never see it) and `pharos_csrf` (read by
 *        the app and sent back as `X-CSRF-Token`). Both SameSite=Strict, Secure over TLS.
 *        A bad token is 401; attempts are rate limited per client address (guessing stays slow).
 * logout ends the session (its CSRF token required, so another site cannot log the user out).
 *
 * Mounted before authentication: these are how a browser gets a credential.
 */
import express, { Router, type Request, type Response } from 'express';
import { deny, type Authenticator } from './auth.js';
import { rateLimitMiddleware, type TokenBuckets } from './rate-limit.js';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, csrfMatches, readCookie } from './sessions.js';

export interface LoginRouteOptions {
  auth: Authenticator;
  /** Per client address; login attempts are the brute-force surface. */
  attempts: TokenBuckets;
  /** Secure cookies: true/false forces; undefined follows the request (TLS, or a trusted proxy's X-Forwarded-Proto). */
  cookieSecure?: boolean | undefined;
}

export interface LoginResponse {
  status: 'success';
  data: { name: string; role: string; anonymous: boolean; csrfToken?: string };
}

export function loginRoutes(opts: LoginRouteOptions): Router {
  const { auth } = opts;
  const router = Router();
  const cookieOptions = (req: Request) => ({ sameSite: 'strict' as const, path: '/', secure: opts.cookieSecure ?? req.secure });

  router.post(
    '/api/login',
    rateLimitMiddleware(opts.attempts, (req) => `address:${req.socket.remoteAddress ?? 'unknown'}`),
    express.json({ limit: '4kb' }),
    async (req: Request, res: Response) => {
      res.locals.metricsRoute = '/api/login';
      if (auth.isOpen) {
        // Nothing to log in to: every request is anonymous on this loopback-only server.
        const anonymous = auth.resolve(undefined)!;
        const body: LoginResponse = { status: 'success', data: { name: anonymous.name, role: anonymous.role, anonymous: true } };
        res.json(body);
        return;
      }
      const given = (req.body ?? {}) as { token?: unknown; username?: unknown; password?: unknown };
      const byPassword = typeof given.username === 'string' && typeof given.password === 'string' && given.username !== '' && given.password !== '';
      if (!byPassword && (typeof given.token !== 'string' || given.token.trim() === '')) {
        res.status(400).json({ status: 'error', errorType: 'bad_request', error: 'expected a JSON body {"token": "<your API token>"} or {"username": "…", "password": "…"}' });
        return;
      }
      const session = byPassword ? await auth.loginPassword(given.username as string, given.password as string) : auth.login((given.token as string).trim());
      if (!session) {
        deny(res, 401, 'unauthorized', byPassword ? 'wrong user name or password' : 'that token is not valid');
        return;
      }
      const previous = readCookie(req, SESSION_COOKIE);
      if (previous !== undefined) auth.sessions.delete(previous);
      res.cookie(SESSION_COOKIE, session.id, { ...cookieOptions(req), httpOnly: true });
      res.cookie(CSRF_COOKIE, session.csrf, { ...cookieOptions(req), httpOnly: false });
      const { name, role } = session.principal;
      const body: LoginResponse = { status: 'success', data: { name, role, anonymous: false, csrfToken: session.csrf } };
      res.json(body);
    },
  );

  router.post('/api/logout', (req: Request, res: Response) => {
    res.locals.metricsRoute = '/api/logout';
    const id = readCookie(req, SESSION_COOKIE);
    const session = id !== undefined ? auth.sessions.get(id) : undefined;
    if (session) {
      const presented = req.headers[CSRF_HEADER];
      if (!csrfMatches(session, Array.isArray(presented) ? presented[0] : presented)) {
        deny(res, 403, 'forbidden', 'logout needs the session\'s CSRF token in the X-CSRF-Token header', 'csrf');
        return;
      }
      auth.sessions.delete(session.id);
    }
    res.clearCookie(SESSION_COOKIE, { ...cookieOptions(req), httpOnly: true });
    res.clearCookie(CSRF_COOKIE, cookieOptions(req));
    res.json({ status: 'success', data: {} });
  });

  return router;
}
