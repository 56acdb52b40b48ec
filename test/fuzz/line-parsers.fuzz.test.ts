/**
 * The collector's line parsers (plain, JSON lines, logfmt, regex), the level and time readers
 * behind them: any line, however broken, yields a record and never throws.
 */
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import type { FileInputConfig } from '../../core/config/schema.js';
import type { Attributes } from '../../core/model/records.js';
import { parseJson } from '../../collector/transforms/parse-json.js';
import { parseLogfmt } from '../../collector/transforms/parse-logfmt.js';
import { compileRegexParser, regexPatternProblem } from '../../collector/transforms/parse-regex.js';
import { createLineParser, type LineParser } from '../../collector/transforms/parser.js';
import { detectSeverity, normalizeSeverity } from '../../collector/transforms/severity.js';
import { compileTimeFormat, TimeFormatError } from '../../collector/transforms/time-format.js';
import { expectTyped, fromFragments, fuzz, mutatedText, randomText, textInputs } from './kit.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const events = { parseFailed: () => {} };

type Options = Pick<FileInputConfig, 'parser' | 'pattern' | 'message_key' | 'time_key' | 'level_key' | 'time_format'>;
const parserOf = (o: Partial<Options>): LineParser => createLineParser({ parser: 'plain', time_format: 'rfc3339', ...o }, events, () => NOW);

/** A parser's whole path (fields, time, level, attributes) on one line: never throws, always a record. */
function parseLine(p: LineParser, line: string): void {
  const attributes: Attributes = {};
  const r = expectTyped(`parser ${p.name}`, line, () => p.parse(line, attributes));
  if (!r.ok) return;
  expect(typeof r.value.body).toBe('string');
  expect(typeof r.value.timeUnixNano).toBe('bigint');
  expect(Number.isInteger(r.value.severity.number)).toBe(true);
  // Attributes stay plain data the codec can encode.
  for (const k of Object.keys(attributes)) expect(['string', 'number', 'boolean'].includes(typeof attributes[k]) || attributes[k] === null).toBe(true);
}

const JSON_LINES = [
  '{"level":"info","time":"2026-11-23T10:00:00.123Z","msg":"request done","status":200,"took_ms":12.5}',
  '{"level":30,"time":1795428000123,"pid":7,"hostname":"web-1","msg":"listening","req":{"method":"GET","url":"/"}}',
  '{"ts":1795428000.123456,"severity":"WARNING","message":"disk 91% full","tags":["a","b"],"nested":{"a":{"b":{"c":null}}}}',
  '{"@timestamp":"2026-11-23T10:00:00+01:00","log":"x\\u0000y\\ud800","__proto__":{"polluted":true},"constructor":1}',
  '{"time":1795428000123456789,"body":{"k":[1,2,{"x":true}]},"lvl":"dbug"}',
  '{}',
];

const LOGFMT_LINES = [
  'level=info msg="request done" took=12ms status=200 path=/api/v1/query',
  'time=2026-11-23T10:00:00Z level=warn msg="quoted \\"inner\\" and \\\\ backslash\\n" flag',
  'ts=1795428000 lvl=error err="dial tcp: connection refused" retry=3 key= empty=""',
  'a=1 b="2 3" c d=é e="😀"',
];

const PLAIN_LINES = [
  '2026-11-23 10:00:00 ERROR something broke',
  '[WARN] low disk',
  'Nov 23 10:00:00 host sshd[123]: <notice> accepted',
  'level=debug plain prose',
];

const NGINX =
  '^(?<remote_addr>\\S+) - (?<remote_user>\\S+) \\[(?<time>[^\\]]+)\\] "(?<message>(?<method>\\S+) (?<path>\\S+) \\S+)" (?<status>\\d{3}) (?<bytes>\\d+)(?: "(?<referer>[^"]*)")?';
const NGINX_LINES = ['10.0.0.1 - - [23/Nov/2026:11:00:00 +0100] "GET /api/v1/query HTTP/1.1" 200 512 "https://x/"', '::1 - bob [01/Jan/1970:00:00:00 -0000] "POST / HTTP/2" 500 0'];

/** JSON nested `depth` deep, in objects or arrays: the shape that exhausts recursive code. */
const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 50_000 }), fc.boolean(), fc.boolean())
  .map(([depth, arrays, closed]) => {
    const open = arrays ? '[' : '{"a":';
    const close = arrays ? ']' : '}';
    return `{"msg":${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}${closed ? '}' : ''}`;
  });

/** logfmt built from its own grammar: keys, `=`, bare and quoted values, escapes, flags. */
const logfmtLine = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('level', 'msg', 'time', 'ts', 'a.b', 'k-1', '"', '='), fc.string({ maxLength: 6 })),
      fc.oneof(
        fc.constant(undefined),
        fc.string({ maxLength: 12 }),
        fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', 'n', '=', '\t'), maxLength: 12 }).map((s) => `"${s}"`),
        fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', 'n'), maxLength: 12 }).map((s) => `"${s}`),
      ),
      fc.constantFrom(' ', '  ', '\t', ''),
    ),
    { maxLength: 8 },
  )
  .map((pairs) => pairs.map(([k, v, sep]) => (v === undefined ? k : `${k}=${v}`) + sep).join(''));

describe('JSON lines', () => {
  const json = parserOf({ parser: 'json' });
  const jsonNs = parserOf({ parser: 'json', time_format: 'unix_ns' });
  fuzz('random and mutated lines', textInputs(JSON_LINES, 300), (line) => {
    parseLine(json, line);
    parseLine(jsonNs, line);
    expectTyped('parseJson', line, () => parseJson(line));
  });
  fuzz('generated JSON objects (any values, unicode keys, big numbers)', fc.object({ maxDepth: 6, withBigInt: false, withNullPrototype: false }).map((o) => JSON.stringify(o)), (line) => {
    parseLine(json, line);
  });
  fuzz('JSON nested tens of thousands deep', deepJson, (line) => parseLine(json, line), 40);
  const KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'msg', 'a.b', 'time', 'level'];
  fuzz('message, time and level keys named like Object members', fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...KEYS), fc.constantFrom(...KEYS), fc.constantFrom('json', 'logfmt') as fc.Arbitrary<'json' | 'logfmt'>, fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(fc.jsonValue({ maxDepth: 2 }), randomText(20)), { maxKeys: 4 })), ([message_key, time_key, level_key, parser, fields]) => {
    const p = parserOf({ parser, message_key, time_key, level_key });
    const line = parser === 'json' ? JSON.stringify(fields) : Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v))}`).join(' ');
    parseLine(p, line);
  }, 300);
  const byFormat = ['rfc3339', 'unix_s', 'unix_ms', 'unix_ns', '%s', '%Y-%m-%dT%H:%M:%S%z'].map((time_format) => parserOf({ parser: 'json', time_format }));
  fuzz('time fields of every shape', fc.tuple(fc.constantFrom('time', 'ts', 'timestamp'), fc.oneof(fc.double(), fc.bigInt(), randomText(40), fc.constantFrom('1e999999999', '-1e999999999', '9'.repeat(400), '1e-999999999', '0.0000000001e20', '1795428000.1e9'))), ([k, v]) => {
    const line = `{"${k}":${typeof v === 'string' ? JSON.stringify(v) : String(v)},"msg":"x"}`;
    for (const p of byFormat) parseLine(p, line);
  });
});

describe('logfmt', () => {
  const logfmt = parserOf({ parser: 'logfmt' });
  fuzz('random and mutated lines', textInputs(LOGFMT_LINES, 300), (line) => {
    parseLine(logfmt, line);
    expectTyped('parseLogfmt', line, () => parseLogfmt(line));
  });
  fuzz('key=value pairs with quotes and escapes', logfmtLine, (line) => parseLine(logfmt, line));
});

describe('plain and severity', () => {
  const plain = parserOf({ parser: 'plain' });
  fuzz('random and mutated lines', textInputs(PLAIN_LINES, 400), (line) => {
    parseLine(plain, line);
    expectTyped('detectSeverity', line, () => detectSeverity(line));
  });
  fuzz('level values of any JSON type', fc.jsonValue(), (v) => {
    expectTyped('normalizeSeverity', v, () => normalizeSeverity(v));
  });
});

describe('regex', () => {
  const nginx = parserOf({ parser: 'regex', pattern: NGINX, time_format: '%d/%b/%Y:%H:%M:%S %z' });
  fuzz('an nginx pattern over random and mutated access lines', textInputs(NGINX_LINES, 300), (line) => parseLine(nginx, line));
  // Patterns are the user's (checked when the config loads); a pattern that backtracks by itself
  // (`[^ ]*[^ ]*…`) is the user's to fix, so fragments here carry only small bounded quantifiers and
  // at most one unbounded one at the end: a slow call is then the parser's.
  const patternFragments = ['(?<a>', '(?<level>', '(?<message>', '(?<time>', ')', '\\S{1,3}', '\\d{1,3}', '[^ ]{0,3}', ' ', '.', '(', '|', '^', '$', '\\', '?', '[', ']'];
  const pattern = fc.tuple(fromFragments(patternFragments, 8), fc.constantFrom('', '.*', '(?<rest>.*)$', '\\S+')).map(([p, tail]) => p + tail);
  fuzz('patterns from fragments: refused with a reason, or a parser that never throws', fc.tuple(pattern, mutatedText(NGINX_LINES, 2)), ([pattern, line]) => {
    const problem = expectTyped('regexPatternProblem', pattern, () => regexPatternProblem(pattern));
    if (!problem.ok || problem.value !== undefined) return;
    parseLine(parserOf({ parser: 'regex', pattern }), line);
    expectTyped('compileRegexParser', { pattern, line }, () => compileRegexParser(pattern)(line));
  });
});

describe('time formats', () => {
  const directives = [...'YymdeHIMSfLzZbBhaApjsTFDRnt%'].map((d) => `%${d}`);
  const formatArb = fromFragments([...directives, ' ', '-', ':', '/', '.', 'T', '[', '(', '\\', '%', 'x'], 10);
  // Long runs of blanks and digits: what makes adjacent quantifiers of a pattern backtrack.
  const runs = fc.tuple(fc.constantFrom('', '12:00:00', '2026-01-01', 'Nov 23', '23/Nov/2026:'), fc.constantFrom(' ', '\t', '1', ' 1', ': '), fc.integer({ min: 100, max: 4000 }), fc.constantFrom('', 'x', 'Z', ' ')).map(([head, unit, n, tail]) => head + unit.repeat(n) + tail);
  const valueArb = fc.oneof(
    randomText(60),
    runs,
    fc.double(),
    fc.integer(),
    fc.constantFrom('2026-11-23T10:00:00Z', '23/Nov/2026:11:00:00 +0100', 'Nov 23 10:00:00', '1795428000', '-1795428000', '1e999999999', '9'.repeat(300), '+99999-01-01', '2026-02-29T24:60:61Z'),
  );
  fuzz('a format compiles or is refused with TimeFormatError; its parser never throws', fc.tuple(formatArb, fc.array(valueArb, { maxLength: 4 })), ([format, values]) => {
    const compiled = expectTyped('compileTimeFormat', format, () => compileTimeFormat(format, () => NOW), TimeFormatError);
    if (!compiled.ok) return;
    for (const v of values) expectTyped(`time format ${format}`, v, () => compiled.value(v));
  });
  fuzz('the keyword formats over any value', fc.tuple(fc.constantFrom('rfc3339', 'unix_s', 'unix_ms', 'unix_ns'), valueArb), ([format, v]) => {
    const parse = compileTimeFormat(format, () => NOW);
    const r = expectTyped(`time format ${format}`, v, () => parse(v));
    // A time is a time: anything outside int64 nanoseconds is not one.
    if (r.ok && r.value !== undefined) expect(r.value > -(1n << 64n) && r.value < 1n << 64n).toBe(true);
  });
});
