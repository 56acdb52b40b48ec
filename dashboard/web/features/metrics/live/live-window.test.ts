import { describe, expect, test } from 'vitest';
import { fromPushed, isPlainSelector, mergeWindow, pointCount, snapToGrid } from './live-window.js';

describe('isPlainSelector', () => {
  test('vector selectors can be streamed', () => {
    for (const q of ['up', 'node_load1{instance="pi-1"}', '{__name__="up", job=~"n.*"}', ' x:y_z { a != "}" , } ']) expect(isPlainSelector(q), q).toBe(true);
  });
  test('anything computed cannot', () => {
    for (const q of ['rate(x[1m])', 'x[5m]', 'x offset 5m', 'sum(x)', 'x + 1', 'a{b="c"} * 2', '{}', '', 'by']) expect(isPlainSelector(q), q).toBe(false);
  });
});

describe('mergeWindow', () => {
  const base = { xs: [10, 20, 30], series: [{ label: 'up', values: [1, null, 1] }] };

  test('appends new points, adds new series, and drops what slid out of the window', () => {
    const out = mergeWindow(base, [{ label: 'up', points: [[40, 0]] }, { label: 'down', points: [[40, 5]] }], 20);
    expect(out.xs).toEqual([20, 30, 40]);
    expect(out.series).toEqual([
      { label: 'up', values: [null, 1, 0] },
      { label: 'down', values: [null, null, 5] },
    ]);
    expect(pointCount(out)).toBe(3);
    expect(base.xs).toEqual([10, 20, 30]);
  });

  test('a point at a held x replaces the value there', () => {
    expect(mergeWindow(base, [{ label: 'up', points: [[30, 7]] }], 0).series[0]!.values).toEqual([1, null, 7]);
  });

  test('pushed frames are in ms and staleness markers become gaps', () => {
    expect(fromPushed([{ labels: { __name__: 'up', job: 'a' }, points: [[41_000, 2], [42_000, null]] }])).toEqual([{ label: 'up{job="a"}', points: [[41, 2], [42, null]] }]);
  });
});

describe('snapToGrid', () => {
  test('samples land on the next step of the range grid, the latest of a step winning', () => {
    expect(snapToGrid([{ label: 'up', points: [[100.5, 1], [101, 2], [102.2, 3]] }], 99, 2)).toEqual([{ label: 'up', points: [[101, 2], [103, 3]] }]);
  });
});
