import { describe, expect, test } from 'vitest';
import { parseJson, rawNumberField } from './parse-json.js';
import { testParser } from './test-helpers.js';

const ms = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

describe('parser json', () => {
  test('a pino line: msg, numeric level and epoch-ms time become the record; other fields attributes', () => {
    const { parse, errors } = testParser({ parser: 'json' });
    const r = parse('{"level":30,"time":1795428000123,"pid":42,"hostname":"h1","component_id":"collector","msg":"collector started"}');
    expect(r).toEqual({
      body: 'collector started',
      time: 1_795_428_000_123_000_000n,
      severityNumber: 9,
      severityText: 'INFO',
      attributes: { pid: 42, hostname: 'h1', component_id: 'collector' },
    });
    expect(errors).toEqual([]);
  });

  test.each([
    ['{"message":"m","timestamp":"2026-11-23T10:00:00.000000001Z","severity":"ERROR"}', 'm', ms('2026-11-23T10:00:00Z') + 1n, 17],
    ['{"log":"from docker\\n","ts":1795428000.5,"lvl":"debug"}', 'from docker\n', 1_795_428_000_500_000_000n, 5],
    ['{"body":"b","@timestamp":"2026-11-23T10:00:00Z","level":"warning"}', 'b', ms('2026-11-23T10:00:00Z'), 13],
  ])('default keys: %s', (line, body, time, severityNumber) => {
    expect(testParser({ parser: 'json' }).parse(line)).toMatchObject({ body, time, severityNumber });
  });

  test('an epoch-ns time keeps every digit, though JSON numbers are doubles', () => {
    const r = testParser({ parser: 'json' }).parse('{"msg":"x","time":1795428000123456789}');
    expect(r.time).toBe(1_795_428_000_123_456_789n);
    expect(testParser({ parser: 'json', time_format: 'unix_ns' }).parse('{"msg":"x","t":1,"time":1795428000123456789}').time).toBe(1_795_428_000_123_456_789n);
  });

  test('configured keys win over the defaults, and the default-named fields stay attributes', () => {
    const { parse } = testParser({ parser: 'json', message_key: 'text', time_key: 'when', level_key: 'sev', time_format: '%d/%b/%Y:%H:%M:%S %z' });
    expect(parse('{"text":"hi","when":"23/Nov/2026:10:00:00 +0000","sev":"crit","msg":"other","level":"info"}')).toEqual({
      body: 'hi',
      time: ms('2026-11-23T10:00:00Z'),
      severityNumber: 21,
      severityText: 'FATAL',
      attributes: { msg: 'other', level: 'info' },
    });
  });

  test('nested objects flatten with dots; arrays and values past the depth cap become JSON text; scalars keep their type', () => {
    const { parse } = testParser({ parser: 'json' });
    const r = parse('{"msg":"m","req":{"method":"GET","headers":{"x":"1"},"empty":{}},"ids":[1,2],"ok":true,"n":null,"f":1.5,"deep":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}}');
    expect(r.attributes).toEqual({
      'req.method': 'GET',
      'req.headers.x': '1',
      'req.empty': '{}',
      ids: '[1,2]',
      ok: true,
      n: null,
      f: 1.5,
      'deep.a.b.c.d.e.f.g.h': '{"i":1}',
    });
  });

  test('no message field: the whole line is the body; an object message is kept as JSON', () => {
    const { parse } = testParser({ parser: 'json' });
    expect(parse('{"a":1}')).toMatchObject({ body: '{"a":1}', attributes: { a: 1 } });
    expect(parse('{"msg":{"k":"v"}}')).toMatchObject({ body: '{"k":"v"}', attributes: {} });
  });

  test('an unknown level word is kept as the severity text, with number 0', () => {
    expect(testParser({ parser: 'json' }).parse('{"msg":"m","level":"verbose"}')).toMatchObject({ severityNumber: 0, severityText: 'verbose' });
  });

  test.each([
    ['{"level":"info","msg":"cut', 'invalid JSON'],
    ['not json at all', 'not a JSON object'],
    ['["an","array"]', 'not a JSON object'],
    ['', 'empty line'],
    ['{"a":1} trailing', 'invalid JSON'],
  ])('malformed %j: kept whole as a plain record, flagged and counted', (line, reason) => {
    const { parse, errors } = testParser({ parser: 'json' });
    const r = parse(line);
    expect(r.body).toBe(line);
    expect(r.time).toBe(0n);
    expect(r.attributes).toEqual({ 'log.parse_error': expect.stringContaining(reason) });
    expect(errors).toHaveLength(1);
  });

  test('a malformed line still gets the plain severity heuristic', () => {
    expect(testParser({ parser: 'json' }).parse('ERROR {broken')).toMatchObject({ severityNumber: 17, attributes: { 'log.parse_error': 'not a JSON object' } });
  });

  test('a time field that does not read in the format is kept as an attribute and flagged; the rest parses', () => {
    const { parse, errors } = testParser({ parser: 'json' });
    expect(parse('{"msg":"m","time":"half past ten","level":"info"}')).toEqual({
      body: 'm',
      time: 0n,
      severityNumber: 9,
      severityText: 'INFO',
      attributes: { time: 'half past ten', 'log.parse_error': 'field time is not a time in format rfc3339' },
    });
    expect(errors).toHaveLength(1);
  });

  test('a field named __proto__ is an attribute, not a prototype change', () => {
    const r = testParser({ parser: 'json' }).parse('{"msg":"m","__proto__":{"polluted":"yes"}}');
    expect(r.attributes['__proto__.polluted']).toBe('yes');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('parseJson and rawNumberField', () => {
    expect(parseJson(' {"a":1}')).toEqual({ ok: true, fields: { a: 1 } });
    expect(rawNumberField('{"t" : 1795428000123456789, "x":1}', 't')).toBe('1795428000123456789');
    expect(rawNumberField('{"msg":"\\"t\\"","t":1.5e3}', 't')).toBe('1.5e3');
    expect(rawNumberField('{"t":"text"}', 't')).toBeUndefined();
  });
});

describe('parser json: hostile input', () => {
  test('an object nested 200,000 deep is kept whole and flagged, not a crash', () => {
    const d = 200_000;
    const line = `{"msg":"m","a":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`;
    const { parse, errors } = testParser({ parser: 'json' });
    const r = parse(line);
    expect(r.body).toBe(line);
    expect(r.attributes).toEqual({ 'log.parse_error': 'nested too deep' });
    expect(errors).toEqual(['nested too deep']);
  });
});
