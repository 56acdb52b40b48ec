import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { createLogger, silentLogger, type Logger } from '../log.js';
import { createRegistry } from '../telemetry/registry.js';
import { Authenticator, requireRole } from './auth.js';
import { isLoopbackHost, parseListen, startServiceServer, type ServiceServer, type ServiceServerOptions } from './service-server.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';

const withTokens = () =>
  new Authenticator(
    configSchema.parse({
      auth: {
        tokens: [
          { name: 'root', role: 'admin', token: ADMIN_TOKEN },
          { name: 'grafana', role: 'viewer', token: VIEWER_TOKEN },
        ],
      },
    }).auth,
  );
const open = () => new Authenticator(configSchema.parse({}).auth);

const servers: ServiceServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(overrides: Partial<ServiceServerOptions> = {}): Promise<ServiceServer & { url: string }> {
  const s = await startServiceServer({
    name: 'test',
    listen: '127.0.0.1:0',
    registry: createRegistry(),
    auth: withTokens(),
    log: silentLogger(),
    ready: () => true,
    mount: (app) => {
      app.get('/api/admin', requireRole('admin'), (_req, res) => {
        res.json({ status: 'success', data: res.locals.principal });
      });
      app.get('/api/me', (_req, res) => {
        res.json({ status: 'success', data: res.locals.principal });
      });
      app.get('/api/boom', () => {
        throw new Error('database exploded');
      });
      app.post('/api/echo', (req, res) => {
        res.json(req.body);
      });
    },
    ...overrides,
  });
  servers.push(s);
  return { ...s, url: `http://${s.address}` };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function captureLogs(): { log: Logger; text: () => string } {
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { log: createLogger({ level: 'trace', destination: sink }), text: () => text };
}

describe('startServiceServer', () => {
  it('answers 401 with the JSON envelope and WWW-Authenticate when tokens are configured and none is sent', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/api/me`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await res.json()).toEqual({ status: 'error', errorType: 'unauthorized', error: expect.stringContaining('bearer token') });
  });

  it('answers 401 to a wrong token', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/api/me`, { headers: bearer('wrong-token-0000000000000') });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 'error', errorType: 'unauthorized' });
  });

  it('answers 403 to a viewer on an admin route, and 200 to an admin', async () => {
    const s = await start();
    const viewer = await fetch(`${s.url}/api/admin`, { headers: bearer(VIEWER_TOKEN) });
    expect(viewer.status).toBe(403);
    expect(await viewer.json()).toEqual({ status: 'error', errorType: 'forbidden', error: expect.stringContaining('admin') });
    const admin = await fetch(`${s.url}/api/admin`, { headers: bearer(ADMIN_TOKEN) });
    expect(admin.status).toBe(200);
    expect(await admin.json()).toEqual({ status: 'success', data: { name: 'root', role: 'admin', anonymous: false } });
  });

  it('serves /healthz and /readyz without a token', async () => {
    let ready = false;
    const s = await start({ ready: () => ready });
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok');
    const notReady = await fetch(`${s.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toMatch(/^not ready: /);
    ready = true;
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  });

  it('answers 503 on /readyz with the reason when the readiness check throws', async () => {
    const s = await start({
      ready: async () => {
        throw new Error('warehouse unreachable');
      },
    });
    const res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('not ready: warehouse unreachable');
  });

  it('serves /metrics with a token, counting requests by route and code', async () => {
    const s = await start();
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    await fetch(`${s.url}/api/me`, { headers: bearer(VIEWER_TOKEN) });
    const res = await fetch(`${s.url}/metrics`, { headers: bearer(VIEWER_TOKEN) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('pharos_http_requests_total');
    expect(text).toContain('pharos_http_requests_total{server="test",route="/api/me",code="200"} 1');
    expect(text).toContain('pharos_http_request_duration_seconds_bucket');
  });

  it('lets anonymous requests through with anonymous_role when no token is configured', async () => {
    const s = await start({ auth: open() });
    const res = await fetch(`${s.url}/api/me`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'success', data: { name: 'anonymous', role: 'viewer', anonymous: true } });
    expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
  });

  it('refuses to start without tokens on an address other hosts can reach', async () => {
    for (const listen of ['0.0.0.0:0', ':0', '[::]:0', '192.168.1.10:0']) {
      await expect(start({ auth: open(), listen })).rejects.toThrow(/no auth configured: bind to 127\.0\.0\.1 or configure auth\.tokens/);
    }
  });

  it('binds any address once tokens are configured', async () => {
    const s = await start({ listen: '0.0.0.0:0' });
    expect(s.address).toMatch(/^0\.0\.0\.0:\d+$/);
    const port = s.address.split(':')[1];
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('answers a request naming a non-loopback host with 403 in open mode (DNS rebinding)', async () => {
    const s = await start({ auth: open() });
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/api/me`, { headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('turns a thrown error into a JSON 500 without the stack, logged once', async () => {
    const logs = captureLogs();
    const s = await start({ log: logs.log });
    const res = await fetch(`${s.url}/api/boom`, { headers: bearer(ADMIN_TOKEN) });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ status: 'error', errorType: 'internal', error: 'internal server error' });
    expect(body).not.toContain('exploded');
    const failures = logs.text().split('\n').filter((l) => l.includes('request failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain('database exploded');
  });

  it('parses JSON bodies up to 1 MB and answers 413 above', async () => {
    const s = await start();
    const post = (body: string) => fetch(`${s.url}/api/echo`, { method: 'POST', headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' }, body });
    const small = await post(JSON.stringify({ a: 1 }));
    expect(await small.json()).toEqual({ a: 1 });
    const big = await post(JSON.stringify({ a: 'x'.repeat(1_100_000) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ status: 'error', errorType: 'too_large' });
    const malformed = await post('{"a":');
    expect(malformed.status).toBe(400);
  });

  it('answers unknown routes with a JSON 404 and sends no x-powered-by', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/api/nope`, { headers: bearer(VIEWER_TOKEN) });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(await res.json()).toMatchObject({ status: 'error', errorType: 'not_found' });
  });

  it('never writes a token to the log', async () => {
    const logs = captureLogs();
    const s = await start({ log: logs.log });
    await fetch(`${s.url}/api/boom?access_token=${ADMIN_TOKEN}`, { headers: bearer(ADMIN_TOKEN) });
    await fetch(`${s.url}/api/me`, { headers: bearer('wrong-but-secret-token-0000') });
    await fetch(`${s.url}/api/admin`, { headers: bearer(VIEWER_TOKEN) });
    await s.close();
    const text = logs.text();
    expect(text).toContain('request failed');
    for (const t of [ADMIN_TOKEN, VIEWER_TOKEN, 'wrong-but-secret-token-0000']) expect(text).not.toContain(t);
  });

  it('closes promptly with idle keep-alive connections open', async () => {
    const s = await start();
    await fetch(`${s.url}/healthz`, { keepalive: true });
    const started = Date.now();
    await s.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });

  it('reports a busy port as an error naming the address', async () => {
    const s = await start();
    await expect(start({ listen: s.address })).rejects.toThrow(new RegExp(`cannot listen on ${s.address}: address already in use`));
  });
});

describe('listen addresses', () => {
  it('parses host:port, [v6]:port and :port', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen(':9464')).toEqual({ host: '', port: 9464 });
    expect(() => parseListen('8080')).toThrow(/not host:port/);
    expect(() => parseListen('a:70000')).toThrow(/not host:port/);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['', '0.0.0.0', '::', '10.0.0.1', 'example.com', 'localhost.example.com']) expect(isLoopbackHost(h)).toBe(false);
  });
});
