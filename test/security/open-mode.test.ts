/**
 * Without auth.tokens every request is anonymous: servers then refuse to bind anything but
 * loopback, and say so at start.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { configSchema } from '../../core/config/schema.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer, type ServiceServer } from '../../core/http/service-server.js';
import { createLogger } from '../../core/log.js';
import { createRegistry } from '../../core/telemetry/registry.js';

const servers: ServiceServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function start(listen: string, out: PassThrough) {
  return startServiceServer({
    name: 'dashboard',
    listen,
    registry: createRegistry(),
    auth: new Authenticator(configSchema.parse({}).auth),
    log: createLogger({ destination: out, level: 'info' }),
    ready: () => true,
  });
}

describe('open mode', () => {
  test('binding all interfaces without tokens is refused, naming the fix', async () => {
    await expect(start('0.0.0.0:0', new PassThrough())).rejects.toThrow(/dashboard: no auth configured: bind to 127\.0\.0\.1 or configure auth\.tokens/);
  });

  test('on loopback it starts and warns that it is open and loopback only', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const s = await start('127.0.0.1:0', out);
    servers.push(s);
    await new Promise((r) => setImmediate(r));
    const line = text.split('\n').find((l) => l.includes('no auth configured'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 40, auth: 'open (loopback only)', msg: expect.stringMatching(/listens on loopback only \(127\.0\.0\.1:\d+\)/) });
    // Anonymous requests are served, with the anonymous role.
    const me = await fetch(`http://${s.address}/metrics`);
    expect(me.status).toBe(200);
  });
});
