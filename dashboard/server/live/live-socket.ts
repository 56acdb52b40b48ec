/**
 * `/api/live`: the dashboard's WebSocket hub. One socket per tab, multiplexed by subscription id
 * over three channels — `logs` (live tail with server-side filters), `series` (new samples of a
 * selector) and `alerts` (state changes). PROTOCOL.md beside this file is the reference.
 *
 * Log records come from the bus (startBusFeed) or, without one, from one shared poll of the
 * warehouse; history before the live rows comes from LogSearch. Slow clients cost a bounded
 * outbox each (ClientOutbox); the limits on clients and subscriptions answer with an error frame
 * and a close code, never with an empty view.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Bus } from '../../../core/bus/bus.js';
import type { PharosConfig } from '../../../core/config/schema.js';
import { authenticateUpgrade, hasRole, type Authenticator, type Principal } from '../../../core/http/auth.js';
import { PharosError } from '../../../core/errors.js';
import type { Logger } from '../../../core/log.js';
import { scopedSearch } from '../../../core/http/scoped-log-search.js';
import type { LogSearch, LogSearchParams } from '../../../core/model/log-search.js';
import { counter, gauge, type Registry } from '../../../core/telemetry/registry.js';
import type { Head } from '../../../pipeline/realtime/tsdb/index.js';
import { AlertHub } from './alert-hub.js';
import { startBusFeed, type BusFeed } from './bus-feed.js';
import { ClientOutbox } from './client-outbox.js';
import { compileLogFilter, type CompiledLogFilter } from './log-filter.js';
import { LogHub } from './log-hub.js';
import { startPollFeed } from './poll-feed.js';
import { CLOSE, clientMessage, LIVE_PATH, type LiveClientMessage, type LiveServerMessage } from './protocol.js';
import { SeriesHub } from './series-hub.js';

export { LIVE_PATH };
export type { LiveClientMessage, LiveServerMessage };

export type LiveConfig = PharosConfig['dashboard']['live'];

export interface LiveSocketOptions {
  server: Server;
  auth: Authenticator;
  logs: LogSearch;
  log: Logger;
  registry: Registry;
  config: LiveConfig;
  /** How often the warehouse is polled while no bus feeds the tail. */
  pollMs?: number;
}

/** The hub as the process wiring sees it: sources are attached as they come up. */
export interface LiveHub {
  /** Reads `pharos.logs` and `pharos.alerts` from the bus from now on (replaces the warehouse poll). */
  attachBus(bus: Bus, topics: { logs: string; alerts: string }): Promise<{ stop(): Promise<void> }>;
  /** Offers the `series` channel over this real-time store head. */
  attachHead(head: Head): void;
  /** The head appended samples: call from its onAppended hook. */
  seriesAppended(): void;
  readonly logHub: LogHub;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 64 * 1024;
const HEARTBEAT_MS = 30_000;
/** A fresh tail starts with what the ring received this long ago: lines not yet in the warehouse. */
const FRESH_OVERLAP_MS = 10_000;
const HISTORY_WINDOW_MS = 60 * 60 * 1000;
const NS_PER_MS = 1_000_000n;

interface Client {
  ws: WebSocket;
  principal: Principal;
  alive: boolean;
  outbox: ClientOutbox;
  subs: Map<string, { channel: string; stop(): void }>;
}

export function attachLiveSocket(opts: LiveSocketOptions): LiveHub {
  const { auth, log, config } = opts;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const clients = new Set<Client>();
  const logHub = new LogHub(config.ring_size);
  const seriesHub = new SeriesHub();
  const alertHub = new AlertHub();
  let source = 'warehouse poll';
  let pollFeed: { stop(): void } | undefined = startPollFeed({ logs: opts.logs, hub: logHub, log, pollMs: opts.pollMs ?? 1000 });
  let busFeed: BusFeed | undefined;

  gauge(opts.registry, 'pharos_dashboard_live_clients', 'Open WebSocket connections of the dashboard’s live hub.', [], function () {
    this.set(clients.size);
  });
  gauge(opts.registry, 'pharos_dashboard_live_upstream_subscriptions', 'Distinct upstream matchers of the live hub: viewers with the same filter share one.', ['channel'], function () {
    this.set({ channel: 'logs' }, logHub.upstreamCount);
    this.set({ channel: 'series' }, seriesHub.upstreamCount);
    this.set({ channel: 'alerts' }, alertHub.upstreamCount);
  });
  gauge(opts.registry, 'pharos_dashboard_live_subscriptions', 'Subscriptions of live clients.', ['channel'], function () {
    const n: Record<string, number> = { logs: 0, series: 0, alerts: 0 };
    for (const c of clients) for (const s of c.subs.values()) n[s.channel] = (n[s.channel] ?? 0) + 1;
    for (const [channel, v] of Object.entries(n)) this.set({ channel }, v);
  });
  const dropped = counter(opts.registry, 'pharos_dashboard_live_dropped_total', 'Rows and messages dropped for live clients that read too slowly.');
  const sent = counter(opts.registry, 'pharos_dashboard_live_rows_sent_total', 'Log rows written to live clients.');

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
      if (clients.size >= config.max_clients) {
        // Said on the socket, so the page can show it; 1013 tells a client to come back later.
        const error = `the dashboard serves at most ${config.max_clients} live connections (dashboard.live.max_clients) and all are in use`;
        ws.send(JSON.stringify({ type: 'error', code: 'too_many_clients', error } satisfies LiveServerMessage));
        ws.close(CLOSE.tooManyClients, 'too many clients');
        log.warn({ principal: principal.name, max_clients: config.max_clients }, 'live connection refused: too many clients');
        return;
      }
      const client: Client = {
        ws,
        principal,
        alive: true,
        subs: new Map(),
        outbox: new ClientOutbox(ws, {
          maxRows: config.client_queue,
          maxBufferedBytes: config.max_buffered_bytes,
          onDropped: (n) => dropped.inc(n),
          onSent: (n) => sent.inc(n),
        }),
      };
      clients.add(client);
      log.debug({ principal: principal.name }, 'live client connected');
      ws.on('pong', () => (client.alive = true));
      ws.on('message', (data, isBinary) => {
        try {
          onMessage(client, isBinary ? null : data.toString());
        } catch (err) {
          // A bug in one subscription must not take the dashboard down with it.
          log.error({ err }, 'live message handling failed');
          client.outbox.message({ type: 'error', code: 'internal', error: 'the server failed to handle this message; see its log' });
        }
      });
      ws.on('close', () => {
        for (const s of client.subs.values()) s.stop();
        client.subs.clear();
        client.outbox.close();
        clients.delete(client);
      });
      ws.on('error', (err) => log.debug({ err }, 'live client error'));
    });
  };
  opts.server.on('upgrade', onUpgrade);

  const onMessage = (client: Client, text: string | null) => {
    let parsed: unknown;
    try {
      parsed = text === null ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const msg = clientMessage.safeParse(parsed);
    if (!msg.success) {
      const id = typeof (parsed as { id?: unknown })?.id === 'string' ? (parsed as { id: string }).id : undefined;
      const where = msg.error.issues[0];
      client.outbox.message({
        type: 'error',
        ...(id ? { id } : {}),
        code: 'bad_message',
        error: `invalid message${where ? ` at "${where.path.join('.') || '(root)'}": ${where.message}` : ''}; see PROTOCOL.md (e.g. {"type":"subscribe","id":"t1","channel":"logs","filter":{"service":"api"}})`,
      });
      return;
    }
    const m = msg.data;
    const previous = client.subs.get(m.id);
    if (previous) {
      previous.stop();
      client.subs.delete(m.id);
      client.outbox.forget(m.id);
    }
    if (m.type === 'unsubscribe') return;
    if (client.subs.size >= config.max_subscriptions_per_client) {
      const error = `at most ${config.max_subscriptions_per_client} subscriptions per connection (dashboard.live.max_subscriptions_per_client); "${m.id}" refused`;
      client.ws.send(JSON.stringify({ type: 'error', id: m.id, code: 'too_many_subscriptions', error } satisfies LiveServerMessage));
      client.ws.close(CLOSE.tooManySubscriptions, 'too many subscriptions');
      return;
    }
    try {
      if (m.channel === 'logs') subscribeLogs(client, m);
      else if (m.channel === 'series') subscribeSeries(client, m.id, m.query);
      else subscribeAlerts(client, m.id);
    } catch (err) {
      const forbidden = err instanceof PharosError && err.code === 'forbidden';
      client.outbox.message({ type: 'error', id: m.id, code: forbidden ? 'forbidden' : 'bad_subscription', error: (err as Error).message });
    }
  };

  const subscribeLogs = (client: Client, m: Extract<LiveClientMessage, { channel: 'logs' }>) => {
    const scope = client.principal.scope;
    const filter = compileLogFilter(m.filter, scope);
    const { id } = m;
    const ring = logHub.ring;
    const resumes = m.resume !== undefined && m.resume.epoch === ring.epoch;
    client.outbox.message({ type: 'subscribed', id, channel: 'logs', epoch: ring.epoch, filter: filter.normalised, source });
    if (m.resume && !resumes) {
      client.outbox.message({ type: 'gap', id, missed: null, reason: 'the dashboard restarted since the last offset: what arrived meanwhile is unknown; history follows' });
    }
    const after = resumes ? m.resume!.offset : ring.offsetBefore(Date.now() - FRESH_OVERLAP_MS);
    const sub = logHub.subscribe(filter, { deliver: (entries) => client.outbox.rowsFor(id, entries) }, after);
    let stopped = false;
    client.subs.set(id, {
      channel: 'logs',
      stop: () => {
        stopped = true;
        sub.stop();
      },
    });
    if (sub.catchUp.missed > 0) {
      client.outbox.message({ type: 'gap', id, missed: sub.catchUp.missed, reason: `the ring (dashboard.live.ring_size ${ring.capacity}) no longer holds ${sub.catchUp.missed} records after offset ${after}` });
    }
    client.outbox.rowsFor(id, sub.catchUp.entries);
    const historyRows = m.history ?? config.backfill_rows;
    if (!resumes && historyRows > 0) void sendHistory(client, id, filter, historyRows, () => stopped);
  };

  const sendHistory = async (client: Client, id: string, filter: CompiledLogFilter, limit: number, stopped: () => boolean) => {
    const nowMs = Date.now();
    const f = filter.normalised;
    // attributes: the warehouse's LogSearch takes them (WarehouseLogSearchParams); others ignore them.
    const params: LogSearchParams & { attributes?: Record<string, string> } = {
      fromNs: BigInt(nowMs - HISTORY_WINDOW_MS) * NS_PER_MS,
      toNs: BigInt(nowMs + 1) * NS_PER_MS,
      text: f.text,
      service: f.service,
      host: f.host,
      minSeverity: f.minSeverity,
      ...(f.attributes ? { attributes: f.attributes } : {}),
      limit,
    };
    try {
      const rows = await scopedSearch((p: typeof params) => opts.logs.search(p), client.principal.scope)(params);
      if (!stopped()) client.outbox.message({ type: 'history', id, rows });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'live tail history failed');
      // The warehouse's own message may name tables and settings: it goes to the log, not the page.
      const forbidden = err instanceof PharosError && err.code === 'forbidden';
      const error = forbidden ? (err as Error).message : 'the history before the live lines could not be read from the warehouse (the dashboard’s log says why); live lines still arrive';
      if (!stopped()) client.outbox.message({ type: 'error', id, code: 'history_failed', error });
    }
  };

  const subscribeSeries = (client: Client, id: string, query: string) => {
    if (!seriesHub.available) {
      throw new Error('live series need the real-time store, which this process does not hold (it runs under `pharos all`); poll /api/v1/query_range instead');
    }
    const sub = seriesHub.subscribe(query, { deliver: (series) => client.outbox.message({ type: 'series', id, series }) }, client.principal.scope);
    client.subs.set(id, { channel: 'series', stop: sub.stop });
    client.outbox.message({ type: 'subscribed', id, channel: 'series' });
  };

  const subscribeAlerts = (client: Client, id: string) => {
    const sub = alertHub.subscribe({ deliver: (event) => client.outbox.message({ type: 'alert', id, event }), scope: client.principal.scope });
    client.subs.set(id, { channel: 'alerts', stop: sub.stop });
    client.outbox.message({ type: 'subscribed', id, channel: 'alerts', source: busFeed ? 'bus' : 'none (no bus attached: no alert events)' });
  };

  // A peer that vanished without a FIN (laptop lid closed) would otherwise hold its subscriptions forever.
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
    logHub,
    async attachBus(bus, topics) {
      const feed = await startBusFeed({ bus, logsTopic: topics.logs, alertsTopic: topics.alerts, logs: logHub, alerts: alertHub, log, registry: opts.registry });
      busFeed = feed;
      pollFeed?.stop();
      pollFeed = undefined;
      source = 'bus';
      return { stop: () => feed.stop() };
    },
    attachHead(head) {
      seriesHub.attach(head);
    },
    seriesAppended() {
      seriesHub.appended();
    },
    async close() {
      clearInterval(heartbeat);
      opts.server.off('upgrade', onUpgrade);
      pollFeed?.stop();
      seriesHub.stop();
      await busFeed?.stop().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'stopping the live bus reader failed'));
      for (const c of clients) {
        for (const s of c.subs.values()) s.stop();
        c.outbox.close();
        c.ws.close(CLOSE.shuttingDown, 'dashboard shutting down');
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
