import { describe, expect, test } from 'vitest';
import { testParser } from './test-helpers.js';

describe('parser plain (the default)', () => {
  test('the line is the body, severity from a level keyword, no event time, no attributes, never an error', () => {
    const { parse, errors } = testParser({});
    expect(parse('2026-11-23T10:00:00Z ERROR disk full')).toEqual({ body: '2026-11-23T10:00:00Z ERROR disk full', time: 0n, severityNumber: 17, severityText: 'ERROR', attributes: {} });
    expect(parse('{"not":"parsed"}')).toEqual({ body: '{"not":"parsed"}', time: 0n, severityNumber: 0, severityText: '', attributes: {} });
    expect(errors).toEqual([]);
  });
});
