import { describe, expect, it } from 'vitest';
import { formatRfc3339, parseTimeExpr } from './time-expr.js';

const NOW = Date.UTC(2025, 0, 31, 12, 0, 0); // 1738324800000
const ns = (ms: number) => BigInt(ms) * 1_000_000n;

describe('parseTimeExpr', () => {
  it('resolves now and offsets from it', () => {
    expect(parseTimeExpr('from', 'now', NOW)).toBe(ns(NOW));
    expect(parseTimeExpr('from', 'now-15m', NOW)).toBe(ns(NOW - 15 * 60_000));
    expect(parseTimeExpr('from', 'now-2d', NOW)).toBe(ns(NOW - 2 * 86_400_000));
    expect(parseTimeExpr('to', 'now+500ms', NOW)).toBe(ns(NOW + 500));
  });

  it('reads unix milliseconds', () => {
    expect(parseTimeExpr('from', '1738324800123', NOW)).toBe(1738324800123_000_000n);
  });

  it('reads RFC 3339 with offsets, keeping nanoseconds', () => {
    expect(parseTimeExpr('from', '2025-01-31T12:00:00Z', NOW)).toBe(ns(NOW));
    expect(parseTimeExpr('from', '2025-01-31T14:00:00+02:00', NOW)).toBe(ns(NOW));
    expect(parseTimeExpr('from', '2025-01-31T12:00:00.000000001Z', NOW)).toBe(ns(NOW) + 1n);
    expect(parseTimeExpr('from', '2025-01-31T12:00:00.5Z', NOW)).toBe(ns(NOW + 500));
  });

  it('refuses what is not a time, naming the parameter', () => {
    for (const bad of ['', 'yesterday', 'now-15', 'now-1y', '2025-02-30T00:00:00Z', '2025-01-31', '2025-01-31T12:00:00', '-5', '1.5e12']) {
      expect(() => parseTimeExpr('from', bad, NOW), bad).toThrow(/^invalid "from": /);
    }
  });
});

describe('parseTimeExpr: range', () => {
  // Found by test/fuzz: the offset parsed, and echoing it back (formatRfc3339) threw a RangeError: a 500, not a 400.
  it('refuses an offset past what a Date holds, and every accepted time can be echoed', () => {
    for (const bad of ['now+14300000w', 'now-999999999w', 'now+999999999d']) {
      expect(() => parseTimeExpr('to', bad, NOW), bad).toThrow(/^invalid "to": .* is out of range/);
    }
    for (const good of ['now+999999999s', 'now-999999999h', '999999999999999', '9999-12-31T23:59:59.999999999Z']) {
      expect(() => formatRfc3339(parseTimeExpr('to', good, NOW)), good).not.toThrow();
    }
  });
});

describe('formatRfc3339', () => {
  it('prints as many fraction digits as the value needs', () => {
    expect(formatRfc3339(ns(NOW))).toBe('2025-01-31T12:00:00.000Z');
    expect(formatRfc3339(ns(NOW) + 1n)).toBe('2025-01-31T12:00:00.000000001Z');
    expect(formatRfc3339(ns(NOW + 123) + 450_000n)).toBe('2025-01-31T12:00:00.12345Z');
  });
});
