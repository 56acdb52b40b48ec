/**
 * A Querier over the real-time store plus one evaluation's recording-rule output. When recorded
 * samples are published to the metrics topic that feeds the same store, appending them locally
 * too would make them come back as `duplicate` rejections; instead the rest of the group reads
 * them from this overlay, and the store gets them once, from the topic.
 */
import type { LabelMatcher, Labels, Querier, SeriesSamples } from '../../pipeline/realtime/storage.js';

const key = (l: Labels) => JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Both series' samples in time order; at an equal timestamp the overlay's value wins. */
function merge(a: SeriesSamples, b: SeriesSamples): SeriesSamples {
  const ts: number[] = [];
  const vs: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.timestamps.length || j < b.timestamps.length) {
    const ta = i < a.timestamps.length ? a.timestamps[i]! : Infinity;
    const tb = j < b.timestamps.length ? b.timestamps[j]! : Infinity;
    if (tb <= ta) {
      ts.push(tb);
      vs.push(b.values[j++]!);
      if (ta === tb) i++;
    } else {
      ts.push(ta);
      vs.push(a.values[i++]!);
    }
  }
  const stale = new Set([...(a.staleAt ?? []), ...(b.staleAt ?? [])]);
  return { labels: a.labels, timestamps: Float64Array.from(ts), values: Float64Array.from(vs), ...(stale.size ? { staleAt: stale } : {}) };
}

export class OverlayQuerier implements Querier {
  constructor(
    private readonly base: Querier,
    private readonly overlay: Querier,
  ) {}

  select(matchers: readonly LabelMatcher[], minT: number, maxT: number, signal?: AbortSignal): SeriesSamples[] {
    const extra = this.overlay.select(matchers, minT, maxT, signal);
    const out = this.base.select(matchers, minT, maxT, signal);
    if (extra.length === 0) return out;
    const byKey = new Map(out.map((s, i) => [key(s.labels), i]));
    for (const s of extra) {
      const i = byKey.get(key(s.labels));
      if (i === undefined) out.push(s);
      else out[i] = merge(out[i]!, s);
    }
    return out;
  }

  labelNames(matchers: readonly LabelMatcher[], minT: number, maxT: number): string[] {
    return [...new Set([...this.base.labelNames(matchers, minT, maxT), ...this.overlay.labelNames(matchers, minT, maxT)])].sort();
  }

  labelValues(name: string, matchers: readonly LabelMatcher[], minT: number, maxT: number): string[] {
    return [...new Set([...this.base.labelValues(name, matchers, minT, maxT), ...this.overlay.labelValues(name, matchers, minT, maxT)])].sort();
  }

  series(matchers: readonly LabelMatcher[], minT: number, maxT: number): Labels[] {
    const seen = new Map<string, Labels>();
    for (const l of [...this.base.series(matchers, minT, maxT), ...this.overlay.series(matchers, minT, maxT)]) seen.set(key(l), l);
    return [...seen.values()];
  }
}
