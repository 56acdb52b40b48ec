/**
 * The collector's push receivers (OTLP/HTTP logs and metrics, JSON lines) sit behind the one
 * auth layer: no token or a bad token is 401, a session cookie without its CSRF token is 403,
 * a token gets through. Real collector, in-process bus (what `pharos all` uses without Kafka).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCollector } from '../../collector/collector.js';
import { MemoryBus } from '../../core/bus/memory-bus.js';
import { validateConfig } from '../../core/config/load.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer, type ServiceServer } from '../../core/http/service-server.js';
import { silentLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';

const TOKEN = 'collector-push-token-0123456789';
const log = silentLogger();
const cleanups: Array<() => Promise<void>> = [];
let server: ServiceServer;
let auth: Authenticator;

beforeAll(async () => {
  const config = validateConfig({
    data_dir: mkdtempSync(join(tmpdir(), 'pharos-push-auth-')),
    collector: { self_logs: false, host_metrics: { enabled: false } },
    auth: { tokens: [{ name: 'agent', role: 'viewer', token: TOKEN }] },
  });
  const bus = new MemoryBus();
  await bus.ensureTopics(Object.values(config.kafka.topics), 1);
  const registry = createRegistry();
  const collector = await startCollector({ config, bus, log, registry });
  cleanups.push(() => collector.stop());
  auth = new Authenticator(config.auth);
  server = await startServiceServer({ name: 'collector', listen: '127.0.0.1:0', registry, auth, log, ready: () => true, mountPublic: (app) => collector.mountReceivers?.(app, auth) });
  cleanups.push(() => server.close());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const PUSH: Array<[path: string, type: string, body: string]> = [
  ['/v1/logs', 'application/json', JSON.stringify({ resourceLogs: [] })],
  ['/v1/metrics', 'application/json', JSON.stringify({ resourceMetrics: [] })],
  ['/v1/ndjson', 'application/x-ndjson', '{"msg":"hello"}\n'],
];

const push = (path: string, type: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`http://${server.address}${path}`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });

describe('collector push receivers', () => {
  test('401 without a token or with a bad one', async () => {
    for (const [path, type, body] of PUSH) {
      expect(`${path} ${(await push(path, type, body)).status}`).toBe(`${path} 401`);
      expect(`${path} ${(await push(path, type, body, { authorization: 'Bearer not-the-token-0000000' })).status}`).toBe(`${path} 401`);
    }
  });

  test('a token gets through to the receiver', async () => {
    for (const [path, type, body] of PUSH) {
      const res = await push(path, type, body, { authorization: `Bearer ${TOKEN}` });
      expect(`${path} ${res.status}`).toBe(`${path} 200`);
    }
  });

  test('a session cookie needs the CSRF token: a page on another site cannot push through the browser', async () => {
    const session = auth.login(TOKEN)!;
    const cookie = `pharos_session=${session.id}`;
    for (const [path, type, body] of PUSH) {
      expect(`${path} ${(await push(path, type, body, { cookie })).status}`).toBe(`${path} 403`);
      expect(`${path} ${(await push(path, type, body, { cookie, 'x-csrf-token': session.csrf })).status}`).toBe(`${path} 200`);
    }
  });
});
