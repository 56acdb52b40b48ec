import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit.js';

describe('TokenBuckets', () => {
  it('allows a burst, then refills at the rate, per key', () => {
    let now = 0;
    const b = new TokenBuckets(2, 3, () => now);
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0]);
    expect(b.take('a')).toBe(500);
    expect(b.take('b')).toBe(0);
    now = 500;
    expect(b.take('a')).toBe(0);
    expect(b.take('a')).toBe(500);
    now = 10_000;
    // Refilled to the burst, never beyond it.
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a') > 0]).toEqual([0, 0, 0, true]);
  });
});
