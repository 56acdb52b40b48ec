/**
 * What other programs send or expose to the collector: syslog messages (RFC 5424 and 3164) and
 * the Prometheus text exposition format. A message that does not parse is kept (syslog) or
 * reported by line (exposition); neither parser throws, and both are linear in their input.
 */
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { parseExposition, parseGoFloat } from '../../collector/sources/prom-text.js';
import { parseSyslog } from '../../collector/sources/syslog-parse.js';
import { TcpFramer } from '../../collector/sources/syslog.js';
import { expectTyped, fromFragments, fuzz, mutatedBytes, mutatedText, randomBytes, textInputs } from './kit.js';

const ctx = { service: 'syslog', peer: '10.0.0.9', nowMs: Date.UTC(2026, 11, 5, 7, 0, 0) };

const SYSLOG = [
  '<165>1 2003-10-11T22:14:15.003123Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][x@1 a="b\\"c\\]d"] \uFEFFAn application event\n',
  '<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed for lonvick on /dev/pts/8',
  '<13>1 - - - - - -',
  '<191>Dec  5 06:59:59 host app: msg with [brackets] and "quotes"\u0000\r\n',
];

/** RFC 5424 from its grammar: PRI, version, nil or odd fields, SD elements with escapes, a body. */
const syslog5424 = fc
  .tuple(
    fc.oneof(fc.integer({ min: 0, max: 999 }), fc.constantFrom(-1, 191, 192)),
    fc.constantFrom('1', '0', '999', 'x'),
    fc.constantFrom('-', '2026-12-05T07:00:00Z', '2026-12-05T07:00:00.123456789+01:00', '2026-13-45T99:99:99Z', '1e9', 'Sat, 05 Dec 2026'),
    fc.constantFrom('-', 'host', '', 'h\u00e9'),
    fc.array(
      fc.tuple(fc.constantFrom('a', 'x@1', '__proto__', 'constructor', ''), fc.array(fc.tuple(fc.constantFrom('k', '__proto__', '', 'a b'), fc.string({ unit: fc.constantFrom('a', '"', '\\', ']', ' ', '='), maxLength: 8 })), { maxLength: 3 })),
      { maxLength: 4 },
    ),
    fc.string({ maxLength: 30 }),
  )
  .map(([pri, version, time, host, sd, msg]) => {
    const elements = sd.length === 0 ? '-' : sd.map(([id, params]) => `[${id}${params.map(([k, v]) => ` ${k}="${v}"`).join('')}]`).join('');
    return `<${pri}>${version} ${time} ${host} app 12 ID ${elements} ${msg}`;
  });

/** Thousands of SD elements or parameters in one message: what made the element reader quadratic. */
const manyElements = fc
  .tuple(fc.integer({ min: 500, max: 5000 }), fc.constantFrom('[a%i b="c"]', '[a%i]', '[a b%i="c"]', '[a%i b="\\"\\]"]'))
  .map(([n, shape]) => `<13>1 - - - - - ${Array.from({ length: n }, (_, i) => shape.replace('%i', String(i))).join('')} body`);

const EXPOSITION = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

const EXPOSITION_FRAGMENTS = ['\n', '# TYPE ', '# HELP ', 'x', 'x_total', 'x_bucket', 'x_sum', 'x_count', ' counter', ' histogram', ' summary', ' gauge', ' untyped', ' bogus', '{', '}', 'le="', 'quantile="', 'a="', '"', ',', '=', '\\', ' ', '\t', '1', '-1', '+Inf', 'NaN', '0x1F', '1e400', '1395066363000', '9'.repeat(30), '\r'];

describe('syslog', () => {
  fuzz('random, mutated and grammar-built messages: a record, never an exception', fc.oneof(textInputs(SYSLOG, 300), syslog5424), (message) => {
    const r = expectTyped('parseSyslog', message, () => parseSyslog(message, ctx));
    if (r.ok) {
      expect(typeof r.value.body).toBe('string');
      expect(typeof r.value.timeUnixNano).toBe('bigint');
    }
  }, 800);

  fuzz('thousands of structured-data elements are read in linear time', manyElements, (message) => {
    expectTyped('parseSyslog', message.length, () => parseSyslog(message, ctx));
  }, 20);
});

describe('syslog over TCP: framing', () => {
  const MAX = 1024;
  /** Messages through a framer fed `chunks`; the framer stops at the first refusal, as the connection does. */
  const frame = (chunks: Uint8Array[]) => {
    const messages: string[] = [];
    let refused: string | undefined;
    const framer = new TcpFramer(MAX, (m) => messages.push(m), (why) => (refused ??= why));
    for (const c of chunks) {
      if (refused !== undefined) break;
      framer.push(Buffer.from(c));
    }
    if (refused === undefined) framer.end();
    return { messages, refused };
  };
  /** A stream of octet-counted and LF-terminated messages, as RFC 6587 senders write them. */
  const stream = fc
    .array(fc.tuple(fc.boolean(), fc.string({ maxLength: 40 })), { minLength: 1, maxLength: 6 })
    .map((msgs) => Buffer.concat(msgs.map(([counted, m]) => (counted ? Buffer.concat([Buffer.from(`${Buffer.byteLength(m)} `), Buffer.from(m)]) : Buffer.from(`<13>${m.replace(/\n/g, ' ')}\n`)))));
  /** Cut points: the same bytes delivered in arbitrary segments. */
  const split = (bytes: Uint8Array, cuts: number[]) => {
    const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let prev = 0;
    for (const c of at) {
      out.push(bytes.subarray(prev, c));
      prev = c;
    }
    out.push(bytes.subarray(prev));
    return out;
  };

  fuzz('any bytes in any segments: messages or a refusal, never an exception, never over max_line_bytes', fc.tuple(fc.oneof(randomBytes(300), mutatedBytes(fc.array(stream, { minLength: 1, maxLength: 1 }).map((s) => Uint8Array.from(s[0]!)), 4), stream.map((b) => Uint8Array.from(b))), fc.array(fc.nat(), { maxLength: 8 })), ([bytes, cuts]) => {
    const r = expectTyped('TcpFramer', bytes, () => frame(split(bytes, cuts)));
    if (r.ok) for (const m of r.value.messages) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(MAX * 3);
  }, 500);

  fuzz('segmentation does not change the messages', fc.tuple(stream, fc.array(fc.nat(), { maxLength: 10 })), ([bytes, cuts]) => {
    const whole = frame([bytes]);
    expect(frame(split(bytes, cuts))).toEqual(whole);
  }, 300);
});

describe('Prometheus text exposition', () => {
  fuzz('random, mutated and grammar-built scrapes: samples and line errors, never an exception', fc.oneof(textInputs([EXPOSITION], 300), mutatedText([EXPOSITION], 8), fromFragments(EXPOSITION_FRAGMENTS, 40)), (text) => {
    const r = expectTyped('parseExposition', text, () => parseExposition(text, 1_795_428_000_000));
    if (r.ok) {
      expect(r.value.errors.length).toBeLessThanOrEqual(10);
      for (const s of r.value.samples) expect(typeof s.value === 'number' && typeof s.timestampMs === 'number').toBe(true);
    }
  }, 600);

  fuzz('large scrapes (many series, many labels, long values) are read in linear time', fc.tuple(fc.integer({ min: 1000, max: 10_000 }), fc.constantFrom('series', 'labels', 'escapes')).map(([n, shape]) => {
    if (shape === 'series') return Array.from({ length: n }, (_, i) => `x{a="${i}"} ${i}`).join('\n');
    if (shape === 'labels') return `x{${Array.from({ length: n }, (_, i) => `a${i}="v"`).join(',')}} 1`;
    return `x{a="${'\\"'.repeat(n)}"} 1`;
  }), (text) => {
    expectTyped('parseExposition', text.length, () => parseExposition(text, 0));
  }, 12);

  fuzz('Go floats: a number or undefined', fc.oneof(fromFragments(['+', '-', '0', '1', '.', 'e', 'E', 'x', 'X', 'f', 'inf', 'Inf', 'NaN', 'infinity', '_', ' '], 8), fc.double().map(String)), (s) => {
    expectTyped('parseGoFloat', s, () => parseGoFloat(s));
  });
});
