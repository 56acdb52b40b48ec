import { describe, expect, test } from 'vitest';
import { detectSeverity, normalizeSeverity } from './severity.js';

describe('normalizeSeverity', () => {
  test.each([
    ['trace', 1, 'TRACE'],
    ['DEBUG', 5, 'DEBUG'],
    ['info', 9, 'INFO'],
    ['Information', 9, 'INFO'],
    ['notice', 10, 'INFO2'],
    ['warn', 13, 'WARN'],
    ['WARNING', 13, 'WARN'],
    ['error', 17, 'ERROR'],
    ['err', 17, 'ERROR'],
    ['crit', 21, 'FATAL'],
    ['critical', 21, 'FATAL'],
    ['alert', 21, 'FATAL'],
    ['emerg', 21, 'FATAL'],
    ['fatal', 21, 'FATAL'],
    [' info ', 9, 'INFO'],
  ])('word %j → %d %s', (word, number, text) => {
    expect(normalizeSeverity(word)).toEqual({ number, text });
  });

  test.each([
    [10, 1, 'TRACE'],
    [20, 5, 'DEBUG'],
    [30, 9, 'INFO'],
    [40, 13, 'WARN'],
    [50, 17, 'ERROR'],
    [60, 21, 'FATAL'],
    ['50', 17, 'ERROR'],
  ])('pino level %j → %d %s', (level, number, text) => {
    expect(normalizeSeverity(level)).toEqual({ number, text });
  });

  test.each([
    [0, 21, 'FATAL'],
    [1, 21, 'FATAL'],
    [2, 21, 'FATAL'],
    [3, 17, 'ERROR'],
    [4, 13, 'WARN'],
    [5, 10, 'INFO2'],
    [6, 9, 'INFO'],
    [7, 5, 'DEBUG'],
    ['3', 17, 'ERROR'],
  ])('syslog severity %j → %d %s', (level, number, text) => {
    expect(normalizeSeverity(level)).toEqual({ number, text });
  });

  test.each([['verbose'], [''], [8], [35], [6.5], [true], [null], [{ level: 'info' }]])('unrecognised %j → undefined', (v) => {
    expect(normalizeSeverity(v)).toBeUndefined();
  });
});

describe('detectSeverity (plain lines)', () => {
  test.each([
    ['Nov 23 10:00:00 host app[1]: NOTICE reloaded', 10, 'INFO2'],
    ['<crit> controller lost', 21, 'FATAL'],
    ['a line with no level', 0, ''],
    ['ts=2026-01-01 level=warn msg="disk filling"', 13, 'WARN'],
    ['ts=2026-01-01 LEVEL=Debug msg=x', 5, 'DEBUG'],
    ['{"time":1,"level":50,"msg":"boom"}', 17, 'ERROR'],
    ['{"level": "error", "msg": "x"}', 17, 'ERROR'],
    ['[error] INFO of the request follows', 17, 'ERROR'],
    ['2026-01-01 INFO request [error] in its body', 9, 'INFO'],
    ['2026-01-01 INFO {"level":50}', 9, 'INFO'],
    ['{"level":30} ERROR in the message', 9, 'INFO'],
    ['ERRORS and WARNINGS are not words here, nor is an error in prose', 0, ''],
    [`${'x'.repeat(200)} ERROR past the head`, 0, ''],
  ])('%s → %d %s', (line, number, text) => {
    expect(detectSeverity(line)).toEqual({ number, text });
  });
});
