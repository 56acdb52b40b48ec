import { describe, expect, test } from 'vitest';
import { ConfigError, validateConfig } from '../../core/config/load.js';
import { regexPatternProblem } from './parse-regex.js';
import { testParser } from './test-helpers.js';

const NGINX =
  '^(?<remote_addr>\\S+) - (?<remote_user>\\S+) \\[(?<time>[^\\]]+)\\] "(?<message>(?<method>\\S+) (?<path>\\S+) \\S+)" (?<status>\\d{3}) (?<bytes>\\d+)(?: "(?<referer>[^"]*)")?';

describe('parser regex', () => {
  test('an nginx access line: named groups become fields; message and time groups fill the record', () => {
    const { parse, errors } = testParser({ parser: 'regex', pattern: NGINX, time_format: '%d/%b/%Y:%H:%M:%S %z' });
    expect(parse('10.0.0.1 - - [23/Nov/2026:11:00:00 +0100] "GET /api/v1/query HTTP/1.1" 200 512')).toEqual({
      body: 'GET /api/v1/query HTTP/1.1',
      time: BigInt(Date.parse('2026-11-23T10:00:00Z')) * 1_000_000n,
      severityNumber: 0,
      severityText: '',
      // `referer` did not take part in the match: absent, not empty.
      attributes: { remote_addr: '10.0.0.1', remote_user: '-', method: 'GET', path: '/api/v1/query', status: '200', bytes: '512' },
    });
    expect(errors).toEqual([]);
  });

  test('a level group is normalised; without a message group the whole line is the body', () => {
    const { parse } = testParser({ parser: 'regex', pattern: '^(?<time>\\S+) \\[(?<level>\\w+)\\] (?<component>\\w+):' });
    expect(parse('2026-11-23T10:00:00.5Z [warning] kafka: rebalancing')).toMatchObject({
      body: '2026-11-23T10:00:00.5Z [warning] kafka: rebalancing',
      time: BigInt(Date.parse('2026-11-23T10:00:00Z')) * 1_000_000n + 500_000_000n,
      severityNumber: 13,
      attributes: { component: 'kafka' },
    });
  });

  test('group names given by message_key, time_key, level_key', () => {
    const { parse } = testParser({ parser: 'regex', pattern: '^(?<ts>\\d+) (?<sev>\\d) (?<text>.*)$', message_key: 'text', time_key: 'ts', level_key: 'sev', time_format: 'unix_ms' });
    expect(parse('1795428000123 3 disk failing')).toMatchObject({ body: 'disk failing', time: 1_795_428_000_123_000_000n, severityNumber: 17, attributes: {} });
  });

  test('a line that does not match is kept whole, flagged and counted', () => {
    const { parse, errors } = testParser({ parser: 'regex', pattern: NGINX });
    const line = 'garbage that is not an access log line';
    expect(parse(line)).toMatchObject({ body: line, time: 0n, attributes: { 'log.parse_error': 'no match for pattern' } });
    expect(errors).toEqual(['no match for pattern']);
  });

  test('regexPatternProblem', () => {
    expect(regexPatternProblem('(?<a>x)')).toBeUndefined();
    expect(regexPatternProblem('(x) (\\d+)')).toMatch(/no named groups/);
    expect(regexPatternProblem('(?<a>x')).toMatch(/does not compile/);
    expect(regexPatternProblem('a)(b')).toMatch(/does not compile/);
  });
});

describe('config: parser keys', () => {
  const issues = (file: Record<string, unknown>) => {
    try {
      validateConfig({ collector: { files: [{ include: ['/var/log/x.log'], ...file }] } });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.issues.map((i) => `${i.key}: ${i.message}`);
    }
  };

  test('defaults: parser plain, time_format rfc3339', () => {
    const c = validateConfig({ collector: { files: [{ include: ['/var/log/x.log'] }] } });
    expect(c.collector.files[0]).toMatchObject({ parser: 'plain', time_format: 'rfc3339' });
  });

  test('regex without named groups is refused, naming the key', () => {
    expect(issues({ parser: 'regex', pattern: '^(\\S+) (.*)$' })).toEqual([expect.stringMatching(/^collector\.files\.0\.pattern: pattern has no named groups/)]);
  });

  test('regex that does not compile, and regex without a pattern, are refused naming the key', () => {
    expect(issues({ parser: 'regex', pattern: '(?<a>x' })).toEqual([expect.stringMatching(/^collector\.files\.0\.pattern: pattern does not compile/)]);
    expect(issues({ parser: 'regex' })).toEqual([expect.stringMatching(/^collector\.files\.0\.pattern: parser regex needs a pattern/)]);
  });

  test('a time_format with an unknown directive or none is refused naming the key', () => {
    expect(issues({ parser: 'json', time_format: '%Y-%m-%d %Q' })).toEqual([expect.stringMatching(/^collector\.files\.0\.time_format: unknown directive %Q/)]);
    expect(issues({ parser: 'json', time_format: 'yyyy-MM-dd' })).toEqual([expect.stringMatching(/^collector\.files\.0\.time_format: expected rfc3339/)]);
  });

  test('an unknown parser is refused', () => {
    expect(issues({ parser: 'xml' })).toEqual([expect.stringMatching(/^collector\.files\.0\.parser: /)]);
  });

  test('valid keys pass', () => {
    expect(issues({ parser: 'regex', pattern: '(?<message>.*)', time_format: '%d/%b/%Y:%H:%M:%S %z', message_key: 'message', time_key: 'time', level_key: 'level' })).toEqual([]);
  });
});
