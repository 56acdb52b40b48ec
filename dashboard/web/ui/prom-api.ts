/**
 * The Prometheus-compatible API of the real-time store (`/api/v1/*`, same origin), typed.
 * Shared by every page that draws metrics; the envelope is the one `apiGet` already unwraps.
 */
import { apiGet } from './api-client.js';

export type Labels = Record<string, string>;
/** `[unix seconds, "value"]`: Prometheus sends values as strings so NaN and ±Inf survive JSON. */
export type PromSample = [number, string];

export interface InstantVector {
  resultType: 'vector';
  result: Array<{ metric: Labels; value: PromSample }>;
}
export interface RangeMatrix {
  resultType: 'matrix';
  result: Array<{ metric: Labels; values: PromSample[] }>;
}
export interface ScalarResult {
  resultType: 'scalar';
  result: PromSample;
}
export interface StringResult {
  resultType: 'string';
  result: PromSample;
}
export type InstantResult = InstantVector | ScalarResult | StringResult | RangeMatrix;

export function promQuery(query: string, time?: number, signal?: AbortSignal): Promise<InstantResult> {
  return apiGet<InstantResult>('/api/v1/query', { query, time }, signal);
}

export function promQueryRange(query: string, range: { start: number; end: number; step: number }, signal?: AbortSignal): Promise<RangeMatrix> {
  return apiGet<RangeMatrix>('/api/v1/query_range', { query, ...range }, signal);
}

export function promSeries(match: string, range: { start: number; end: number }, signal?: AbortSignal): Promise<Labels[]> {
  return apiGet<Labels[]>('/api/v1/series', { 'match[]': match, ...range }, signal);
}

/** `name{a="1", b="2"}`, as Prometheus prints a series. */
export function seriesName(metric: Labels): string {
  const { __name__: name = '', ...rest } = metric;
  const pairs = Object.keys(rest)
    .sort()
    .map((k) => `${k}="${rest[k]}"`);
  return pairs.length ? `${name}{${pairs.join(', ')}}` : name || '{}';
}

/** A step that gives about `points` points over the window, in whole seconds. */
export function stepFor(windowSeconds: number, points = 240): number {
  return Math.max(1, Math.ceil(windowSeconds / points));
}
