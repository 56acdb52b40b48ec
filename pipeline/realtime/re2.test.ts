import { describe, expect, test } from 'vitest';
import { compileAnchoredRe2 } from './re2.js';

describe('RE2 regexes of PromQL', () => {
  // With a backtracking engine this pattern takes 2^64 steps on this input: the test would never end.
  test('a pattern that makes backtracking engines explode answers at once', () => {
    expect(compileAnchoredRe2('(a+)+').test('a'.repeat(64) + 'b')).toBe(false);
    expect(compileAnchoredRe2('(a|aa)*c').test('a'.repeat(64))).toBe(false);
  });

  test('anchored, with RE2 syntax: inline flags, named groups, POSIX classes', () => {
    expect(compileAnchoredRe2('ap').test('api')).toBe(false);
    expect(compileAnchoredRe2('(?i)API').test('api')).toBe(true);
    const m = compileAnchoredRe2('(?P<word>[[:alpha:]]+)-(\\d+)').exec('abc-42');
    expect(m?.[0]).toBe('abc-42');
    expect(m?.[2]).toBe('42');
    expect(m?.groups).toEqual({ word: 'abc' });
  });

  test('. matches a newline only with dotAll', () => {
    expect(compileAnchoredRe2('a.b').test('a\nb')).toBe(false);
    expect(compileAnchoredRe2('a.b', true).test('a\nb')).toBe(true);
  });

  test('an invalid pattern throws', () => {
    expect(() => compileAnchoredRe2('(unclosed')).toThrow();
  });
});
