/**
 * `/api/live`: the dashboard's WebSocket. One socket per browser tab; the client subscribes to
 * channels on it. Today there is one channel, `logs`, fed by LogPoller.
 *
 * Protocol (JSON text frames):
 *   client → server  { type: 'subscribe', channel: 'logs', q?, service?, host? }   (replaces the previous one)
 *                    { type: 'unsubscribe', channel: 'logs' }
 *   server → client  { type: 'logs', rows }   rows newest first; the first message is the recent backlog
 *                    { type: 'error', error }
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { authenticateUpgrade, hasRole, type Authenticator } from '../../../core/http/auth.js';
import type { Logger } from '../../../core/log.js';
import type { LogRow, LogSearch } from '../../../core/model/log-search.js';
import { gauge, type Registry } from '../../../core/telemetry/registry.js';
import { LogPoller } from './log-poller.js';

export const LIVE_PATH = '/api/live';

const liveFilter = {
  q: z.string().max(1000).optional(),
  service: z.string().max(256).optional(),
  host: z.string().max(256).optional(),
};

export const clientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('subscribe'), channel: z.literal('logs'), ...liveFilter }),
  z.strictObject({ type: z.literal('unsubscribe'), channel: z.literal('logs') }),
]);
export type LiveClientMessage = z.infer<typeof clientMessage>;
export type LiveServerMessage = { type: 'logs'; rows: LogRow[] } | { type: 'error'; error: string };

export interface LiveSocketOptions {
  server: Server;
  auth: Authenticator;
  logs: LogSearch;
  log: Logger;
  registry: Registry;
  pollMs?: number;
}

/** A client whose unread output exceeds this is skipped on a tick; its cursor waits, nothing is lost. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const MAX_MESSAGE_BYTES = 64 * 1024;
const HEARTBEAT_MS = 30_000;

interface Client {
  ws: WebSocket;
  alive: boolean;
  subscription?: { stop(): void };
}

export function attachLiveSocket(opts: LiveSocketOptions): { close(): Promise<void> } {
  const { auth, log } = opts;
  const pollMs = opts.pollMs ?? 1000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const clients = new Set<Client>();
  gauge(opts.registry, 'pharos_dashboard_live_connections', 'Open WebSocket connections of the dashboard.', [], function () {
    this.set(clients.size);
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '/').split('?')[0];
    if (path !== LIVE_PATH) return refuse(socket, 404, 'not_found', `no WebSocket endpoint at ${path}`);
    const principal = authenticateUpgrade(auth, req);
    if (!principal) return refuse(socket, 401, 'unauthorized', 'a token is required (Authorization: Bearer, or ?access_token= on WebSocket)');
    if (!hasRole(principal, 'viewer')) return refuse(socket, 403, 'forbidden', 'viewer or above is required');
    // Browsers let any page open a WebSocket to any host (no CORS): refuse cross-site pages.
    if (!sameOrigin(req)) return refuse(socket, 403, 'forbidden', 'cross-origin WebSocket refused');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { ws, alive: true };
      clients.add(client);
      log.debug({ principal: principal.name }, 'live client connected');
      ws.on('pong', () => (client.alive = true));
      ws.on('message', (data, isBinary) => onMessage(client, isBinary ? null : data.toString()));
      ws.on('close', () => {
        client.subscription?.stop();
        clients.delete(client);
      });
      ws.on('error', (err) => log.debug({ err }, 'live client error'));
    });
  };
  opts.server.on('upgrade', onUpgrade);

  const send = (ws: WebSocket, msg: LiveServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };

  const onMessage = (client: Client, text: string | null) => {
    let parsed: unknown;
    try {
      parsed = text === null ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const msg = clientMessage.safeParse(parsed);
    if (!msg.success) {
      send(client.ws, { type: 'error', error: `unknown message; expected {"type":"subscribe","channel":"logs","q":"…"} or {"type":"unsubscribe","channel":"logs"}` });
      return;
    }
    client.subscription?.stop();
    delete client.subscription;
    if (msg.data.type === 'subscribe') client.subscription = subscribeLogs(client, msg.data);
  };

  const subscribeLogs = (client: Client, filter: { q?: string | undefined; service?: string | undefined; host?: string | undefined }) => {
    const poller = new LogPoller(opts.logs, filter);
    let busy = false;
    let stopped = false;
    // The first answer goes out even with no rows, so the client knows the subscription holds.
    let answered = false;
    let lastError = '';
    const tick = async () => {
      if (busy || stopped || client.ws.bufferedAmount > MAX_BUFFERED_BYTES) return;
      busy = true;
      try {
        const rows = await poller.poll();
        lastError = '';
        if (!stopped && (rows.length > 0 || !answered)) send(client.ws, { type: 'logs', rows });
        answered = true;
      } catch (err) {
        const error = `log search failed: ${(err as Error).message}`;
        // Once per streak: a warehouse outage must not write a line and a frame every second.
        if (error !== lastError) {
          log.warn({ err }, 'live log poll failed');
          if (!stopped) send(client.ws, { type: 'error', error });
        }
        lastError = error;
      } finally {
        busy = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), pollMs);
    return {
      stop() {
        stopped = true;
        clearInterval(timer);
      },
    };
  };

  // A peer that vanished without a FIN (laptop lid closed) would otherwise hold its poller forever.
  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    async close() {
      clearInterval(heartbeat);
      opts.server.off('upgrade', onUpgrade);
      for (const c of clients) {
        c.subscription?.stop();
        c.ws.terminate();
      }
      clients.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function refuse(socket: Duplex, status: number, errorType: string, error: string): void {
  const body = JSON.stringify({ status: 'error', errorType, error });
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="pharos"'] : []),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
