/**
 * The Querier the PromQL engine reads through (storage.ts): postings narrow the series, chunks
 * overlapping the range are decoded with one reused iterator, and series come back sorted by
 * labels, as Prometheus's storage returns them.
 */
import { XorIterator } from '../chunk/xor-chunk.js';
import type { LabelMatcher, Labels, Querier, SeriesSamples } from '../storage.js';
import type { Head, MemSeries } from './head.js';

export class HeadQuerier implements Querier {
  private readonly iter = new XorIterator();

  constructor(private readonly head: Head) {}

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number, signal?: AbortSignal): SeriesSamples[] {
    const out: SeriesSamples[] = [];
    for (const series of this.matching(matchers, minT, maxT)) {
      // A long select yields to nothing (it is synchronous), so the caller's deadline is checked here.
      signal?.throwIfAborted();
      const s = this.samples(series, minT, maxT);
      if (s) out.push(s);
    }
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

  private samples(series: MemSeries, minT: number, maxT: number): SeriesSamples | null {
    let capacity = 0;
    for (const c of series.sealed) if (c.maxT >= minT && c.minT <= maxT) capacity += c.numSamples;
    const open = series.open;
    if (open && open.maxT >= minT && open.minT <= maxT) capacity += open.numSamples;
    if (capacity === 0) return null;
    const out: Buffers = { timestamps: new Float64Array(capacity), values: new Float64Array(capacity), n: 0, staleAt: undefined };
    for (const c of series.sealed) if (c.maxT >= minT && c.minT <= maxT) this.read(c.bytes, minT, maxT, out);
    if (open && open.maxT >= minT && open.minT <= maxT) this.read(open.bytes(), minT, maxT, out);
    if (out.n === 0) return null;
    const result: SeriesSamples = { labels: series.labels, timestamps: out.timestamps.subarray(0, out.n), values: out.values.subarray(0, out.n) };
    if (out.staleAt) result.staleAt = out.staleAt;
    return result;
  }

  /** Appends the chunk's samples inside [minT, maxT] to `out` (a method, not a closure: this is the hot loop). */
  private read(bytes: Uint8Array, minT: number, maxT: number, out: Buffers): void {
    const it = this.iter;
    it.reset(bytes);
    if (!it.seek(minT)) return;
    const { timestamps, values } = out;
    let n = out.n;
    do {
      const t = it.t;
      if (t > maxT) break;
      timestamps[n] = t;
      values[n] = it.v;
      if (it.stale) (out.staleAt ??= new Set()).add(t);
      n++;
    } while (it.next());
    out.n = n;
  }
}

interface Buffers {
  timestamps: Float64Array;
  values: Float64Array;
  n: number;
  staleAt: Set<number> | undefined;
}
