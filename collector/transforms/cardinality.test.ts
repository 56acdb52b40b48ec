import { describe, expect, it } from 'vitest';
import type { MetricSample } from '../../core/model/records.js';
import { createRegistry } from '../../core/telemetry/registry.js';
import { CardinalityBudget } from './cardinality.js';

const sample = (name: string, labels: Record<string, string>): MetricSample => ({ name, labels, timestampMs: 1, value: 1, type: 'gauge' });

describe('CardinalityBudget', () => {
  it('lets known series through, refuses new ones past the limit per name, and names the label driving growth', async () => {
    let now = 0;
    const registry = createRegistry();
    const budget = new CardinalityBudget({ maxSeriesPerMetric: 2, registry, now: () => now, idleMs: 1000 });
    const first = budget.admit([sample('req', { path: '/a', dc: 'x' }), sample('req', { path: '/b', dc: 'x' }), sample('other', { path: '/z' })]);
    expect(first.rejected).toBe(0);
    const second = budget.admit([sample('req', { path: '/a', dc: 'x' }), sample('req', { path: '/c', dc: 'x' }), sample('req', { path: '/d', dc: 'x' })]);
    expect(second.kept.map((s) => s.labels.path)).toEqual(['/a']);
    expect(second.rejected).toBe(2);
    expect(second.metrics).toEqual(['req']);
    expect(budget.drivingLabel('req')).toBe('path');
    expect(budget.seriesCount('req')).toBe(2);
    const m = await registry.getSingleMetric('pharos_collector_series_rejected_total')!.get();
    expect(m.values.map((v) => [v.labels, v.value])).toEqual([[{ metric: 'req', label: 'path' }, 2]]);
    // Series idle for longer than idleMs stop counting: room for new ones.
    now = 2000;
    expect(budget.admit([sample('req', { path: '/e', dc: 'x' })]).rejected).toBe(0);
  });

  it('is off at 0', () => {
    const budget = new CardinalityBudget({ maxSeriesPerMetric: 0, registry: createRegistry() });
    const many = Array.from({ length: 100 }, (_, i) => sample('m', { i: String(i) }));
    expect(budget.admit(many).kept).toHaveLength(100);
  });
});
