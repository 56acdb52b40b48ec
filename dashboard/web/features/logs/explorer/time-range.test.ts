import { describe, expect, test } from 'vitest';
import { localInputToMs, msToLocalInput, olderThan, rangeLabel } from './time-range.js';

describe('explorer time range', () => {
  test('a preset is named by its label, a custom range by its ends', () => {
    expect(rangeLabel('now-1h', '')).toBe('Last 1 hour');
    expect(rangeLabel('now-2h', 'now-1h')).toBe('now-2h → now-1h');
  });

  test('the older page ends at the oldest line, nanoseconds kept', () => {
    expect(olderThan('1738324800123456789')).toBe('2025-01-31T12:00:00.123456789Z');
  });

  test('custom inputs round-trip through unix ms and refuse garbage', () => {
    const ms = localInputToMs('2025-01-31T12:30');
    expect(msToLocalInput(ms)).toBe('2025-01-31T12:30');
    expect(localInputToMs('not a date')).toBe('');
  });
});
