/**
 * PromQL: the parser (lezer grammar plus this project's AST and type checks) and the engine's
 * evaluation over a tiny real head. Any query text parses or throws PromQLError; any query that
 * parses evaluates or throws PromQLError (bad_data, execution, timeout) — never a TypeError, a
 * stack overflow, or an allocation sized by a number in the query.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseDurationParam, parseTime } from '../../pipeline/realtime/api/prom-api.js';
import { Engine } from '../../pipeline/realtime/promql/engine.js';
import { FUNCTIONS } from '../../pipeline/realtime/promql/functions-table.js';
import { parseExpr } from '../../pipeline/realtime/promql/parse.js';
import { PromQLError } from '../../pipeline/realtime/promql/value.js';
import { Head, HeadQuerier } from '../../pipeline/realtime/tsdb/index.js';
import { expectTyped, fromFragments, fuzz, mutatedText, randomText } from './kit.js';

/** Every query of the promqltest files: valid, varied, and what users write. */
const dataDir = fileURLToPath(new URL('../data/promql/', import.meta.url));
const CORPUS = readdirSync(dataDir)
  .filter((f) => f.endsWith('.test'))
  .flatMap((f) => readFileSync(dataDir + f, 'utf8').split('\n'))
  .map((l) => /^eval(?:_fail|_ordered)? (?:instant|range) (?:at \S+ )?(?:from \S+ to \S+ step \S+ )?(.+)$/.exec(l)?.[1])
  .filter((q): q is string => q !== undefined && q.trim() !== '');

// A tiny head: a few series of every shape the functions care about (counters with resets, gauges, histogram buckets, stale markers).
const T0 = 1_795_428_000_000;
const head = new Head({ windowMs: 3_600_000 });
for (let i = 0; i <= 40; i++) {
  const t = T0 + i * 15_000;
  const add = (name: string, labels: Record<string, string>, value: number, stale = false) => head.append({ name, labels, timestampMs: t, value, type: 'gauge', ...(stale ? { stale } : {}) });
  add('http_requests_total', { job: 'api', instance: 'a:9090', code: '200' }, i % 10 === 9 ? 0 : i * 3);
  add('http_requests_total', { job: 'api', instance: 'b:9090', code: '500' }, i * 0.5);
  add('node_load1', { instance: 'a:9090' }, i % 7 === 6 ? NaN : Math.sin(i), i === 20);
  for (const le of ['0.1', '1', '+Inf']) add('req_seconds_bucket', { job: 'api', le }, i * Number(le === '+Inf' ? 3 : le === '1' ? 2 : 1));
  add('weird', { job: 'ä"\\\n', instance: '' }, i === 3 ? Infinity : -i);
}
const querier = new HeadQuerier(head);
// Bounds small enough that a runaway query ends in a typed error within the per-call cap.
const engine = new Engine({ timeoutMs: 150, maxSamples: 200_000, maxPointsPerSeries: 2_000 });
const END = T0 + 600_000;

const DURATIONS = ['5m', '1h', '30s', '0s', '1ms', '15s', '1y', '2w', '1d1h', '1h30m', '999999999y', '1e3', '-5m', '100000000000d'];
const NUMBERS = ['1', '0', '-1', '0.5', 'NaN', 'Inf', '-Inf', '1e308', '5e-324', '0x1F', '1e400', '-0', '99999999999999999999'];
const SELECTORS = ['http_requests_total', 'node_load1', 'req_seconds_bucket', 'weird', 'nothing', '{job="api"}', '{__name__=~"http.*"}', 'http_requests_total{code!="200"}', '{instance=~".+",job!~"x|y"}', '{__name__=~"(a|b)?[^c]*"}', 'up{job=""}'];
const LABELS = ['job', 'instance', 'code', 'le', '__name__', 'x'];
const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'];
const PARAM_AGGREGATIONS = ['topk', 'bottomk', 'quantile', 'count_values'];
const BINOPS = ['+', '-', '*', '/', '%', '^', 'atan2', '==', '!=', '>', '<', '>=', '<=', '> bool', 'and', 'or', 'unless'];
const MATCHING = ['', ' on(job)', ' ignoring(instance)', ' on(job) group_left(code)', ' ignoring(code) group_right', ' on()'];
const STRINGS = ['"a"', '"$1"', '"(.*):.*"', '"job"', '"x"', '"\\\\"', "'single'", '`raw`', '""', '"(a+)+"', '"["'];

/** Expressions built from the grammar: types often wrong on purpose, shapes always plausible. */
const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...NUMBERS),
    fc.constantFrom(...SELECTORS),
    fc.constantFrom(...STRINGS),
    fc.tuple(fc.constantFrom(...SELECTORS), fc.constantFrom(...DURATIONS)).map(([s, d]) => `${s}[${d}]`),
    fc.tuple(fc.constantFrom(...Object.keys(FUNCTIONS)), fc.array(tie('e'), { maxLength: 4 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(fc.constantFrom(...AGGREGATIONS), fc.constantFrom('', ' by (job)', ' without (instance, le)', ' by ()'), tie('e')).map(([a, g, e]) => `${a}${g} (${e})`),
    fc.tuple(fc.constantFrom(...PARAM_AGGREGATIONS), fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(...STRINGS)), tie('e')).map(([a, p, e]) => `${a}(${p}, ${e})`),
    fc.tuple(tie('e'), fc.constantFrom(...BINOPS), fc.constantFrom(...MATCHING), tie('e')).map(([l, op, m, r]) => `${l} ${op}${m} ${r}`),
    tie('e').map((e) => `(${e})`),
    tie('e').map((e) => `-${e}`),
    fc.tuple(tie('e'), fc.constantFrom(...DURATIONS), fc.constantFrom('', ...DURATIONS)).map(([e, r, s]) => `(${e})[${r}:${s}]`),
    fc.tuple(tie('e'), fc.constantFrom(...DURATIONS)).map(([e, d]) => `${e} offset ${d}`),
    fc.tuple(tie('e'), fc.constantFrom('start()', 'end()', '0', '1795428300', '-1e20', '1e20', 'NaN')).map(([e, t]) => `${e} @ ${t}`),
    fc.tuple(fc.constantFrom('label_replace', 'label_join'), fc.constantFrom(...SELECTORS), fc.array(fc.constantFrom(...STRINGS, ...LABELS.map((l) => `"${l}"`)), { minLength: 3, maxLength: 5 })).map(([f, s, a]) => `${f}(${s}, ${a.join(', ')})`),
  ),
})).e;

const FRAGMENTS = [...SELECTORS, ...NUMBERS, ...BINOPS.map((b) => ` ${b} `), '(', ')', '[', ']', '{', '}', ':', ',', ' by ', ' offset ', ' @ ', 'rate(', 'sum(', '"', '#', '\n', '=~', '5m', 'bool', 'on(', 'group_left'];

const queries = fc.oneof(
  { arbitrary: expr, weight: 4 },
  { arbitrary: mutatedText(CORPUS), weight: 3 },
  { arbitrary: fromFragments(FRAGMENTS, 16), weight: 2 },
  { arbitrary: randomText(120), weight: 1 },
  // Deep nesting: parentheses, unary minus and function calls far past the depth limit.
  { arbitrary: fc.tuple(fc.constantFrom('(', '-', 'abs(', 'sum(', '-(', 'rate(x['), fc.integer({ min: 50, max: 20_000 }), fc.boolean()).map(([open, n, closed]) => open.repeat(n) + '1' + (closed ? (open.includes('(') ? ')' : '').repeat(n) : '')), weight: 1 },
);

describe('PromQL', () => {
  fuzz('any text parses or throws PromQLError', queries, (q) => {
    expectTyped('parseExpr', q, () => parseExpr(q), PromQLError);
  }, 800);

  let evaluated = 0;
  fuzz('what parses evaluates (instant and range) or throws PromQLError', expr, (q) => {
    let parsed;
    try {
      parsed = parseExpr(q);
    } catch {
      return;
    }
    evaluated++;
    expectTyped('instantQuery', q, () => engine.instantQuery(querier, parsed, END), PromQLError);
    expectTyped('rangeQuery', q, () => engine.rangeQuery(querier, parsed, T0, END, 30_000), PromQLError);
  }, 500);

  test('the grammar generator reaches the engine (not only parse errors)', () => {
    expect(evaluated).toBeGreaterThan(50);
  });

  // The HTTP API's own readers of start, end and step (its error class is private: any non-crash Error is its 400).
  const apiTime = fc.oneof(fc.constantFrom('1795428300', '1795428300.123', '1e400', '-1e400', '2026-11-23T10:00:00Z', '2026-13-45T99:99:99Z', 'NaN', '', '.5', '1e-400', '0x10'), fc.double().map(String), randomText(20));
  const apiStep = fc.oneof(fc.constantFrom('15', '15s', '1m30s', '0', '-1', '1e400', '0.0001', '999999999999y', 'ms', '1h1h', ''), fc.double().map(String), randomText(12));
  fuzz('API start, end and step as text: parsed or refused, then evaluated or PromQLError', fc.tuple(apiTime, apiTime, apiStep), ([s, e, st]) => {
    const start = expectTyped('parseTime', s, () => parseTime(s, 'start'), Error);
    const end = expectTyped('parseTime', e, () => parseTime(e, 'end'), Error);
    const step = expectTyped('parseDurationParam', st, () => parseDurationParam(st, 'step'), Error);
    if (start.ok && end.ok && step.ok) expectTyped('rangeQuery', { s, e, st }, () => engine.rangeQuery(querier, 'rate(http_requests_total[5m])', start.value, end.value, step.value), PromQLError);
  }, 300);

  fuzz('range queries with hostile start, end and step', fc.tuple(fc.constantFrom('http_requests_total', 'rate(http_requests_total[5m])', 'sum(node_load1)', 'time()', 'max_over_time(node_load1[1h:1ms])'), fc.double(), fc.double(), fc.double()), ([q, start, end, step]) => {
    expectTyped('rangeQuery', { q, start, end, step }, () => engine.rangeQuery(querier, q, start, end, step), PromQLError);
    expectTyped('instantQuery', { q, start }, () => engine.instantQuery(querier, q, start), PromQLError);
  }, 60);
});
