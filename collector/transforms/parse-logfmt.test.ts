import { describe, expect, test } from 'vitest';
import { parseLogfmt } from './parse-logfmt.js';
import { testParser } from './test-helpers.js';

describe('parser logfmt', () => {
  test('a Go service line: msg, level and RFC 3339 time (ns) become the record; other pairs attributes', () => {
    const { parse, errors } = testParser({ parser: 'logfmt' });
    expect(parse('time=2026-11-23T10:00:00.000000007Z level=warn msg="slow query" took=812ms db=orders retry')).toEqual({
      body: 'slow query',
      time: BigInt(Date.parse('2026-11-23T10:00:00Z')) * 1_000_000n + 7n,
      severityNumber: 13,
      severityText: 'WARN',
      attributes: { took: '812ms', db: 'orders', retry: true },
    });
    expect(errors).toEqual([]);
  });

  test('quoted values with escapes, empty values, tabs', () => {
    expect(parseLogfmt('a="x \\"y\\" z" b= c=1\td="tab\\tnew\\nline"')).toEqual({ ok: true, fields: { a: 'x "y" z', b: '', c: '1', d: 'tab\tnew\nline' } });
  });

  test('logrus-style keys and an epoch time in unix_s', () => {
    const { parse } = testParser({ parser: 'logfmt', time_key: 'at', time_format: 'unix_s' });
    expect(parse('at=1795428000 level=error msg=boom')).toMatchObject({ body: 'boom', time: 1_795_428_000_000_000_000n, severityNumber: 17 });
  });

  test.each([
    ['level=info msg="unterminated', 'unterminated quote'],
    ['just some prose without pairs', 'no key=value pairs'],
    ['=value', 'empty key'],
    ['ke"y=1', 'quote inside a key'],
  ])('malformed %j: kept whole, flagged and counted', (line, reason) => {
    const { parse, errors } = testParser({ parser: 'logfmt' });
    const r = parse(line);
    expect(r.body).toBe(line);
    expect(r.attributes).toEqual({ 'log.parse_error': expect.stringContaining(reason) });
    expect(errors).toHaveLength(1);
  });
});
