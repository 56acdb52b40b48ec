/**
 * The live tail's fan-out. Records enter once (from the bus or the warehouse poller) into the
 * ring; each distinct filter is one upstream matcher evaluated once per record, and its matches go
 * to every viewer of that filter. A hundred viewers of one service cost one evaluation per record.
 */
import type { LogRow } from '../../../core/model/log-search.js';
import type { CompiledLogFilter } from './log-filter.js';
import { LogRing, type RingEntry } from './log-ring.js';

export interface LogViewer {
  deliver(entries: readonly RingEntry[]): void;
}

interface Upstream {
  filter: CompiledLogFilter;
  viewers: Set<LogViewer>;
}

export interface CatchUp {
  entries: RingEntry[];
  /** Records the ring no longer held between the resume point and its oldest entry. */
  missed: number;
}

export class LogHub {
  readonly ring: LogRing;
  private readonly upstreams = new Map<string, Upstream>();
  /** Called after each publish with the entries appended (latency metrics, tests). */
  onPublished: ((entries: readonly RingEntry[]) => void) | undefined;

  constructor(ringSize: number) {
    this.ring = new LogRing(ringSize);
  }

  get upstreamCount(): number {
    return this.upstreams.size;
  }

  get viewerCount(): number {
    let n = 0;
    for (const u of this.upstreams.values()) n += u.viewers.size;
    return n;
  }

  publish(rows: readonly LogRow[], receivedMs = Date.now()): void {
    if (rows.length === 0) return;
    const entries = rows.map((r) => this.ring.append(r, receivedMs));
    for (const u of this.upstreams.values()) {
      const matched = entries.filter((e) => u.filter.matches(e.row));
      if (matched.length === 0) continue;
      for (const v of u.viewers) v.deliver(matched);
    }
    this.onPublished?.(entries);
  }

  /**
   * Adds a viewer of `filter`, first handing it what the ring holds after `afterOffset` (matching
   * entries only). Synchronous with publish, so nothing falls between catch-up and live.
   */
  subscribe(filter: CompiledLogFilter, viewer: LogViewer, afterOffset: number): { catchUp: CatchUp; stop(): void } {
    let u = this.upstreams.get(filter.key);
    if (!u) this.upstreams.set(filter.key, (u = { filter, viewers: new Set() }));
    const { entries, missed } = this.ring.after(afterOffset);
    const upstream = u;
    upstream.viewers.add(viewer);
    return {
      catchUp: { entries: entries.filter((e) => upstream.filter.matches(e.row)), missed },
      stop: () => {
        upstream.viewers.delete(viewer);
        if (upstream.viewers.size === 0 && this.upstreams.get(filter.key) === upstream) this.upstreams.delete(filter.key);
      },
    };
  }
}
