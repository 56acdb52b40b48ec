/**
 * The HTTP server every long-running Pharos component runs: probes, its own metrics, and
 * whatever the component mounts, behind one auth layer.
 *
 * Order of the stack, and why:
 *   /healthz, /readyz      unauthenticated: kubelets and compose health checks carry no token,
 *                          and the answers carry no data;
 *   /metrics               bearer token (series names and labels describe the deployment);
 *   /api/login, /api/logout  no credential yet: how a browser gets a session (rate limited per address);
 *   mountPublic(app)       no token: only content that holds no data and must load before the
 *                          user can present a token (the dashboard's static app);
 *   authMiddleware         a bearer token or the session cookie (+ CSRF token on state changes);
 *   rate limit, body limit per principal (429 + Retry-After), JSON and form bodies (413);
 *   mount                  everything else.
 * Every refusal is counted in pharos_http_rejected_total{server, reason}.
 */
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../log.js';
import { PharosError } from '../errors.js';
import { counter, histogram, type Registry } from '../telemetry/registry.js';
import { authMiddleware, type Authenticator, type Principal, type RejectReason } from './auth.js';
import { loginRoutes } from './login-routes.js';
import { rateKey, rateLimitMiddleware, TokenBuckets } from './rate-limit.js';

export interface ServiceServerOptions {
  /** Component name: the `server` label of the HTTP metrics and the prefix of errors. */
  name: string;
  /** `host:port`; port 0 picks a free port (tests). */
  listen: string;
  registry: Registry;
  auth: Authenticator;
  log: Logger;
  /** Readiness: false (or a throw) answers 503 on /readyz. */
  ready: () => boolean | Promise<boolean>;
  /** Routes that need authentication; `res.locals.principal` is set when they run. */
  mount?: (app: express.Express, server: Server) => void;
  /** Routes served without authentication. Only for content that holds no data. */
  mountPublic?: (app: express.Express) => void;
}

export interface ServiceServer {
  app: express.Express;
  server: Server;
  /** `host:port` actually bound (the real port when `listen` asked for 0). */
  address: string;
  close(): Promise<void>;
}

export type ApiErrorType = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'too_large' | 'rate_limited' | 'unavailable' | 'internal';

/** The JSON error envelope of every Pharos API, the Prometheus HTTP API's shape. */
export function sendError(res: Response, status: number, errorType: ApiErrorType, error: string): void {
  res.status(status).json({ status: 'error', errorType, error });
}

/** Login attempts per second per client address, and the burst allowed. */
const LOGIN_ATTEMPTS_PER_S = 2;
const LOGIN_ATTEMPTS_BURST = 20;

/** Splits `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new PharosError('invalid_config', `listen address "${listen}" is not host:port (e.g. 127.0.0.1:8080)`);
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

export async function startServiceServer(opts: ServiceServerOptions): Promise<ServiceServer> {
  const { name, log, auth } = opts;
  const { host, port } = parseListen(opts.listen);
  if (auth.isOpen && !isLoopbackHost(host)) {
    throw new PharosError(
      'invalid_config',
      `${name}: no auth configured: bind to 127.0.0.1 or configure auth.tokens (listen is ${opts.listen}, which is reachable from other hosts)`,
    );
  }

  const requests = counter(opts.registry, 'pharos_http_requests_total', 'HTTP requests answered, by server, route and status code.', ['server', 'route', 'code']);
  const latency = histogram(opts.registry, 'pharos_http_request_duration_seconds', 'Time to answer an HTTP request.', ['server', 'route']);
  const rejected = counter(opts.registry, 'pharos_http_rejected_total', 'HTTP requests refused, by server and reason (unauthenticated, forbidden, csrf, rate_limited, body_too_large, host).', ['server', 'reason']);
  const limits = auth.limits;

  const app = express();
  app.disable('x-powered-by');
  // node:querystring, not qs: parameters are strings (or arrays when repeated), never nested objects.
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const started = performance.now();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const route = routeLabel(req, res);
      requests.inc({ server: name, route, code: String(res.statusCode) });
      const reason = res.locals.rejected as RejectReason | undefined;
      if (reason) rejected.inc({ server: name, reason });
      latency.observe({ server: name, route }, (performance.now() - started) / 1000);
    };
    res.once('finish', record);
    res.once('close', record);
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });

  if (auth.isOpen) app.use(loopbackHostOnly);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', async (_req, res) => {
    let reason = `${name} is starting or has lost a dependency`;
    try {
      if (await opts.ready()) {
        res.type('text/plain').send('ready');
        return;
      }
    } catch (err) {
      reason = (err as Error).message;
    }
    res.status(503).type('text/plain').send(`not ready: ${reason}`);
  });

  const requireAuth = authMiddleware(auth);
  app.get('/metrics', requireAuth, async (_req, res) => {
    const text = await opts.registry.metrics();
    res.set('Content-Type', opts.registry.contentType).send(text);
  });

  app.use(loginRoutes({ auth, attempts: new TokenBuckets(LOGIN_ATTEMPTS_PER_S, LOGIN_ATTEMPTS_BURST), cookieSecure: limits.cookieSecure }));
  opts.mountPublic?.(app);
  app.use(requireAuth);
  // Per token: in open mode (loopback only, everyone anonymous) one shared bucket would only throttle the laptop's own tools.
  if (limits.ratePerSecond > 0 && !auth.isOpen) {
    const buckets = new TokenBuckets(limits.ratePerSecond, limits.rateBurst);
    app.use(rateLimitMiddleware(buckets, (req, res) => rateKey(req, res.locals.principal as Principal | undefined)));
  }
  // Parsed here, once, under the configured limit: routers' own parsers then find the body read.
  app.use(express.json({ limit: limits.maxBodyBytes }));
  app.use(express.urlencoded({ extended: false, limit: limits.maxBodyBytes }));

  const server = createServer(app);
  opts.mount?.(app, server);

  app.use((req, res) => {
    res.locals.metricsRoute = '(unmatched)';
    sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`);
  });
  // Four parameters: that is how Express tells an error handler apart.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = httpStatusOf(err);
    if (status === 413) {
      res.locals.rejected = 'body_too_large';
      if (!res.headersSent) sendError(res, 413, 'too_large', `request body is larger than the limit of ${limits.maxBodyBytes} bytes (auth.max_body_bytes)`);
      return;
    }
    if (status !== undefined && status < 500) {
      // Client mistakes (malformed JSON, a body over the limit): say what was wrong, no log.
      if (!res.headersSent) sendError(res, status, 'bad_request', (err as Error).message);
      return;
    }
    // The path only: a query string may carry an access token.
    log.error({ err, server: name, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, 500, 'internal', 'internal server error');
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        new PharosError(
          'invalid_config',
          `${name}: cannot listen on ${opts.listen}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`,
          false,
          { cause: err },
        ),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(host === '' ? { port } : { host, port });
  });

  const bound = server.address() as AddressInfo;
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  if (auth.isOpen) {
    log.warn(
      { server: name, address, auth: 'open (loopback only)' },
      `${name}: no auth configured (auth.tokens is empty): every request is anonymous, so this server listens on loopback only (${address}) and answers loopback host names only`,
    );
  } else {
    log.info({ server: name, address, auth: 'bearer tokens and sessions' }, 'http server listening');
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(err) : resolve()));
      // Idle keep-alive sockets would otherwise hold close() open for the keep-alive timeout.
      server.closeAllConnections();
    });
    return closing;
  };

  return { app, server, address, close };
}

/**
 * A bounded `route` label: the matched route pattern, never the raw path (one series per URL
 * would grow without bound).
 */
function routeLabel(req: Request, res: Response): string {
  const explicit = res.locals.metricsRoute as string | undefined;
  if (explicit) return explicit;
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return req.baseUrl + pattern;
  return res.statusCode === 401 ? '(unauthenticated)' : '(unmatched)';
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : undefined;
}

/**
 * Without tokens, any web page the user visits could make the browser call this server through
 * DNS rebinding (evil.example resolving to 127.0.0.1). Refusing Host names that are not loopback
 * closes that door; with tokens configured the token does.
 */
function loopbackHostOnly(req: Request, res: Response, next: NextFunction): void {
  const hostHeader = req.headers.host ?? '';
  const hostname = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0] ?? '';
  if (hostHeader === '' || isLoopbackHost(hostname)) {
    next();
    return;
  }
  res.locals.metricsRoute = '(rejected host)';
  res.locals.rejected = 'host';
  sendError(res, 403, 'forbidden', `host ${hostname} is not a loopback name; without auth.tokens this server answers loopback names only`);
}
