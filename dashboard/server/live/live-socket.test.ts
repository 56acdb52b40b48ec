/** The live hub over a real loopback WebSocket: resume, gaps, limits, shared upstreams, slow clients. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configSchema } from '../../../core/config/schema.js';
import { Authenticator } from '../../../core/http/auth.js';
import { silentLogger } from '../../../core/log.js';
import type { LogRow } from '../../../core/model/log-search.js';
import { createRegistry } from '../../../core/telemetry/registry.js';
import { waitFor } from '../../../test/harness/wait.js';
import { startDashboard, type Dashboard } from '../dashboard-server.js';
import type { LiveServerMessage } from './protocol.js';

function row(body: string, extra: Partial<LogRow> = {}): LogRow {
  const ns = (BigInt(Date.now()) * 1_000_000n).toString();
  return { timeUnixNano: ns, observedTimeUnixNano: ns, severityText: 'INFO', severityNumber: 9, serviceName: 'api', hostName: 'pi-1', body, traceId: '', spanId: '', resourceAttributes: {}, logAttributes: {}, ...extra };
}

const running: Dashboard[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((d) => d.close()));
});

async function start(live: Record<string, number> = {}) {
  const config = configSchema.parse({ dashboard: { listen: '127.0.0.1:0', live: { backfill_rows: 0, ...live } } });
  const d = await startDashboard({
    config,
    log: silentLogger(),
    registry: createRegistry(),
    auth: new Authenticator(config.auth),
    logs: { search: async () => [] },
    ready: () => true,
    staticDir: mkdtempSync(join(tmpdir(), 'pharos-live-')),
  });
  running.push(d);
  return d;
}

interface Conn {
  ws: WebSocket;
  messages: LiveServerMessage[];
  closed: Promise<{ code: number; reason: string }>;
  rows(id?: string): Array<LogRow & { offset: number }>;
  send(msg: unknown): void;
}

async function connect(d: Dashboard): Promise<Conn> {
  const ws = new WebSocket(`ws://${d.address}/api/live`);
  sockets.push(ws);
  const messages: LiveServerMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as LiveServerMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    closed,
    rows: (id) => messages.flatMap((m) => (m.type === 'logs' && (id === undefined || m.id === id) ? m.rows : [])),
    send: (msg) => ws.send(JSON.stringify(msg)),
  };
}

async function subscribed(c: Conn, id: string) {
  return waitFor(`subscribed ${id}`, () => c.messages.find((m) => m.type === 'subscribed' && m.id === id) as Extract<LiveServerMessage, { type: 'subscribed' }> | undefined);
}

async function metric(d: Dashboard, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://${d.address}/metrics`)).text();
  const m = line.exec(text);
  if (!m) throw new Error(`no ${line} in /metrics`);
  return Number(m[1]);
}

describe('live hub', () => {
  it('100 viewers of the same filter share 1 upstream subscription', async () => {
    const d = await start();
    const conns = await Promise.all(Array.from({ length: 100 }, () => connect(d)));
    conns.forEach((c, i) => c.send({ type: 'subscribe', id: 'tail', channel: 'logs', filter: i % 2 ? { service: 'api' } : { service: ' api' } }));
    const other = await connect(d);
    other.send({ type: 'subscribe', id: 'tail', channel: 'logs', filter: { service: 'web' } });
    await Promise.all([...conns, other].map((c) => subscribed(c, 'tail')));
    expect(await metric(d, /^pharos_dashboard_live_upstream_subscriptions\{channel="logs"\} (\d+)$/m)).toBe(2);
    expect(await metric(d, /^pharos_dashboard_live_clients (\d+)$/m)).toBe(101);

    d.live.logHub.publish([row('to api'), row('to web', { serviceName: 'web' })]);
    await waitFor('every viewer got its row', () => conns.every((c) => c.rows().length === 1) && other.rows().length === 1);
    expect(conns.every((c) => c.rows()[0]!.body === 'to api')).toBe(true);
    expect(other.rows().map((r) => r.body)).toEqual(['to web']);

    for (const c of conns) c.ws.close();
    await waitFor('one upstream left', async () => (await metric(d, /^pharos_dashboard_live_upstream_subscriptions\{channel="logs"\} (\d+)$/m)) === 1);
  });

  it('a reconnecting client resumes after its last offset without duplicates, or is told what it missed', async () => {
    const d = await start({ ring_size: 100 });
    const first = await connect(d);
    first.send({ type: 'subscribe', id: 't', channel: 'logs' });
    const { epoch } = await subscribed(first, 't');
    d.live.logHub.publish([row('one'), row('two')]);
    await waitFor('two rows', () => first.rows().length === 2);
    const last = first.rows()[1]!.offset;
    first.ws.close();

    d.live.logHub.publish([row('three'), row('four', { serviceName: 'web' })]);
    const again = await connect(d);
    again.send({ type: 'subscribe', id: 't', channel: 'logs', filter: { service: 'api' }, resume: { epoch, offset: last } });
    await subscribed(again, 't');
    d.live.logHub.publish([row('five')]);
    await waitFor('three and five', () => again.rows().length === 2);
    expect(again.rows().map((r) => r.body)).toEqual(['three', 'five']);
    expect(again.messages.some((m) => m.type === 'gap' || m.type === 'history')).toBe(false);

    // Past the ring's reach: told exactly how many records are gone.
    const lastSeen = again.rows()[1]!.offset;
    again.ws.close();
    d.live.logHub.publish(Array.from({ length: 130 }, (_, i) => row(`bulk ${i}`)));
    const late = await connect(d);
    late.send({ type: 'subscribe', id: 't', channel: 'logs', resume: { epoch, offset: lastSeen } });
    const gap = await waitFor('a gap', () => late.messages.find((m) => m.type === 'gap'));
    expect(gap).toMatchObject({ type: 'gap', id: 't', missed: 30 });
    await waitFor('the ring’s 100 rows', () => late.rows().length === 100);
    expect(late.rows()[0]!.body).toBe('bulk 30');

    // Another epoch (the server restarted): said, with no count.
    const other = await connect(d);
    other.send({ type: 'subscribe', id: 't', channel: 'logs', resume: { epoch: 'older', offset: 5 } });
    expect(await waitFor('a gap', () => other.messages.find((m) => m.type === 'gap'))).toMatchObject({ missed: null });
  });

  it('refuses a client beyond max_clients and a subscription beyond the limit with an error frame and a close code', async () => {
    const d = await start({ max_clients: 1, max_subscriptions_per_client: 2 });
    const one = await connect(d);
    const two = await connect(d);
    expect(await two.closed).toEqual({ code: 1013, reason: 'too many clients' });
    expect(two.messages[0]).toMatchObject({ type: 'error', code: 'too_many_clients', error: expect.stringContaining('max_clients') });

    one.send({ type: 'subscribe', id: 'a', channel: 'logs' });
    one.send({ type: 'subscribe', id: 'b', channel: 'alerts' });
    one.send({ type: 'subscribe', id: 'c', channel: 'logs' });
    expect(await one.closed).toEqual({ code: 4008, reason: 'too many subscriptions' });
    expect(one.messages.find((m) => m.type === 'error')).toMatchObject({ id: 'c', code: 'too_many_subscriptions' });
  });

  it('says why a series subscription cannot be served without the real-time store, and names a bad selector', async () => {
    const d = await start();
    const c = await connect(d);
    c.send({ type: 'subscribe', id: 's', channel: 'series', query: 'up' });
    expect(await waitFor('an error', () => c.messages.find((m) => m.type === 'error'))).toMatchObject({ id: 's', code: 'bad_subscription', error: expect.stringContaining('real-time store') });
  });

  it('a slow client gets a bounded queue: the oldest rows are dropped and it is told how many', async () => {
    const d = await start({ client_queue: 50, max_buffered_bytes: 16 * 1024 });
    const slow = await connect(d);
    slow.send({ type: 'subscribe', id: 't', channel: 'logs' });
    await subscribed(slow, 't');
    // Stop reading: the kernel buffers fill, then the server's send buffer, then the outbox.
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const body = 'x'.repeat(4096);
    const total = 6000;
    for (let i = 0; i < total; i += 200) {
      d.live.logHub.publish(Array.from({ length: 200 }, (_, j) => row(`${i + j} ${body}`)));
      await new Promise((r) => setTimeout(r, 5));
    }
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor('the last row', () => slow.rows().some((r) => r.body.startsWith(`${total - 1} `)), 20_000);
    const dropped = slow.messages.filter((m) => m.type === 'dropped').reduce((n, m) => n + (m.type === 'dropped' ? m.count : 0), 0);
    expect(dropped).toBeGreaterThan(0);
    // Every row is either received or counted as dropped: nothing vanishes silently.
    expect(slow.rows().length + dropped).toBe(total);
    expect(await metric(d, /^pharos_dashboard_live_dropped_total (\d+)$/m)).toBe(dropped);
  });
});
