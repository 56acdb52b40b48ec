/**
 * One logs subscription of `/api/live` (dashboard/server/live/PROTOCOL.md) over the tab's shared
 * live socket (ui/live-client.ts): keeps the epoch and last offset it received, and after a lost
 * connection resumes from that offset — so nothing is shown twice and what the server could no
 * longer keep is reported as a gap, not silently skipped.
 */
import { subscribeLive, type ConnectionStatus, type LiveMessage, type LiveSubscription } from '../../../ui/live-client.js';
import type { LogRow } from '../api.js';

export type { ConnectionStatus } from '../../../ui/live-client.js';

export interface LogFilter {
  service?: string;
  host?: string;
  minSeverity?: number;
  text?: string;
}

export type LiveRow = LogRow & { offset: number };

export interface LiveEvents {
  status(status: ConnectionStatus, detail?: string): void;
  history(rows: LogRow[]): void;
  rows(rows: LiveRow[]): void;
  dropped(count: number): void;
  gap(missed: number | null, reason: string): void;
  error(message: string): void;
  subscribed(info: { source?: string }): void;
}

export class LiveLogConnection {
  private epoch: string | undefined;
  private lastOffset = 0;
  private readonly sub: LiveSubscription;

  constructor(
    private readonly filter: LogFilter,
    token: string | null,
    private readonly on: LiveEvents,
  ) {
    this.sub = subscribeLive(
      token,
      'tail',
      () => ({ channel: 'logs', filter: this.filter, ...(this.epoch !== undefined ? { resume: { epoch: this.epoch, offset: this.lastOffset } } : {}) }),
      { status: (s, detail) => this.on.status(s, detail), message: (msg) => this.onMessage(msg) },
    );
  }

  close(): void {
    this.sub.close();
  }

  private onMessage(msg: LiveMessage): void {
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
