/**
 * The browser side of `/api/live` for one logs subscription (dashboard/server/live/PROTOCOL.md):
 * connects with the saved token, keeps the epoch and last offset it received, and after a lost
 * connection reconnects with backoff and resumes from that offset — so nothing is shown twice
 * and what the server could no longer keep is reported as a gap, not silently skipped.
 */
import type { LogRow } from '../api.js';

export interface LogFilter {
  service?: string;
  host?: string;
  minSeverity?: number;
  text?: string;
}

export type LiveRow = LogRow & { offset: number };

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'refused';

export interface LiveEvents {
  status(status: ConnectionStatus, detail?: string): void;
  history(rows: LogRow[]): void;
  rows(rows: LiveRow[]): void;
  dropped(count: number): void;
  gap(missed: number | null, reason: string): void;
  error(message: string): void;
  subscribed(info: { source?: string }): void;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

export class LiveLogConnection {
  private ws: WebSocket | undefined;
  private epoch: string | undefined;
  private lastOffset = 0;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly id = `tail-${Math.random().toString(36).slice(2, 8)}`;

  constructor(
    private readonly filter: LogFilter,
    private readonly token: string | null,
    private readonly on: LiveEvents,
  ) {
    this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close(1000, 'page closed');
  }

  private connect(): void {
    const url = new URL('/api/live', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.token) url.searchParams.set('access_token', this.token);
    this.on.status(this.attempts === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempts = 0;
      const resume = this.epoch !== undefined ? { resume: { epoch: this.epoch, offset: this.lastOffset } } : {};
      ws.send(JSON.stringify({ type: 'subscribe', id: this.id, channel: 'logs', filter: this.filter, ...resume }));
    };
    ws.onmessage = (ev) => this.onMessage(String(ev.data));
    ws.onclose = (ev) => {
      if (this.closed || this.ws !== ws) return;
      if (ev.code === 1013 || ev.code === 4008) {
        this.on.status('refused', ev.reason);
        return;
      }
      if (!opened) void this.checkAuth();
      this.retry();
    };
  }

  private retry(): void {
    const delay = BACKOFF_MS[Math.min(this.attempts++, BACKOFF_MS.length - 1)]!;
    this.on.status('reconnecting');
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** A refused upgrade carries no status to the page: ask an ordinary endpoint why. */
  private async checkAuth(): Promise<void> {
    try {
      const res = await fetch('/api/whoami', { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
      if (res.status === 401 && !this.closed) {
        this.closed = true;
        clearTimeout(this.timer);
        this.on.status('unauthorized');
      }
    } catch {
      // Unreachable: the retry loop goes on.
    }
  }

  private onMessage(text: string): void {
    let msg: { type: string; id?: string; [k: string]: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    if (msg.id !== undefined && msg.id !== this.id) return;
    switch (msg.type) {
      case 'subscribed':
        this.epoch = msg.epoch as string;
        this.on.status('live');
        this.on.subscribed({ source: msg.source as string | undefined });
        break;
      case 'history':
        this.on.history(msg.rows as LogRow[]);
        break;
      case 'logs': {
        // Belt and braces: a resumed subscription starts after lastOffset anyway.
        const rows = (msg.rows as LiveRow[]).filter((r) => r.offset > this.lastOffset);
        this.lastOffset = Math.max(this.lastOffset, msg.last as number);
        if (rows.length) this.on.rows(rows);
        break;
      }
      case 'dropped':
        this.on.dropped(msg.count as number);
        break;
      case 'gap':
        // Offsets of another epoch mean nothing here: start counting again.
        if (msg.missed === null) this.lastOffset = 0;
        this.on.gap(msg.missed as number | null, msg.reason as string);
        break;
      case 'error':
        this.on.error(msg.error as string);
        break;
    }
  }
}
