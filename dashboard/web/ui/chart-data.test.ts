import { describe, expect, it } from 'vitest';
import { matrixToChart } from './chart-data.js';
import { seriesName, stepFor } from './prom-api.js';

describe('matrixToChart', () => {
  it('aligns series on one x column and leaves gaps as null, not zero', () => {
    const chart = matrixToChart({
      resultType: 'matrix',
      result: [
        { metric: { __name__: 'up', instance: 'a' }, values: [[10, '1'], [20, '1']] },
        { metric: { __name__: 'up', instance: 'b' }, values: [[20, '0'], [30, 'NaN']] },
      ],
    });
    expect(chart.xs).toEqual([10, 20, 30]);
    expect(chart.series).toEqual([
      { label: 'up{instance="a"}', values: [1, 1, null] },
      { label: 'up{instance="b"}', values: [null, 0, null] },
    ]);
  });
});

describe('seriesName', () => {
  it('prints labels sorted, the way Prometheus does', () => {
    expect(seriesName({ job: 'node', __name__: 'node_load1', instance: 'h' })).toBe('node_load1{instance="h", job="node"}');
    expect(seriesName({ instance: 'h' })).toBe('{instance="h"}');
    expect(seriesName({})).toBe('{}');
  });
});

describe('stepFor', () => {
  it('keeps a range near 240 points, in whole seconds', () => {
    expect(stepFor(300)).toBe(2);
    expect(stepFor(7200)).toBe(30);
    expect(stepFor(10)).toBe(1);
  });
});
