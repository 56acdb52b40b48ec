import { describe, expect, it } from 'vitest';
import { Head } from './head.js';
import { labelsKey, sameLabels, sampleHash, seriesLabels } from './labels.js';

describe('series labels', () => {
  it('hashes a label set regardless of key order, ignoring empty values and a stray __name__', () => {
    expect(sampleHash('up', { b: '1', a: '2', c: '' })).toBe(sampleHash('up', { a: '2', b: '1' }));
    expect(sampleHash('up', { __name__: 'other', a: '2' })).toBe(sampleHash('up', { a: '2' }));
    expect(sampleHash('up', { a: 'b' })).not.toBe(sampleHash('up', { ab: '' }));
  });

  it('compares a sample with a stored label set exactly', () => {
    const stored = seriesLabels('up', { b: '1', a: '2', c: '' });
    expect(Object.keys(stored)).toEqual(['__name__', 'a', 'b']);
    expect(sameLabels(stored, 3, 'up', { a: '2', b: '1' })).toBe(true);
    expect(sameLabels(stored, 3, 'up', { a: '2', b: '1', c: '' })).toBe(true);
    expect(sameLabels(stored, 3, 'up', { a: '2' })).toBe(false);
    expect(sameLabels(stored, 3, 'up', { a: '2', b: '1', toString: 'x' })).toBe(false);
    expect(sameLabels(stored, 3, 'down', { a: '2', b: '1' })).toBe(false);
  });

  it('orders keys as Prometheus orders label sets and keeps a label named __proto__ as data', () => {
    expect(labelsKey(seriesLabels('a', { b: 'c' })) < labelsKey(seriesLabels('a', { b: 'c', d: 'e' }))).toBe(true);
    const l = seriesLabels('up', JSON.parse('{"__proto__": "x"}') as Record<string, string>);
    expect(Object.keys(l)).toEqual(['__name__', '__proto__']);
    expect(l.__proto__).toBe('x');
  });

  it('keeps two series apart when their hashes collide', () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const h = sampleHash('m', { id: String(i) });
      const prev = seen.get(h);
      if (prev !== undefined) pair = [prev, String(i)];
      seen.set(h, String(i));
    }
    const head = new Head();
    expect(head.append({ name: 'm', labels: { id: pair[0] }, timestampMs: 1, value: 1, type: 'gauge' }).ok).toBe(true);
    expect(head.append({ name: 'm', labels: { id: pair[1] }, timestampMs: 1, value: 2, type: 'gauge' }).ok).toBe(true);
    expect(head.append({ name: 'm', labels: { id: pair[1] }, timestampMs: 2, value: 3, type: 'gauge' }).ok).toBe(true);
    expect(head.numSeries).toBe(2);
    head.truncate(head.windowMs + 1.5); // drops the series whose last sample is at 1
    expect(head.numSeries).toBe(1);
    expect(head.append({ name: 'm', labels: { id: pair[1] }, timestampMs: 3, value: 4, type: 'gauge' }).ok).toBe(true);
    expect(head.numSeries).toBe(1);
  });
});
