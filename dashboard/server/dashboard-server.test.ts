import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configSchema } from '../../core/config/schema.js';
import { Authenticator } from '../../core/http/auth.js';
import { silentLogger } from '../../core/log.js';
import type { LogRow, LogSearch, LogSearchParams } from '../../core/model/log-search.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { startDashboard, type Dashboard } from './dashboard-server.js';
import type { LiveServerMessage } from './live/live-socket.js';
import { waitFor } from '../../test/harness/wait.js';

const TOKEN = 'viewer-token-0123456789abcdef';

/** The LogSearch contract over an array: window, words, service, host, newest first, limit. */
class FakeLogSearch implements LogSearch {
  readonly calls: LogSearchParams[] = [];
  constructor(readonly rows: LogRow[] = []) {}
  async search(p: LogSearchParams): Promise<LogRow[]> {
    this.calls.push(p);
    const words = (p.text ?? '').split(/\s+/).filter(Boolean);
    return this.rows
      .filter((r) => BigInt(r.timeUnixNano) >= p.fromNs && BigInt(r.timeUnixNano) < p.toNs)
      .filter((r) => words.every((w) => r.body.includes(w)))
      .filter((r) => (!p.service || r.serviceName === p.service) && (!p.host || r.hostName === p.host))
      .sort((a, b) => (BigInt(b.timeUnixNano) > BigInt(a.timeUnixNano) ? 1 : -1))
      .slice(0, p.limit);
  }
}

function row(agoMs: number, body: string, extra: Partial<LogRow> = {}): LogRow {
  const ns = (BigInt(Date.now() - agoMs) * 1_000_000n).toString();
  return {
    timeUnixNano: ns,
    observedTimeUnixNano: ns,
    severityText: 'INFO',
    severityNumber: 9,
    serviceName: 'api',
    hostName: 'pi-1',
    body,
    traceId: '',
    spanId: '',
    resourceAttributes: {},
    logAttributes: {},
    ...extra,
  };
}

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
});

function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'pharos-dash-'));
}

async function start(opts: { logs?: LogSearch; tokens?: boolean; staticDir?: string } = {}) {
  const config = configSchema.parse({
    dashboard: { listen: '127.0.0.1:0' },
    auth: opts.tokens ? { tokens: [{ name: 'grafana', role: 'viewer', token: TOKEN }] } : {},
  });
  const dashboard = await startDashboard({
    config,
    log: silentLogger(),
    registry: createRegistry(),
    auth: new Authenticator(config.auth),
    logs: opts.logs ?? new FakeLogSearch(),
    ready: () => true,
    staticDir: opts.staticDir ?? emptyDir(),
    livePollMs: 30,
  });
  running.push(dashboard);
  return { ...dashboard, url: `http://${dashboard.address}`, ws: `ws://${dashboard.address}` };
}

describe('GET /api/logs', () => {
  it('answers the rows of the last hour, newest first, with the window searched', async () => {
    const logs = new FakeLogSearch([row(5_000, 'older'), row(1_000, 'newer'), row(2 * 3600_000, 'too old')]);
    const d = await start({ logs });
    const res = await fetch(`${d.url}/api/logs`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; data: { rows: LogRow[]; from: string; to: string } };
    expect(body.status).toBe('success');
    expect(body.data.rows.map((r) => r.body)).toEqual(['newer', 'older']);
    const spanMs = Date.parse(body.data.to) - Date.parse(body.data.from);
    expect(spanMs).toBe(3600_000);
    expect(logs.calls[0]).toMatchObject({ limit: 100, text: undefined });
  });

  it('passes q, service, host and limit through, and resolves relative and absolute times', async () => {
    const logs = new FakeLogSearch([row(1000, 'disk full on /var', { hostName: 'pi-2' }), row(1000, 'disk ok', { hostName: 'pi-2' })]);
    const d = await start({ logs });
    const res = await fetch(`${d.url}/api/logs?q=${encodeURIComponent('disk full')}&service=api&host=pi-2&limit=5&from=now-15m&to=now`);
    const body = (await res.json()) as { data: { rows: LogRow[] } };
    expect(body.data.rows.map((r) => r.body)).toEqual(['disk full on /var']);
    const call = logs.calls[0]!;
    expect(call).toMatchObject({ text: 'disk full', service: 'api', host: 'pi-2', limit: 5 });
    expect(Number((call.toNs - call.fromNs) / 1_000_000n)).toBe(15 * 60_000);

    await fetch(`${d.url}/api/logs?from=2025-01-31T12:00:00.123456789Z&to=1738332000000`);
    expect(logs.calls[1]).toMatchObject({ fromNs: 1738324800123456789n, toNs: 1738332000000n * 1_000_000n });
  });

  it('answers 400 naming the parameter when from is not a time', async () => {
    const d = await start();
    const res = await fetch(`${d.url}/api/logs?from=yesterday`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { status: string; errorType: string; error: string };
    expect(body).toMatchObject({ status: 'error', errorType: 'bad_request' });
    expect(body.error).toMatch(/^invalid "from": "yesterday" is not a time; use RFC 3339/);
  });

  it('answers 400 for a limit out of range, a window ending before it starts and a repeated parameter', async () => {
    const d = await start();
    for (const [query, message] of [
      ['limit=1001', /invalid "limit"/],
      ['limit=0', /invalid "limit"/],
      ['limit=ten', /invalid "limit"/],
      ['from=now&to=now-1h', /invalid "from": it must be before "to"/],
      ['to=2025-02-30T00:00:00Z', /invalid "to"/],
      ['q=a&q=b', /invalid "q": give it at most once/],
    ] as const) {
      const res = await fetch(`${d.url}/api/logs?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
  });

  it('answers 401 when tokens are configured and none is sent, and rows with the token', async () => {
    const d = await start({ tokens: true, logs: new FakeLogSearch([row(1000, 'hello')]) });
    const anonymous = await fetch(`${d.url}/api/logs`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ status: 'error', errorType: 'unauthorized' });
    const withToken = await fetch(`${d.url}/api/logs`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(withToken.status).toBe(200);
  });

  it('answers a failing search with a JSON 500 that does not leak the error', async () => {
    const d = await start({
      logs: {
        search: async () => {
          throw new Error('Code: 60. Table pharos.otel_logs does not exist');
        },
      },
    });
    const res = await fetch(`${d.url}/api/logs`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ status: 'error', errorType: 'internal', error: 'internal server error' });
  });
});

describe('GET /api/whoami', () => {
  it('names the principal and its role', async () => {
    const d = await start({ tokens: true });
    const res = await fetch(`${d.url}/api/whoami`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await res.json()).toEqual({ status: 'success', data: { name: 'grafana', role: 'viewer', anonymous: false } });
  });
});

describe('the web app', () => {
  it('serves the built app without a token, with the SPA fallback for client routes', async () => {
    const dir = emptyDir();
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Pharos app</title>');
    writeFileSync(join(dir, 'assets', 'main-abc123.js'), 'console.log(1)');
    const d = await start({ tokens: true, staticDir: dir });
    const index = await fetch(`${d.url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('Pharos app');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const asset = await fetch(`${d.url}/assets/main-abc123.js`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await (await fetch(`${d.url}/alerts/silences`)).text()).toContain('Pharos app');
    expect((await fetch(`${d.url}/favicon.ico`)).status).toBe(404);
    // The API and /metrics stay behind the token: the fallback does not swallow them.
    expect((await fetch(`${d.url}/api/nothing`)).status).toBe(401);
    expect((await fetch(`${d.url}/metrics`)).status).toBe(401);
  });

  it('says to run npm run build when the app is not built', async () => {
    const d = await start({ staticDir: join(emptyDir(), 'missing') });
    const res = await fetch(`${d.url}/`);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('npm run build');
  });
});

describe('WebSocket /api/live', () => {
  function open(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; status: number }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve({ ws, status: 101 }));
      ws.once('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode ?? 0 }));
      ws.once('error', reject);
    });
  }

  function nextMessage(ws: WebSocket): Promise<LiveServerMessage> {
    return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()) as LiveServerMessage)));
  }

  it('refuses an upgrade without a token when tokens are configured', async () => {
    const d = await start({ tokens: true });
    expect((await open(`${d.ws}/api/live`)).status).toBe(401);
    expect((await open(`${d.ws}/api/live?access_token=wrong-token-0000000000`)).status).toBe(401);
  });

  it('refuses an upgrade from another site page', async () => {
    const d = await start();
    expect((await open(`${d.ws}/api/live`, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('answers a subscription with its history, then only rows newer than those sent (polling the warehouse without a bus)', async () => {
    const logs = new FakeLogSearch([row(2000, 'boot'), row(1000, 'ready')]);
    const d = await start({ tokens: true, logs });
    const { ws, status } = await open(`${d.ws}/api/live?access_token=${TOKEN}`);
    expect(status).toBe(101);
    try {
      const messages: LiveServerMessage[] = [];
      ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as LiveServerMessage));
      ws.send(JSON.stringify({ type: 'subscribe', id: 't1', channel: 'logs' }));
      await waitFor('history', () => messages.find((m) => m.type === 'history'));
      expect(messages[0]).toMatchObject({ type: 'subscribed', id: 't1', channel: 'logs', source: 'warehouse poll' });
      expect(messages.find((m) => m.type === 'history')).toEqual({ type: 'history', id: 't1', rows: [expect.objectContaining({ body: 'ready' }), expect.objectContaining({ body: 'boot' })] });

      // The shared poll starts from "now" after the first subscription: let it take its first look.
      await waitFor('the poller started', () => logs.calls.length >= 3);
      logs.rows.push(row(0, 'request served'), row(0, 'health check', { serviceName: 'probe' }));
      const liveRows = () => messages.flatMap((m) => (m.type === 'logs' ? m.rows : []));
      const live = await waitFor('both live rows', () => (liveRows().length >= 2 ? liveRows() : null));
      expect(live.map((r) => r.body).sort()).toEqual(['health check', 'request served']);
      expect(live.every((r) => r.offset > 0)).toBe(true);
    } finally {
      ws.close();
    }
  });

  it('filters the live rows on the server and answers an unknown message with an error', async () => {
    const d = await start();
    const { ws } = await open(`${d.ws}/api/live`);
    try {
      const bad = nextMessage(ws);
      ws.send('{"type":"subscribe","id":"x","channel":"metrics"}');
      expect(await bad).toMatchObject({ type: 'error', id: 'x', code: 'bad_message' });
      const messages: LiveServerMessage[] = [];
      ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as LiveServerMessage));
      ws.send(JSON.stringify({ type: 'subscribe', id: 'x', channel: 'logs', filter: { text: '500' }, history: 0 }));
      await waitFor('subscribed', () => messages.some((m) => m.type === 'subscribed'));
      d.live.logHub.publish([row(0, 'GET /a 200'), row(0, 'GET /b 500')]);
      const got = await waitFor('the matching row', () => messages.find((m) => m.type === 'logs'));
      expect(got.type === 'logs' && got.rows.map((r) => r.body)).toEqual(['GET /b 500']);
    } finally {
      ws.close();
    }
  });
});
