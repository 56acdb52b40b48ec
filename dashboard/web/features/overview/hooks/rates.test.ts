import { describe, expect, it } from 'vitest';
import type { SelfMetricsSummary } from '../api.js';
import { ratesBetween } from './useOverview.js';

const at = (ms: number, eventsReceived: number): SelfMetricsSummary => ({ at: ms, eventsReceived, eventsSent: 0, rowsInserted: 0, samplesAppended: 0, errors: 0, series: 1 });

describe('ratesBetween', () => {
  it('is per second over the interval between two summaries', () => {
    expect(ratesBetween(at(0, 100), at(5000, 600))?.eventsReceived).toBe(100);
  });

  it('has no rate on the first round, nor across a restart (a counter going down)', () => {
    expect(ratesBetween(null, at(0, 1))).toBeNull();
    expect(ratesBetween(at(0, 500), at(5000, 10))).toBeNull();
  });
});
