/**
 * The Querier the PromQL engine reads through (storage.ts): postings narrow the series, chunks
 * overlapping the range come from the head's decoded-chunk cache and are copied out (callers own
 * what they get), and series come back sorted by labels, as Prometheus's storage returns them.
 */
import type { LabelMatcher, Labels, Querier, SeriesSamples } from '../storage.js';
import type { DecodedChunk } from './decoded-chunks.js';
import type { ChangeTracker, Head, MemSeries } from './head.js';
import { lowerBound, upperBound } from './sorted-search.js';

export class HeadQuerier implements Querier {
  /** (decoded chunk, lo, hi) triples of the select being read, reused across selects. */
  private readonly parts: Array<DecodedChunk | number> = [];

  constructor(private readonly head: Head) {}

  /** Lets the engine's result cache see appends and drops (promql/result-cache.ts). */
  trackChanges(): { tracker: ChangeTracker; stop: () => void } {
    const head = this.head;
    const tracker = head.trackChanges();
    return { tracker, stop: () => head.untrack(tracker) };
  }

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number, signal?: AbortSignal): SeriesSamples[] {
    // First find every series' slices of decoded chunks, then copy them all into one allocation
    // (two per series dominated before). Series whose slices come from the same shared timestamp
    // arrays (scraped together) share one timestamps array, which the engine recognises.
    const parts = this.parts;
    parts.length = 0;
    const found: Found[] = [];
    const byFirstTimestamps = new Map<Float64Array, Found[]>();
    let values = 0;
    let timestamps = 0;
    for (const series of this.matching(matchers, minT, maxT)) {
      // A long select yields to nothing (it is synchronous), so the caller's deadline is checked here.
      signal?.throwIfAborted();
      const from = parts.length;
      const n = this.collect(series, minT, maxT);
      if (n === 0) continue;
      const f: Found = { series, from, to: parts.length, n, sameAs: null, timestamps: null };
      const firstT = (parts[from] as DecodedChunk).t;
      const candidates = byFirstTimestamps.get(firstT);
      f.sameAs = candidates?.find((c) => sameTimestamps(parts, c, f)) ?? null;
      if (!f.sameAs) {
        if (candidates) candidates.push(f);
        else byFirstTimestamps.set(firstT, [f]);
        timestamps += n;
      }
      found.push(f);
      values += n;
    }
    const buf = new Float64Array(timestamps + values);
    const out: SeriesSamples[] = [];
    let tAt = 0;
    let vAt = timestamps;
    for (const f of found) {
      let ts = f.sameAs?.timestamps ?? null;
      const copyTimestamps = ts === null;
      if (ts === null) {
        ts = buf.subarray(tAt, tAt + f.n);
        tAt += f.n;
      }
      f.timestamps = ts;
      const vs = buf.subarray(vAt, vAt + f.n);
      vAt += f.n;
      let staleAt: Set<number> | undefined;
      let k = 0;
      for (let p = f.from; p < f.to; p += 3) {
        const d = parts[p] as DecodedChunk;
        const lo = parts[p + 1] as number;
        const hi = parts[p + 2] as number;
        if (copyTimestamps) ts.set(lo === 0 && hi === d.t.length ? d.t : d.t.subarray(lo, hi), k);
        vs.set(lo === 0 && hi === d.v.length ? d.v : d.v.subarray(lo, hi), k);
        const stale = d.stale;
        if (stale) for (let i = lo; i < hi; i++) if (stale[i]) (staleAt ??= new Set()).add(d.t[i]!);
        k += hi - lo;
      }
      const result: SeriesSamples = { labels: f.series.labels, timestamps: ts, values: vs };
      if (staleAt) result.staleAt = staleAt;
      out.push(result);
    }
    parts.length = 0;
    return out;
  }

  labelNames(matchers: readonly LabelMatcher[], minT: number, maxT: number): string[] {
    const names = new Set<string>();
    for (const series of this.matching(matchers, minT, maxT)) for (const k in series.labels) names.add(k);
    return [...names].sort();
  }

  labelValues(name: string, matchers: readonly LabelMatcher[], minT: number, maxT: number): string[] {
    const values = new Set<string>();
    for (const series of this.matching(matchers, minT, maxT)) {
      const v = series.labels[name];
      if (v !== undefined) values.add(v);
    }
    return [...values].sort();
  }

  series(matchers: readonly LabelMatcher[], minT: number, maxT: number): Labels[] {
    return this.matching(matchers, minT, maxT).map((s) => s.labels);
  }

  /** Series matching every matcher whose chunks overlap [minT, maxT], sorted by labels. */
  private matching(matchers: readonly LabelMatcher[], minT: number, maxT: number): MemSeries[] {
    const out: MemSeries[] = [];
    for (const id of this.head.postings.select(matchers)) {
      const s = this.head.getById(id);
      if (s && s.overlaps(minT, maxT)) out.push(s);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Queues the series' decoded slices inside [minT, maxT]; returns how many samples they hold. */
  private collect(series: MemSeries, minT: number, maxT: number): number {
    const cache = this.head.decoded;
    let n = 0;
    for (const c of series.sealed) {
      if (c.maxT < minT || c.minT > maxT) continue;
      n += this.addPart(cache.get(c), minT, maxT);
    }
    const open = series.open;
    if (open && open.maxT >= minT && open.minT <= maxT) n += this.addPart(cache.get(open), minT, maxT);
    return n;
  }

  /** Queues the chunk's samples inside [minT, maxT] for copying; returns how many. */
  private addPart(d: DecodedChunk, minT: number, maxT: number): number {
    const t = d.t;
    let lo = 0;
    let hi = t.length;
    if (hi === 0) return 0;
    if (t[0]! < minT) lo = lowerBound(t, minT);
    if (t[hi - 1]! > maxT) hi = upperBound(t, maxT);
    if (hi <= lo) return 0;
    this.parts.push(d, lo, hi);
    return hi - lo;
  }
}

interface Found {
  series: MemSeries;
  /** Its (decoded chunk, lo, hi) triples in `parts`. */
  from: number;
  to: number;
  n: number;
  /** An earlier series with the very same timestamp slices, whose timestamps array it takes. */
  sameAs: Found | null;
  timestamps: Float64Array | null;
}

/** Whether two series' slices are of the same timestamp arrays over the same index ranges. */
function sameTimestamps(parts: Array<DecodedChunk | number>, a: Found, b: Found): boolean {
  if (a.to - a.from !== b.to - b.from) return false;
  for (let i = 0; i < a.to - a.from; i += 3) {
    if ((parts[a.from + i] as DecodedChunk).t !== (parts[b.from + i] as DecodedChunk).t) return false;
    if (parts[a.from + i + 1] !== parts[b.from + i + 1] || parts[a.from + i + 2] !== parts[b.from + i + 2]) return false;
  }
  return true;
}

