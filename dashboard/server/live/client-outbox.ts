/**
 * What one WebSocket client has yet to receive. Bounded: at most `maxRows` rows (and as many
 * other messages) wait; past that the oldest are dropped and counted, and the client receives
 * `{type:"dropped", id, count}` before its next rows. Nothing is written while the socket holds
 * more than `maxBufferedBytes` unsent, so a slow reader costs this queue and no more.
 */
import type { WebSocket } from 'ws';
import type { RingEntry } from './log-ring.js';
import type { LiveServerMessage } from './protocol.js';

/** Rows per `logs` frame: big enough to amortise framing, small enough to keep frames under ~1 MB. */
const ROWS_PER_FRAME = 500;
const RETRY_MS = 25;

interface PendingRows {
  entries: RingEntry[];
  dropped: number;
}

export interface OutboxOptions {
  maxRows: number;
  maxBufferedBytes: number;
  /** Called with the number of rows or messages dropped (for the process's counter). */
  onDropped?: (n: number) => void;
  onSent?: (rows: number) => void;
}

export class ClientOutbox {
  private readonly messages: Array<{ id: string | undefined; text: string }> = [];
  private readonly rows = new Map<string, PendingRows>();
  private queuedRows = 0;
  private droppedMessages = new Map<string, number>();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: OutboxOptions,
  ) {}

  get pendingRows(): number {
    return this.queuedRows;
  }

  /** A control or data message other than log rows, in order. */
  message(msg: LiveServerMessage): void {
    if (this.closed) return;
    this.messages.push({ id: 'id' in msg ? msg.id : undefined, text: JSON.stringify(msg) });
    if (this.messages.length > this.opts.maxRows) {
      const old = this.messages.shift()!;
      if (old.id !== undefined) this.droppedMessages.set(old.id, (this.droppedMessages.get(old.id) ?? 0) + 1);
      this.opts.onDropped?.(1);
    }
    this.schedule();
  }

  rowsFor(id: string, entries: readonly RingEntry[]): void {
    if (this.closed || entries.length === 0) return;
    let pending = this.rows.get(id);
    if (!pending) this.rows.set(id, (pending = { entries: [], dropped: 0 }));
    for (const e of entries) pending.entries.push(e);
    this.queuedRows += entries.length;
    if (this.queuedRows > this.opts.maxRows) this.shed(this.queuedRows - this.opts.maxRows, pending);
    this.schedule();
  }

  /** Forgets what waits for a subscription that ended. */
  forget(id: string): void {
    const pending = this.rows.get(id);
    if (pending) this.queuedRows -= pending.entries.length;
    this.rows.delete(id);
    this.droppedMessages.delete(id);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.rows.clear();
    this.messages.length = 0;
    this.queuedRows = 0;
  }

  /** Drops the oldest rows: of the subscription that just grew, else of the longest queue. */
  private shed(n: number, first: PendingRows): void {
    let left = n;
    const candidates = [first, ...[...this.rows.values()].sort((a, b) => b.entries.length - a.entries.length)];
    for (const p of candidates) {
      if (left === 0) break;
      const k = Math.min(left, p.entries.length);
      if (k === 0) continue;
      p.entries.splice(0, k);
      p.dropped += k;
      this.queuedRows -= k;
      left -= k;
      this.opts.onDropped?.(k);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    // Rows published in one tick leave in one frame per subscription.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    this.timer = undefined;
    const ws = this.ws;
    if (this.closed || ws.readyState !== ws.OPEN) return;
    const room = () => ws.bufferedAmount < this.opts.maxBufferedBytes;
    for (const [id, count] of this.droppedMessages) {
      ws.send(JSON.stringify({ type: 'dropped', id, count } satisfies LiveServerMessage));
      this.droppedMessages.delete(id);
    }
    while (this.messages.length > 0 && room()) ws.send(this.messages.shift()!.text);
    let more = this.messages.length > 0;
    for (const [id, pending] of this.rows) {
      if (!room()) {
        more = true;
        break;
      }
      if (pending.dropped > 0) {
        ws.send(JSON.stringify({ type: 'dropped', id, count: pending.dropped } satisfies LiveServerMessage));
        pending.dropped = 0;
      }
      while (pending.entries.length > 0 && room()) {
        const batch = pending.entries.splice(0, ROWS_PER_FRAME);
        this.queuedRows -= batch.length;
        // Each row's JSON was built once in the ring; the frame is put together around it.
        ws.send(`{"type":"logs","id":${JSON.stringify(id)},"rows":[${batch.map((e) => e.json).join(',')}],"last":${batch[batch.length - 1]!.offset}}`);
        this.opts.onSent?.(batch.length);
      }
      if (pending.entries.length > 0) more = true;
      else this.rows.delete(id);
    }
    if (more) {
      this.scheduled = true;
      this.timer = setTimeout(() => this.flush(), RETRY_MS);
    }
  }
}
