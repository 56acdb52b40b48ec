/**
 * The contract between the real-time store and the PromQL engine: the engine asks for the series
 * matching a selector over a time range and gets their samples, oldest first. Labels include
 * `__name__`. Timestamps are ms since the epoch.
 */
export type Labels = Readonly<Record<string, string>>;

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  type: MatchType;
  value: string;
}

export interface SeriesSamples {
  labels: Labels;
  /** Sample timestamps, ascending. */
  timestamps: Float64Array;
  values: Float64Array;
  /** Timestamps (a subset of `timestamps`) that carry an explicit staleness marker. */
  staleAt?: ReadonlySet<number>;
}

export interface Querier {
  /** Series matching every matcher with at least one sample in [minT, maxT] (inclusive). */
  select(matchers: readonly LabelMatcher[], minT: number, maxT: number, signal?: AbortSignal): SeriesSamples[];
  /** Label names of series matching (all series when no matchers). */
  labelNames(matchers: readonly LabelMatcher[], minT: number, maxT: number): string[];
  labelValues(name: string, matchers: readonly LabelMatcher[], minT: number, maxT: number): string[];
  /** Label sets of series matching. */
  series(matchers: readonly LabelMatcher[], minT: number, maxT: number): Labels[];
}
