/**
 * Live series: subscribers name a PromQL vector selector and receive the samples the real-time
 * store's head appends from then on — never the range again (the page loads that once over
 * /api/v1/query_range). Subscribers of the same selector share one upstream: one postings lookup
 * and one decode per push, whatever the number of viewers. Only processes holding the head
 * (`pharos all`) offer it.
 */
import type { Labels } from '../../../pipeline/realtime/storage.js';
import { parseExpr } from '../../../pipeline/realtime/promql/parse.js';
import { HeadQuerier, type Head } from '../../../pipeline/realtime/tsdb/index.js';
import type { LabelMatcher } from '../../../pipeline/realtime/storage.js';
import { scopeMatchers, type LabelScope } from '../../../core/http/scope.js';
import type { SeriesPoints } from './protocol.js';

/** Pushes at most this often: the head appends per Kafka batch, charts do not need more. */
const PUSH_INTERVAL_MS = 250;
/** Samples this late (within the head's out-of-order tolerance) are still pushed. */
const LATE_MS = 30_000;
/** Series one selector pushes at most: no chart draws more, and a push must stay cheap. */
const MAX_SERIES = 500;

export interface SeriesViewer {
  deliver(series: SeriesPoints[]): void;
}

interface Upstream {
  matchers: LabelMatcher[];
  viewers: Set<SeriesViewer>;
  /** Last time pushed, per series. */
  last: Map<string, number>;
  startMs: number;
}

/** Parses a selector; throws a RangeError that names what is wrong. */
export function parseSelector(query: string, scope?: LabelScope): { key: string; matchers: LabelMatcher[] } {
  let expr;
  try {
    expr = parseExpr(query);
  } catch (err) {
    throw new RangeError(`invalid "query": ${(err as Error).message}`);
  }
  if (expr.type !== 'VectorSelector') throw new RangeError(`invalid "query": live series take a vector selector such as up{job="node"}, not a ${expr.type}`);
  if (expr.offsetMs !== 0 || expr.at) throw new RangeError('invalid "query": offset and @ have no meaning for live series');
  // A scoped viewer's selector is narrowed to its scope, as the Prometheus API does.
  const matchers = [...expr.matchers, ...scopeMatchers(scope)].sort((a, b) => (a.name + a.type + a.value < b.name + b.type + b.value ? -1 : 1));
  return { key: JSON.stringify(matchers.map((m) => [m.name, m.type, m.value])), matchers };
}

export class SeriesHub {
  private querier: HeadQuerier | undefined;
  private readonly upstreams = new Map<string, Upstream>();
  private timer: NodeJS.Timeout | undefined;
  private lastPush = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get available(): boolean {
    return this.querier !== undefined;
  }

  get upstreamCount(): number {
    return this.upstreams.size;
  }

  attach(head: Head): void {
    this.querier = new HeadQuerier(head);
  }

  subscribe(query: string, viewer: SeriesViewer, scope?: LabelScope): { stop(): void } {
    const { key, matchers } = parseSelector(query, scope);
    let u = this.upstreams.get(key);
    if (!u) this.upstreams.set(key, (u = { matchers, viewers: new Set(), last: new Map(), startMs: this.now() }));
    const upstream = u;
    upstream.viewers.add(viewer);
    return {
      stop: () => {
        upstream.viewers.delete(viewer);
        if (upstream.viewers.size === 0 && this.upstreams.get(key) === upstream) this.upstreams.delete(key);
      },
    };
  }

  /** The head appended samples (its onAppended hook): push, at most every PUSH_INTERVAL_MS. */
  appended(): void {
    if (this.timer || this.upstreams.size === 0) return;
    const wait = Math.max(0, this.lastPush + PUSH_INTERVAL_MS - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastPush = this.now();
      this.push();
    }, wait);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.upstreams.clear();
  }

  private push(): void {
    const q = this.querier;
    if (!q) return;
    const nowMs = this.now();
    for (const u of this.upstreams.values()) {
      const selected = q.select(u.matchers, Math.max(u.startMs, nowMs - LATE_MS), Number.MAX_SAFE_INTEGER);
      const out: SeriesPoints[] = [];
      for (const s of selected.slice(0, MAX_SERIES)) {
        const key = seriesKey(s.labels);
        const after = u.last.get(key) ?? u.startMs;
        const points: Array<[number, number | null]> = [];
        for (let i = 0; i < s.timestamps.length; i++) {
          const t = s.timestamps[i]!;
          if (t <= after) continue;
          points.push([t, s.staleAt?.has(t) ? null : s.values[i]!]);
        }
        if (points.length === 0) continue;
        u.last.set(key, points[points.length - 1]![0]);
        out.push({ labels: { ...s.labels }, points });
      }
      if (out.length === 0) continue;
      for (const v of u.viewers) v.deliver(out);
    }
  }
}

function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}
