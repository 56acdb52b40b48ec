/**
 * The recent log records of the live tail, in arrival order, each with a hub offset that only
 * grows. A reconnecting client names the last offset it saw: what the ring still holds is sent
 * again from there, and what it no longer holds is counted (the client is told the number).
 *
 * Offsets restart with the process; `epoch` tells the offsets of two runs apart.
 */
import { randomBytes } from 'node:crypto';
import type { LogRow } from '../../../core/model/log-search.js';

export interface RingEntry {
  offset: number;
  row: LogRow;
  /** When the hub received it, ms since the epoch (latency accounting, the start of a fresh tail). */
  receivedMs: number;
  /** The row as JSON with its offset, built once however many clients receive it. */
  json: string;
}

export type ReadFrom = { entries: RingEntry[]; missed: number };

export class LogRing {
  readonly epoch = randomBytes(6).toString('hex');
  private readonly slots: (RingEntry | undefined)[];
  /** Offset the next appended entry gets; offsets start at 1 so 0 means "nothing seen". */
  private next = 1;

  constructor(readonly capacity: number) {
    this.slots = new Array<RingEntry | undefined>(capacity);
  }

  /** Offset of the newest entry, 0 when empty. */
  get lastOffset(): number {
    return this.next - 1;
  }

  /** Offset of the oldest entry still held (lastOffset + 1 when empty). */
  get firstOffset(): number {
    return Math.max(1, this.next - this.capacity);
  }

  get size(): number {
    return this.next - this.firstOffset;
  }

  append(row: LogRow, receivedMs: number): RingEntry {
    const offset = this.next++;
    const entry: RingEntry = { offset, row, receivedMs, json: JSON.stringify({ offset, ...row }) };
    this.slots[offset % this.capacity] = entry;
    return entry;
  }

  /** Entries after `offset`, and how many after it were already overwritten. */
  after(offset: number, limit = Infinity): ReadFrom {
    const start = Math.max(offset + 1, this.firstOffset);
    const missed = Math.max(0, start - (offset + 1));
    const entries: RingEntry[] = [];
    for (let o = start; o <= this.lastOffset && entries.length < limit; o++) entries.push(this.slots[o % this.capacity]!);
    return { entries, missed };
  }

  /** Offset just before the first entry received at or after `ms` (where a fresh tail starts). */
  offsetBefore(ms: number): number {
    let o = this.lastOffset;
    while (o >= this.firstOffset && this.slots[o % this.capacity]!.receivedMs >= ms) o--;
    return Math.max(o, this.firstOffset - 1);
  }
}
