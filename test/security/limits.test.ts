/**
 * Request limits of every Pharos server (core/http/service-server.ts): requests per token per
 * second answer 429 with Retry-After, bodies over the limit 413, both with a clear message, and
 * both counted in pharos_http_rejected_total.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../core/config/schema.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer, type ServiceServer } from '../../core/http/service-server.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry, type Registry } from '../../core/telemetry/registry.js';

const TOKEN_A = 'limits-token-a-0123456789';
const TOKEN_B = 'limits-token-b-0123456789';

const servers: ServiceServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(auth: Record<string, unknown>): Promise<{ url: string; registry: Registry }> {
  const registry = createRegistry();
  const config = configSchema.parse({
    auth: {
      tokens: [
        { name: 'a', role: 'operator', token: TOKEN_A },
        { name: 'b', role: 'operator', token: TOKEN_B },
      ],
      ...auth,
    },
  });
  const s = await startServiceServer({
    name: 'limits',
    listen: '127.0.0.1:0',
    registry,
    auth: new Authenticator(config.auth),
    log: silentLogger(),
    ready: () => true,
    mount: (app) => {
      app.get('/api/ping', (_req, res) => res.json({ status: 'success' }));
      app.post('/api/echo', (req, res) => res.json({ status: 'success', data: req.body }));
    },
  });
  servers.push(s);
  return { url: `http://${s.address}`, registry };
}

async function rejected(registry: Registry, reason: string): Promise<number> {
  const m = await registry.getSingleMetric('pharos_http_rejected_total')?.get();
  return m?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('rate limit', () => {
  test('a token over its rate gets 429 with Retry-After; another token is not affected', async () => {
    const { url, registry } = await start({ rate_limit_per_s: 0.2, rate_limit_burst: 3 });
    const ping = (token: string) => fetch(`${url}/api/ping`, { headers: { authorization: `Bearer ${token}` } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await ping(TOKEN_A)).status);
    // The bucket holds 3 and refills one every 5 s: the 4th and 5th of a quick burst are refused.
    expect(codes.slice(0, 3)).toEqual([200, 200, 200]);
    expect(codes.slice(3)).toEqual([429, 429]);
    const refused = await ping(TOKEN_A);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ status: 'error', errorType: 'rate_limited', error: expect.stringMatching(/at most 0.2 per second/) });
    expect((await ping(TOKEN_B)).status).toBe(200);
    expect(await rejected(registry, 'rate_limited')).toBe(3);
  });

  test('0 turns the limit off', async () => {
    const { url } = await start({ rate_limit_per_s: 0 });
    const codes = await Promise.all(Array.from({ length: 30 }, () => fetch(`${url}/api/ping`, { headers: { authorization: `Bearer ${TOKEN_A}` } }).then((r) => r.status)));
    expect(new Set(codes)).toEqual(new Set([200]));
  });
});

describe('login attempts', () => {
  test('are limited per client address: guessing a token or a password stays slow', async () => {
    const { url, registry } = await start({});
    const codes: number[] = [];
    let refused: Response | undefined;
    // A burst of 20, refilled at 2 per second: a 429 comes right after the burst (a slow machine may refill one or two).
    for (let i = 0; i < 30 && !refused; i++) {
      const res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: `guess-${i}-0000000000000000` }) });
      codes.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(codes.slice(0, 20).every((c) => c === 401)).toBe(true);
    expect(refused?.status).toBe(429);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await rejected(registry, 'rate_limited')).toBe(1);
    expect(await rejected(registry, 'unauthenticated')).toBe(codes.length - 1);
  });
});

describe('body limit', () => {
  test('a JSON or form body over auth.max_body_bytes is 413; one under it is parsed', async () => {
    const { url, registry } = await start({ max_body_bytes: 2048 });
    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/api/echo`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN_A}`, 'content-type': type }, body });
    const small = await post(JSON.stringify({ x: 'y'.repeat(1000) }));
    expect(small.status).toBe(200);
    const big = await post(JSON.stringify({ x: 'y'.repeat(3000) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ status: 'error', errorType: 'too_large', error: 'request body is larger than the limit of 2048 bytes (auth.max_body_bytes)' });
    const form = await post(`x=${'y'.repeat(3000)}`, 'application/x-www-form-urlencoded');
    expect(form.status).toBe(413);
    expect(await rejected(registry, 'body_too_large')).toBe(2);
  });

  test('the limit applies after decompression (a small gzip of a large body is refused)', async () => {
    const { gzipSync } = await import('node:zlib');
    const { url } = await start({ max_body_bytes: 2048 });
    const zipped = gzipSync(JSON.stringify({ x: 'y'.repeat(100_000) }));
    expect(zipped.length).toBeLessThan(2048);
    const res = await fetch(`${url}/api/echo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN_A}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: zipped,
    });
    expect(res.status).toBe(413);
  });
});

describe('rejections are counted by reason', () => {
  test('401 without a token, 401 with a bad one', async () => {
    const { url, registry } = await start({});
    expect((await fetch(`${url}/api/ping`)).status).toBe(401);
    expect((await fetch(`${url}/api/ping`, { headers: { authorization: 'Bearer not-a-real-token-000000' } })).status).toBe(401);
    expect(await rejected(registry, 'unauthenticated')).toBe(2);
  });
});
