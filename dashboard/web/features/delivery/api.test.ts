import { describe, expect, test } from 'vitest';
import { healthOf, STALE_AFTER_MS, type DeliveryRow } from './api.js';

const row = (over: Partial<DeliveryRow>): DeliveryRow => ({ host: 'h', source: 's', received: 10, distinctSeqs: 10, minSeq: '1', maxSeq: '10', missing: 0, gaps: [], duplicates: 0, newestNs: '0', ageMs: 1000, dropped: {}, ...over });

describe('delivery health', () => {
  test('fresh and complete is ok; gaps are losses; an old newest record is a stopped shipper, which wins', () => {
    expect(healthOf(row({}))).toBe('ok');
    expect(healthOf(row({ duplicates: 3 }))).toBe('ok');
    expect(healthOf(row({ missing: 2, gaps: [{ from: '4', to: '5' }] }))).toBe('lossy');
    expect(healthOf(row({ ageMs: STALE_AFTER_MS + 1 }))).toBe('stale');
    expect(healthOf(row({ ageMs: STALE_AFTER_MS + 1, missing: 2 }))).toBe('stale');
  });

  test('drops are what filters asked for: ok beside received records, filtered when nothing else arrived', () => {
    expect(healthOf(row({ dropped: { debug: 40 } }))).toBe('ok');
    expect(healthOf(row({ received: 0, distinctSeqs: 0, minSeq: null, maxSeq: null, newestNs: null, ageMs: null, dropped: { debug: 40 } }))).toBe('filtered');
  });
});
