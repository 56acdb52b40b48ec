import { describe, expect, it } from 'vitest';
import type { MetricSample } from '../../../core/model/records.js';
import { Head } from './head.js';
import { HeadQuerier } from './querier.js';
import { tsdbStatus } from './stats.js';

const T0 = 1_700_000_000_000;

function sample(name: string, labels: Record<string, string>, t: number, value: number, stale = false): MetricSample {
  return { name, labels, timestampMs: t, value, type: 'counter', ...(stale ? { stale } : {}) };
}

function read(head: Head, name: string, minT = -Infinity, maxT = Infinity) {
  return new HeadQuerier(head).select([{ name: '__name__', type: '=', value: name }], minT, maxT);
}

describe('head', () => {
  it('cuts a chunk every 120 samples and reads all samples back in order', () => {
    const head = new Head();
    for (let i = 0; i < 300; i++) expect(head.append(sample('c', { a: '1' }, T0 + i * 10_000, i)).ok).toBe(true);
    const s = [...head.allSeries()][0]!;
    expect(s.sealed.map((c) => c.numSamples)).toEqual([120, 120]);
    expect(s.open?.numSamples).toBe(60);
    const [got] = read(head, 'c');
    expect(Array.from(got!.timestamps)).toEqual(Array.from({ length: 300 }, (_, i) => T0 + i * 10_000));
    expect(Array.from(got!.values)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('returns only samples inside [minT, maxT], inclusive, and omits series with none there', () => {
    const head = new Head();
    for (let i = 0; i < 250; i++) head.append(sample('c', {}, T0 + i * 1000, i));
    head.append(sample('c', { other: 'x' }, T0, 1));
    const got = read(head, 'c', T0 + 119_000, T0 + 121_000);
    expect(got).toHaveLength(1);
    expect(Array.from(got[0]!.values)).toEqual([119, 120, 121]);
  });

  it('ignores an equal-timestamp duplicate and rejects samples older than the tolerance, counting why', () => {
    const head = new Head({ outOfOrderToleranceMs: 30_000 });
    head.append(sample('c', {}, T0 + 100_000, 1));
    expect(head.append(sample('c', {}, T0 + 100_000, 2))).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(head.append(sample('c', {}, T0 + 60_000, 3))).toMatchObject({ ok: false, reason: 'out_of_order' });
    expect(head.append(sample('c', {}, T0 + 80_000, 4)).ok).toBe(true);
    expect(head.append(sample('c', {}, T0 + 80_000, 5))).toMatchObject({ ok: false, reason: 'duplicate' });
    const [got] = read(head, 'c');
    expect(Array.from(got!.timestamps)).toEqual([T0 + 80_000, T0 + 100_000]);
    expect(Array.from(got!.values)).toEqual([4, 1]);
  });

  it('inserts a late sample within the tolerance into a sealed chunk', () => {
    const head = new Head({ outOfOrderToleranceMs: 3_600_000, samplesPerChunk: 4 });
    for (let i = 0; i < 10; i++) head.append(sample('c', {}, T0 + i * 10_000, i));
    expect(head.append(sample('c', {}, T0 + 15_000, 1.5)).ok).toBe(true);
    expect(head.append(sample('c', {}, T0 - 5_000, -1)).ok).toBe(true);
    const [got] = read(head, 'c');
    expect(Array.from(got!.values)).toEqual([-1, 0, 1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(head.memory().numSamples).toBe(12);
  });

  it('keeps explicit stale markers as such', () => {
    const head = new Head();
    head.append(sample('g', {}, T0, 1));
    head.append(sample('g', {}, T0 + 15_000, NaN, true));
    head.append(sample('g', {}, T0 + 30_000, NaN));
    const [got] = read(head, 'g');
    expect([...got!.staleAt!]).toEqual([T0 + 15_000]);
    expect(Number.isNaN(got!.values[2]!)).toBe(true);
  });

  it('drops chunks past the window, then the series left empty, and refuses samples older than the window', () => {
    const head = new Head({ windowMs: 3600_000, samplesPerChunk: 120 });
    for (let i = 0; i < 360; i++) head.append(sample('c', { k: 'old' }, T0 + i * 10_000, i)); // 1 h
    for (let i = 0; i < 10; i++) head.append(sample('c', { k: 'gone' }, T0 + i * 10_000, i));
    const before = head.memory();
    const res = head.truncate(T0 + 3600_000 + 1_300_000); // cutoff = T0 + 1300 s: the first chunk (0..1190 s) goes
    expect(res).toEqual({ removedSeries: 1, removedChunks: 2 });
    expect(head.numSeries).toBe(1);
    expect(head.postings.select([{ name: 'k', type: '=', value: 'gone' }])).toEqual([]);
    const [got] = read(head, 'c');
    expect(got!.timestamps[0]).toBe(T0 + 1_200_000);
    expect(head.memory().numSamples).toBe(240);
    expect(head.memory().totalBytes).toBeLessThan(before.totalBytes);
    expect(head.append(sample('c', { k: 'old' }, T0 + 1_000_000, 1))).toMatchObject({ ok: false, reason: 'too_old' });
  });

  it('rejects new series beyond the per-metric limit with an explanation, keeps appending to existing ones', () => {
    const head = new Head({ maxSeriesPerMetric: 2 });
    expect(head.append(sample('c', { i: '1' }, T0, 1)).ok).toBe(true);
    expect(head.append(sample('c', { i: '2' }, T0, 1)).ok).toBe(true);
    const res = head.append(sample('c', { i: '3' }, T0, 1));
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.reason).toBe('series_limit');
      expect(res.message).toMatch(/series limit of 2 per metric name reached for c: new series c\{i="3"\} rejected/);
    }
    expect(head.append(sample('c', { i: '1' }, T0 + 1, 2)).ok).toBe(true);
    expect(head.append(sample('other', { i: '3' }, T0, 1)).ok).toBe(true);
  });

  it('answers status/tsdb with series per metric, label value counts and head stats', () => {
    const head = new Head();
    for (let i = 0; i < 5; i++) head.append(sample('a', { pod: `p${i}`, job: 'x' }, T0 + i, 1));
    head.append(sample('b', { job: 'x' }, T0 + 100, 1));
    const st = tsdbStatus(head);
    expect(st.headStats).toEqual({ numSeries: 6, numLabelPairs: 2 + 5 + 1, chunkCount: 6, minTime: T0, maxTime: T0 + 100 });
    expect(st.seriesCountByMetricName).toEqual([
      { name: 'a', value: 5 },
      { name: 'b', value: 1 },
    ]);
    expect(st.labelValueCountByLabelName[0]).toEqual({ name: 'pod', value: 5 });
    expect(st.memoryInBytesByLabelName.find((x) => x.name === 'pod')).toEqual({ name: 'pod', value: 10 });
    expect(st.seriesCountByLabelValuePair[0]).toEqual({ name: 'job=x', value: 6 });
    expect(st.memory.numSamples).toBe(6);
  });

  it('answers label names, values and series for matchers and a time range', () => {
    const head = new Head();
    head.append(sample('a', { job: 'x', pod: 'p1' }, T0, 1));
    head.append(sample('a', { job: 'y' }, T0 + 60_000, 1));
    const q = new HeadQuerier(head);
    expect(q.labelNames([], T0, T0)).toEqual(['__name__', 'job', 'pod']);
    expect(q.labelValues('job', [], T0, T0 + 60_000)).toEqual(['x', 'y']);
    expect(q.series([{ name: 'job', type: '=~', value: 'x|y' }], T0 + 1, T0 + 60_000)).toEqual([{ __name__: 'a', job: 'y' }]);
  });

  it('stops a select when its signal is aborted', () => {
    const head = new Head();
    head.append(sample('a', {}, T0, 1));
    const ac = new AbortController();
    ac.abort(new Error('query timed out'));
    expect(() => new HeadQuerier(head).select([], 0, Infinity, ac.signal)).toThrow('query timed out');
  });
});
