/**
 * The browser side of `/api/live` (dashboard/server/live/PROTOCOL.md), shared by every view of a
 * tab: one WebSocket per tab (per credential), subscriptions multiplexed over it by id. After a
 * lost connection it reconnects with backoff and re-sends each subscription as its owner builds it
 * then — so a logs tail can ask to resume from its last offset, and a chart just subscribes again.
 * The socket closes when its last subscription ends.
 */

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'refused';

/** A server → client frame; `id` names the subscription it is for (absent on socket-wide errors). */
export interface LiveMessage {
  type: string;
  id?: string;
  [key: string]: unknown;
}

export interface LiveHandlers {
  /** Every frame for this subscription (and socket-wide errors). */
  message(msg: LiveMessage): void;
  /** Socket state; 'live' is left to the owner, who sees its own `subscribed` frame. */
  status(status: Exclude<ConnectionStatus, 'live'>, detail?: string): void;
}

export interface LiveSubscription {
  readonly id: string;
  close(): void;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

interface Entry {
  /** The subscribe frame without `type` and `id`; called on every (re)connect. */
  build: () => Record<string, unknown>;
  handlers: LiveHandlers;
}

class LiveSocket {
  private ws: WebSocket | undefined;
  private readonly subs = new Map<string, Entry>();
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly token: string | null,
    private readonly onEmpty: () => void,
  ) {}

  add(id: string, entry: Entry): void {
    this.subs.set(id, entry);
    if (this.stopped) entry.handlers.status('unauthorized');
    // No socket yet, or one the server refused earlier: (re)connect for the newcomer.
    else if ((!this.ws || this.ws.readyState === WebSocket.CLOSED) && this.timer === undefined) this.connect();
    else if (this.ws?.readyState === WebSocket.OPEN) this.send(id, entry);
    else entry.handlers.status(this.attempts === 0 ? 'connecting' : 'reconnecting');
  }

  remove(id: string): void {
    if (!this.subs.delete(id)) return;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'unsubscribe', id }));
    if (this.subs.size === 0) {
      this.stopped = true;
      clearTimeout(this.timer);
      this.ws?.close(1000, 'no subscriptions');
      this.onEmpty();
    }
  }

  private broadcast(status: Exclude<ConnectionStatus, 'live'>, detail?: string): void {
    for (const e of this.subs.values()) e.handlers.status(status, detail);
  }

  private send(id: string, entry: Entry): void {
    this.ws!.send(JSON.stringify({ ...entry.build(), type: 'subscribe', id }));
  }

  private connect(): void {
    this.timer = undefined;
    const url = new URL('/api/live', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.token) url.searchParams.set('access_token', this.token);
    this.broadcast(this.attempts === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempts = 0;
      for (const [id, entry] of this.subs) this.send(id, entry);
    };
    ws.onmessage = (ev) => this.onMessage(String(ev.data));
    ws.onclose = (ev) => {
      if (this.stopped || this.ws !== ws) return;
      if (ev.code === 1013 || ev.code === 4008) {
        this.broadcast('refused', ev.reason);
        return;
      }
      if (!opened) void this.checkAuth();
      this.retry();
    };
  }

  private retry(): void {
    const delay = BACKOFF_MS[Math.min(this.attempts++, BACKOFF_MS.length - 1)]!;
    this.broadcast('reconnecting');
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** A refused upgrade carries no status to the page: ask an ordinary endpoint why. */
  private async checkAuth(): Promise<void> {
    try {
      const res = await fetch('/api/whoami', { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
      if (res.status === 401 && !this.stopped) {
        this.stopped = true;
        clearTimeout(this.timer);
        this.broadcast('unauthorized');
      }
    } catch {
      // Unreachable: the retry loop goes on.
    }
  }

  private onMessage(text: string): void {
    let msg: LiveMessage;
    try {
      msg = JSON.parse(text) as LiveMessage;
    } catch {
      return;
    }
    if (msg.id === undefined) {
      for (const e of this.subs.values()) e.handlers.message(msg);
      return;
    }
    this.subs.get(msg.id)?.handlers.message(msg);
  }
}

const sockets = new Map<string, LiveSocket>();
let counter = 0;

/**
 * Subscribes over the tab's live socket. `build` returns the subscribe frame's fields (channel,
 * filter, query, resume…) and is called again after each reconnect.
 */
export function subscribeLive(token: string | null, prefix: string, build: () => Record<string, unknown>, handlers: LiveHandlers): LiveSubscription {
  const key = token ?? '';
  let socket = sockets.get(key);
  if (!socket) {
    const created = new LiveSocket(token, () => {
      if (sockets.get(key) === created) sockets.delete(key);
    });
    socket = created;
    sockets.set(key, socket);
  }
  const id = `${prefix}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const owner = socket;
  owner.add(id, { build, handlers });
  return { id, close: () => owner.remove(id) };
}
