import { describe, expect, test } from 'vitest';
import { TIME_FORMAT_DIRECTIVES } from '../../core/config/schema.js';
import { compileTimeFormat, parseRfc3339, TIME_DIRECTIVES, TimeFormatError } from './time-format.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0); // 2026-11-23T12:00:00Z
const fmt = (f: string) => compileTimeFormat(f, () => NOW);
const ms = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

describe('rfc3339 (default)', () => {
  const parse = fmt('rfc3339');
  test.each([
    ['2026-11-23T10:00:00Z', ms('2026-11-23T10:00:00Z')],
    ['2026-11-23T10:00:00.123456789Z', ms('2026-11-23T10:00:00Z') + 123_456_789n],
    ['2026-11-23T10:00:00.1Z', ms('2026-11-23T10:00:00Z') + 100_000_000n],
    ['2026-11-23T10:00:00.1234567891234Z', ms('2026-11-23T10:00:00Z') + 123_456_789n],
    ['2026-11-23T12:00:00+02:00', ms('2026-11-23T10:00:00Z')],
    ['2026-11-23T05:30:00-0430', ms('2026-11-23T10:00:00Z')],
    ['2026-11-23 10:00:00,5', ms('2026-11-23T10:00:00Z') + 500_000_000n],
    ['2026-11-23T10:00:00', ms('2026-11-23T10:00:00Z')],
    ['2026-11-23', ms('2026-11-23T00:00:00Z')],
  ])('%s', (text, ns) => {
    expect(parse(text)).toBe(ns);
  });

  test.each<[string | number, bigint, string]>([
    [1_795_428_000, 1_795_428_000_000_000_000n, 's'],
    [1_795_428_000.25, 1_795_428_000_250_000_000n, 's with fraction'],
    [1_795_428_000_123, 1_795_428_000_123_000_000n, 'ms'],
    [1_795_428_000_123_456, 1_795_428_000_123_456_000n, 'µs'],
    ['1795428000123456789', 1_795_428_000_123_456_789n, 'ns as text keeps every digit'],
    ['1795428000.123456789', 1_795_428_000_123_456_789n, 's with 9 fraction digits as text'],
  ])('epoch %j reads by magnitude (%s)', (v, ns) => {
    expect(parse(v)).toBe(ns);
  });

  test.each([['yesterday'], ['2026-13-01T00:00:00Z'], ['2026-04-31T00:00:00Z'], ['2026-11-23T25:00:00Z'], ['2026-11-23T10:00:00 CEST'], [Number.NaN]])('%j is not a time', (v) => {
    expect(parse(v)).toBeUndefined();
  });

  test('parseRfc3339 alone refuses epoch numbers', () => {
    expect(parseRfc3339('1795428000')).toBeUndefined();
  });
});

describe('unix_s, unix_ms, unix_ns', () => {
  test('each reads its unit, fractions kept to the nanosecond', () => {
    expect(fmt('unix_s')(1_795_428_000)).toBe(1_795_428_000_000_000_000n);
    expect(fmt('unix_s')('1795428000.000000001')).toBe(1_795_428_000_000_000_001n);
    expect(fmt('unix_ms')(1_795_428_000_123)).toBe(1_795_428_000_123_000_000n);
    expect(fmt('unix_ms')('1795428000123.456789')).toBe(1_795_428_000_123_456_789n);
    expect(fmt('unix_ns')('1795428000123456789')).toBe(1_795_428_000_123_456_789n);
    expect(fmt('unix_s')('1.7954280001e9')).toBe(1_795_428_000_100_000_000n);
    expect(fmt('unix_ms')('soon')).toBeUndefined();
  });
});

describe('strftime-like patterns', () => {
  test('nginx access log time: %d/%b/%Y:%H:%M:%S %z', () => {
    expect(fmt('%d/%b/%Y:%H:%M:%S %z')('23/Nov/2026:11:00:00 +0100')).toBe(ms('2026-11-23T10:00:00Z'));
  });

  test('fraction directives: %f up to nanoseconds, %L milliseconds', () => {
    expect(fmt('%Y-%m-%d %H:%M:%S.%f')('2026-11-23 10:00:00.000000123')).toBe(ms('2026-11-23T10:00:00Z') + 123n);
    expect(fmt('%Y-%m-%d %H:%M:%S.%f')('2026-11-23 10:00:00.123456')).toBe(ms('2026-11-23T10:00:00Z') + 123_456_000n);
    expect(fmt('%FT%T.%L%z')('2026-11-23T10:00:00.042Z')).toBe(ms('2026-11-23T10:00:00.042Z'));
  });

  test('syslog stamp without a year takes the current one, and last year when that would be in the future', () => {
    const parse = fmt('%b %e %H:%M:%S');
    expect(parse('Nov  3 08:15:00')).toBe(ms('2026-11-03T08:15:00Z'));
    expect(parse('Dec 31 23:59:59')).toBe(ms('2025-12-31T23:59:59Z'));
  });

  test('12-hour clock, month names, day of year, epoch seconds', () => {
    expect(fmt('%m/%d/%y %I:%M:%S %p')('11/23/26 01:05:00 PM')).toBe(ms('2026-11-23T13:05:00Z'));
    expect(fmt('%m/%d/%y %I:%M:%S %p')('11/23/26 12:05:00 AM')).toBe(ms('2026-11-23T00:05:00Z'));
    expect(fmt('%A, %d %B %Y %H:%M')('Monday, 23 November 2026 10:00')).toBe(ms('2026-11-23T10:00:00Z'));
    expect(fmt('%Y.%j %H:%M')('2026.327 10:00')).toBe(ms('2026-11-23T10:00:00Z'));
    expect(fmt('%s.%f')('1795428000.5')).toBe(1_795_428_000_500_000_000n);
  });

  test('a value that does not fit the pattern is not a time', () => {
    expect(fmt('%d/%b/%Y:%H:%M:%S %z')('2026-11-23T10:00:00Z')).toBeUndefined();
    expect(fmt('%d/%b/%Y:%H:%M:%S %z')('23/Foo/2026:10:00:00 +0000')).toBeUndefined();
  });

  test('an unknown directive or a format without directives is refused when compiled', () => {
    expect(() => fmt('%Q')).toThrow(TimeFormatError);
    expect(() => fmt('yyyy-MM-dd')).toThrow(/neither rfc3339/);
  });

  // Found by test/fuzz: `10n ** BigInt(1e9)` for an exponent in the text ran for minutes (a collector hang on one line).
  test('an epoch with an exponent or digits past 64-bit nanoseconds is not a time, and is refused at once', () => {
    const started = performance.now();
    for (const format of ['rfc3339', 'unix_s', 'unix_ms', 'unix_ns']) {
      for (const v of ['1e999999999', '-1e999999999', '1E99999999999999999999', '9'.repeat(400), '18446744073709551616']) expect(fmt(format)(v), `${format} ${v}`).toBeUndefined();
      expect(fmt(format)('0e999999999')).toBe(0n);
    }
    expect(fmt('unix_s')(9_007_199_254_740_991)).toBeUndefined();
    expect(fmt('unix_ns')('18446744073709551615')).toBe(18_446_744_073_709_551_615n);
    expect(fmt('unix_s')('1795428000.5e0')).toBe(1_795_428_000_500_000_000n);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  // Found by test/fuzz: adjacent blank quantifiers backtracked over a long run of blanks: the default
  // rfc3339 took 0.7 s on `2026-01-01` + 16,000 spaces + `x`, and `%n%n` never finished.
  test('long runs of blanks or digits are read in bounded time, and text past 256 chars is no time', () => {
    const started = performance.now();
    for (const format of ['rfc3339', 'unix_s', '%H:%M:%S ', ' %H', '%n%n%n%n', '%d  %b', '%s%s%s%s', '%b %e %H:%M:%S']) {
      const parse = fmt(format);
      for (const n of [255, 100_000]) {
        for (const v of ['12:00:00' + ' '.repeat(n) + 'x', ' '.repeat(n) + 'x', '1'.repeat(n) + 'x', '2026-01-01' + '\t'.repeat(n) + 'x']) expect(parse(v), `${format} ${n}`).toBeUndefined();
      }
    }
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fmt('rfc3339')(' '.repeat(200) + '2026-11-23T10:00:00Z')).toBe(ms('2026-11-23T10:00:00Z'));
    expect(fmt('rfc3339')(' '.repeat(300) + '2026-11-23T10:00:00Z')).toBeUndefined();
    // Blank runs merged still read what they read before.
    expect(fmt('%H:%M:%S ')('10:00:00  ')).toBe(ms('2026-01-01T10:00:00Z'));
    expect(fmt('%d  %b %Y')('23 Nov 2026')).toBe(ms('2026-11-23T00:00:00Z'));
    expect(fmt('%s')('-1795428000')).toBe(-1_795_428_000_000_000_000n);
  });

  test('the config schema accepts exactly the directives this module reads', () => {
    expect(TIME_FORMAT_DIRECTIVES).toBe(TIME_DIRECTIVES);
    for (const d of TIME_DIRECTIVES) expect(() => fmt(`%${d}`), `%${d}`).not.toThrow();
  });
});
