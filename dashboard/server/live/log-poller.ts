/**
 * Rows newer than the last ones returned, asked of LogSearch on each call: the live tail's source
 * where no bus is configured (poll-feed.ts, one poller for every viewer). The warehouse's insert
 * batching (about a second) is then the latency floor; with a bus the tail reads it directly.
 */
import type { LogRow, LogSearch } from '../../../core/model/log-search.js';

export interface LiveLogFilter {
  q?: string | undefined;
  service?: string | undefined;
  host?: string | undefined;
}

/** What the first poll returns: the tail a user expects on opening a live view. */
const BACKLOG_ROWS = 100;
const BACKLOG_WINDOW_MS = 60 * 60 * 1000;
/** Per later poll. Beyond this many rows in one tick the oldest are skipped: a tail, not an export. */
const MAX_ROWS_PER_POLL = 1000;
const NS_PER_MS = 1_000_000n;

/** Event time, or the observed time for sources that give none (the warehouse sorts on the same). */
function rowTimeNs(row: LogRow): bigint {
  return BigInt(row.timeUnixNano !== '0' ? row.timeUnixNano : row.observedTimeUnixNano);
}

function rowKey(row: LogRow): string {
  return `${row.timeUnixNano}\u0000${row.serviceName}\u0000${row.hostName}\u0000${row.body}`;
}

export class LogPoller {
  private cursorNs: bigint | undefined;
  /** Rows already sent at exactly `cursorNs`: the next poll starts there again (inclusive). */
  private sentAtCursor = new Set<string>();

  constructor(
    private readonly logs: LogSearch,
    private readonly filter: LiveLogFilter,
    private readonly now: () => number = Date.now,
  ) {}

  /** Rows not returned before, newest first. The first call returns the recent backlog. */
  async poll(): Promise<LogRow[]> {
    const nowMs = this.now();
    // +1 ms: toNs is exclusive, and a row stamped this very millisecond belongs to this tick.
    const toNs = BigInt(nowMs + 1) * NS_PER_MS;
    const first = this.cursorNs === undefined;
    const rows = await this.logs.search({
      fromNs: this.cursorNs ?? BigInt(nowMs - BACKLOG_WINDOW_MS) * NS_PER_MS,
      toNs,
      text: this.filter.q || undefined,
      service: this.filter.service || undefined,
      host: this.filter.host || undefined,
      limit: first ? BACKLOG_ROWS : MAX_ROWS_PER_POLL,
    });
    const fresh = first ? rows : rows.filter((r) => rowTimeNs(r) !== this.cursorNs || !this.sentAtCursor.has(rowKey(r)));
    this.advance(fresh);
    return fresh;
  }

  private advance(rows: readonly LogRow[]): void {
    for (const row of rows) {
      const t = rowTimeNs(row);
      if (this.cursorNs === undefined || t > this.cursorNs) {
        this.cursorNs = t;
        this.sentAtCursor = new Set();
      }
      if (t === this.cursorNs) this.sentAtCursor.add(rowKey(row));
    }
    // An empty backlog still starts the cursor, so later polls ask only for what is new.
    this.cursorNs ??= BigInt(this.now() - BACKLOG_WINDOW_MS) * NS_PER_MS;
  }
}
