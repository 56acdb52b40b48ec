/**
 * A small in-memory Querier for engine and API tests, standing in for the TSDB.
 */
import type { LabelMatcher, Labels, Querier, SeriesSamples } from '../storage.js';
import { compileRegex } from './value.js';

interface MemSeries {
  labels: Labels;
  t: number[];
  v: number[];
  stale: Set<number>;
}

export function matches(labels: Labels, matchers: readonly LabelMatcher[]): boolean {
  for (const m of matchers) {
    const v = labels[m.name] ?? '';
    switch (m.type) {
      case '=': if (v !== m.value) return false; break;
      case '!=': if (v === m.value) return false; break;
      case '=~': if (!compileRegex(m.value).test(v)) return false; break;
      case '!~': if (compileRegex(m.value).test(v)) return false; break;
    }
  }
  return true;
}

export class MemQuerier implements Querier {
  private readonly store = new Map<string, MemSeries>();
  /** Counts select() calls, so tests can see loads are shared. */
  selects = 0;

  private get(labels: Labels): MemSeries {
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = this.store.get(key);
    if (!s) this.store.set(key, (s = { labels: { ...labels }, t: [], v: [], stale: new Set() }));
    return s;
  }

  /** Appends a sample; samples of a series must be added in time order. */
  add(labels: Labels, t: number, v: number): this {
    const s = this.get(labels);
    s.t.push(t);
    s.v.push(v);
    return this;
  }

  /** Appends a Prometheus staleness marker. */
  addStale(labels: Labels, t: number): this {
    const s = this.get(labels);
    s.t.push(t);
    s.v.push(NaN);
    s.stale.add(t);
    return this;
  }

  clear(): void {
    this.store.clear();
  }

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number, signal?: AbortSignal): SeriesSamples[] {
    this.selects++;
    const out: SeriesSamples[] = [];
    for (const s of this.store.values()) {
      signal?.throwIfAborted();
      if (!matches(s.labels, matchers)) continue;
      let lo = 0;
      while (lo < s.t.length && s.t[lo]! < minT) lo++;
      let hi = lo;
      while (hi < s.t.length && s.t[hi]! <= maxT) hi++;
      if (hi === lo) continue;
      const stale = new Set<number>();
      for (let i = lo; i < hi; i++) if (s.stale.has(s.t[i]!)) stale.add(s.t[i]!);
      out.push({
        labels: s.labels,
        timestamps: Float64Array.from(s.t.slice(lo, hi)),
        values: Float64Array.from(s.v.slice(lo, hi)),
        ...(stale.size ? { staleAt: stale } : {}),
      });
    }
    return out;
  }

  private inRange(s: MemSeries, minT: number, maxT: number): boolean {
    return s.t.some((t) => t >= minT && t <= maxT);
  }

  matching(matchers: readonly LabelMatcher[], minT: number, maxT: number): MemSeries[] {
    return [...this.store.values()].filter((s) => matches(s.labels, matchers) && this.inRange(s, minT, maxT));
  }

  labelNames(matchers: readonly LabelMatcher[], minT: number, maxT: number): string[] {
    const names = new Set<string>();
    for (const s of this.matching(matchers, minT, maxT)) for (const n of Object.keys(s.labels)) names.add(n);
    return [...names].sort();
  }

  labelValues(name: string, matchers: readonly LabelMatcher[], minT: number, maxT: number): string[] {
    const vals = new Set<string>();
    for (const s of this.matching(matchers, minT, maxT)) {
      const v = s.labels[name];
      if (v !== undefined && v !== '') vals.add(v);
    }
    return [...vals].sort();
  }

  series(matchers: readonly LabelMatcher[], minT: number, maxT: number): Labels[] {
    return this.matching(matchers, minT, maxT).map((s) => s.labels);
  }
}
