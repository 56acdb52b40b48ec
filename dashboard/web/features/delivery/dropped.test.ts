import { describe, expect, test } from 'vitest';
import { droppedTotal, dropReasons } from './dropped.js';

describe('drops by reason', () => {
  test('total of every reason; none is 0', () => {
    expect(droppedTotal({ debug: 12, healthcheck: 3 })).toBe(15);
    expect(droppedTotal({})).toBe(0);
  });

  test('largest reason first, ties by name, zeros left out', () => {
    expect(dropReasons({ keep: 2, debug: 12, healthcheck: 2, noise: 0 })).toEqual([
      { reason: 'debug', count: 12 },
      { reason: 'healthcheck', count: 2 },
      { reason: 'keep', count: 2 },
    ]);
  });
});
