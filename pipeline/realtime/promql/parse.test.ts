import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { parseExpr, type Expr } from './parse.js';
import { MemQuerier } from './test-querier.js';
import { PromQLError } from './value.js';

const scalar = (q: string): number => {
  const r = new Engine().instantQuery(new MemQuerier(), q, 0);
  if (r.resultType !== 'scalar') throw new Error(`not a scalar: ${r.resultType}`);
  return r.v;
};

function parseError(q: string, opts = {}): PromQLError {
  try {
    parseExpr(q, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(PromQLError);
    return err as PromQLError;
  }
  throw new Error(`expected ${q} to fail`);
}

/** Renders the AST with explicit parentheses, to check grouping. */
function show(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral': return String(e.value);
    case 'StringLiteral': return JSON.stringify(e.value);
    case 'VectorSelector': return (e.name ?? '{}') + (e.offsetMs ? ` offset ${e.offsetMs}` : '') + (e.at ? ` @ ${JSON.stringify(e.at)}` : '');
    case 'MatrixSelector': return `${show(e.vector)}[${e.rangeMs}]`;
    case 'SubqueryExpr': return `${show(e.expr)}[${e.rangeMs}:${e.stepMs}]`;
    case 'Call': return `${e.func}(${e.args.map(show).join(', ')})`;
    case 'AggregateExpr': return `${e.op}${e.grouping.length ? ` ${e.without ? 'without' : 'by'}(${e.grouping.join(',')})` : ''}(${e.param ? show(e.param) + ', ' : ''}${show(e.expr)})`;
    case 'BinaryExpr': return `(${show(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''} ${show(e.rhs)})`;
    case 'UnaryExpr': return `(${e.op}${show(e.expr)})`;
    case 'ParenExpr': return show(e.expr);
  }
}

describe('precedence and associativity', () => {
  it.each([
    ['2 ^ 3 ^ 2', 512],
    ['-2 ^ 2', -4],
    ['- 2 ^ 2', -4],
    ['-2 ^ 3 ^ 2', -512],
    ['1 - 2 - 3', -4],
    ['2 * 3 % 4', 2],
    ['1 + 2 * 3', 7],
    ['8 / 2 / 2', 2],
    ['2 ^ 2 * 3', 12],
    ['1 + 2 == bool 3', 1],
    ['-(1) + 2', 1],
    ['1 == bool 1 == bool 1', 1],
  ])('%s = %d', (q, v) => {
    expect(scalar(q)).toBe(v);
  });

  it.each([
    ['a or b and c unless d', '(a or ((b and c) unless d))'],
    ['a + b * c ^ d ^ e', '(a + (b * (c ^ (d ^ e))))'],
    ['a > b == c', '((a > b) == c)'],
    ['a atan2 b * c', '((a atan2 b) * c)'],
    ['-a ^ 2', '(-(a ^ 2))'],
    ['-a offset 5m', '(-a offset 300000)'],
    ['-a @ 10', '(-a @ {"kind":"time","ms":10000})'],
    ['sum by (x) (rate(a[5m])) / 2', '(sum by(x)(rate(a[300000])) / 2)'],
    ['a[1h30m:5m]', 'a[5400000:300000]'],
  ])('%s groups as %s', (q, want) => {
    expect(show(parseExpr(q))).toBe(want);
  });
});

describe('AST', () => {
  it('parses selectors with matchers, negative offset and @ start()/end()', () => {
    const e = parseExpr('rate(foo{a="b",c=~"d.*",e!="f",g!~"h"}[5m] offset -1h30m @ start())');
    expect(e.type).toBe('Call');
    if (e.type !== 'Call') return;
    const m = e.args[0]!;
    expect(m.type).toBe('MatrixSelector');
    if (m.type !== 'MatrixSelector') return;
    expect(m.rangeMs).toBe(300_000);
    expect(m.vector.offsetMs).toBe(-5_400_000);
    expect(m.vector.at).toEqual({ kind: 'start' });
    expect(m.vector.matchers).toEqual([
      { name: '__name__', type: '=', value: 'foo' },
      { name: 'a', type: '=', value: 'b' },
      { name: 'c', type: '=~', value: 'd.*' },
      { name: 'e', type: '!=', value: 'f' },
      { name: 'g', type: '!~', value: 'h' },
    ]);
    expect(parseExpr('foo @ end()')).toMatchObject({ at: { kind: 'end' } });
  });

  it('parses vector matching and grouping', () => {
    expect(parseExpr('a / on(x, y) group_left(z) b')).toMatchObject({
      type: 'BinaryExpr', op: '/', matching: { card: 'many-to-one', on: true, labels: ['x', 'y'], include: ['z'] },
    });
    expect(parseExpr('a - ignoring(x) group_right b')).toMatchObject({ matching: { card: 'one-to-many', on: false, labels: ['x'], include: [] } });
    expect(parseExpr('a and b')).toMatchObject({ matching: { card: 'many-to-many' } });
    expect(parseExpr('a > bool 1')).toMatchObject({ returnBool: true, matching: null });
    expect(parseExpr('topk without (a) (3, x)')).toMatchObject({ type: 'AggregateExpr', op: 'topk', without: true, grouping: ['a'], param: { value: 3 } });
    expect(parseExpr('count_values("v", x)')).toMatchObject({ op: 'count_values', param: { type: 'StringLiteral', value: 'v' } });
  });

  it('parses literals', () => {
    expect(parseExpr('0x1F')).toMatchObject({ value: 31 });
    expect(parseExpr('1e3')).toMatchObject({ value: 1000 });
    expect(parseExpr('Inf')).toMatchObject({ value: Infinity });
    expect((parseExpr('NaN') as { value: number }).value).toBeNaN();
    expect(parseExpr(`'a\\'b'`)).toMatchObject({ value: "a'b" });
    expect(parseExpr('"a\\nb\\u00e9"')).toMatchObject({ value: 'a\nbé' });
    expect(parseExpr('`raw\\n`')).toMatchObject({ value: 'raw\\n' });
    expect(parseExpr('x # a comment')).toMatchObject({ type: 'VectorSelector', name: 'x' });
  });

  it('knows holt_winters although the 3.x grammar does not, and only as a function', () => {
    expect(parseExpr('holt_winters(x[5m], 0.5, 0.5)')).toMatchObject({ type: 'Call', func: 'holt_winters' });
    expect(parseExpr('label_replace(x, "a", "holt_winters(", "b", "")')).toMatchObject({
      args: [{}, {}, { value: 'holt_winters(' }, {}, {}],
    });
  });
});

describe('errors', () => {
  it.each([
    ['1 +', '1:4: parse error: unexpected end of input'],
    ['foo{', '1:5: parse error: unexpected end of input inside braces'],
    ['foo bar', '1:5: parse error: unexpected identifier "bar"'],
    ['sum(x', '1:4: parse error: unclosed left parenthesis'],
    ['x[5m', '1:2: parse error: unclosed left bracket'],
    ['x)', "1:2: parse error: unexpected right parenthesis ')'"],
    ['foo(x)', '1:1: parse error: unknown function with name "foo"'],
    ['"abc', '1:1: parse error: unterminated quoted string'],
    ['1 > 2', 'comparisons between scalars must use BOOL modifier'],
    ['rate(x)', 'expected type range vector in call to function "rate", got instant vector'],
    ['rate(x[5m], 1)', 'expected 1 argument(s) in call to "rate", got 2'],
    ['round()', 'expected at least 1 argument(s) in call to "round", got 0'],
    ['sum(x[5m])', 'expected type instant vector in aggregation expression, got range vector'],
    ['topk(x, y)', 'expected type scalar in aggregation parameter, got instant vector'],
    ['x and 1', 'set operator "and" not allowed in binary scalar expression'],
    ['x + bool y', 'bool modifier can only be used on comparison operators'],
    ['x and on(a) group_left y', 'no grouping allowed for "and" operation'],
    ['x + on(a) group_left(a) y', 'label "a" must not occur in ON and GROUP clause at once'],
    ['1 + on(a) x', 'vector matching only allowed between instant vectors'],
    ['x[5m] + 1', 'binary expression must contain only scalar and instant vector types'],
    ['{a=""}', 'vector selector must contain at least one non-empty matcher'],
    ['{a=~".*"}', 'vector selector must contain at least one non-empty matcher'],
    ['foo{__name__="bar"}', 'metric name must not be set twice: "foo" or "bar"'],
    ['x[5m][10m:]', 'subquery is only allowed on instant vector, got range vector'],
    ['x offset 5m offset 1m', 'offset may not be set multiple times'],
    ['x @ 1 @ 2', '@ <timestamp> may not be set multiple times'],
    ['sum(x) offset 5m', 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['x{a=~"("}', 'error parsing regexp'],
    ['-x[5m]', 'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'],
    ['', 'no expression found in input'],
  ])('%s → %s', (q, msg) => {
    const err = parseError(q);
    expect(err.type).toBe('bad_data');
    expect(err.message).toContain(msg);
  });

  it('names native histogram functions and 3.x-only constructs', () => {
    expect(parseError('histogram_count(x)').message).toContain('native histograms are not supported: function "histogram_count"');
    expect(parseError('histogram_fraction(0, 1, x)').message).toContain('native histograms are not supported');
    expect(parseError('limitk(1, x)').message).toContain('aggregation "limitk" is not supported');
    expect(parseError('mad_over_time(x[5m])').message).toContain('function "mad_over_time" is not supported');
    expect(parseError('x[5m+1m]').message).toContain('duration expressions are not supported');
    expect(parseError('rate(x[5m] anchored)').message).toContain('the "anchored" modifier is not supported');
    expect(parseError('x smoothed').message).toContain('the "smoothed" modifier is not supported');
    expect(parseError('a + fill(0) b').message).toContain('fill modifiers');
  });

  it('reports positions on later lines', () => {
    expect(parseError('sum(\n  x\n) by (a) foo').message).toMatch(/^3:\d+: parse error: unexpected identifier "foo"/);
  });

  it('limits expression length and nesting depth, naming the limit', () => {
    expect(parseError('x + x', { maxLength: 3 }).message).toBe('query is too long: 5 characters, the limit (max query length) is 3');
    const deep = '('.repeat(50) + '1' + ')'.repeat(50);
    expect(parseError(deep, { maxDepth: 20 }).message).toContain('expression nesting depth exceeds the limit (max nesting depth) of 20');
    expect(() => parseExpr(deep, { maxDepth: 60 })).not.toThrow();
    expect(parseError('('.repeat(300) + 'x' + ')'.repeat(300)).message).toContain('of 200');
    expect(parseError('('.repeat(20_000) + '1' + ')'.repeat(20_000)).message).toContain('max nesting depth');
    // The default depth limit stops pathological nesting before the recursion could overflow.
    expect(parseError('-'.repeat(1000) + '1').message).toContain('max nesting depth');
  });

  // Found by test/fuzz: `>/` and `</` lex as 3.x trim operators, unknown to the binary reader (a TypeError, a 500).
  it('refuses the 3.x trim operators with a parse error', () => {
    for (const q of ['0>/0', '0</0', 'x >/ y']) expect(parseError(q).message, q).toMatch(/^1:\d+: parse error: a "<\/" or ">\/" trim operator is not supported/);
  });

  // Found by test/fuzz: lezer's error recovery took ~1 s on 4,000 nested calls (32 KB), so deep
  // brackets and sign runs are refused by a linear pre-scan before the grammar runs.
  it('refuses deep nesting of calls, brackets and signs in linear time', () => {
    const started = performance.now();
    for (const q of ['sum('.repeat(8000) + '1' + ')'.repeat(8000), 'abs('.repeat(4000) + '1' + ')'.repeat(4000), '('.repeat(16_000) + '1' + ')'.repeat(16_000), '-'.repeat(30_000) + '1', '- '.repeat(20_000) + '1', 'sum('.repeat(8000)]) {
      expect(parseError(q).message, q.slice(0, 10)).toContain('max nesting depth');
    }
    expect(performance.now() - started).toBeLessThan(1000);
    // Up to the limit is still accepted, and a long flat query is not deep.
    expect(() => parseExpr('('.repeat(199) + '1' + ')'.repeat(199))).not.toThrow();
    expect(() => parseExpr(Array(150).fill('x').join(' - '))).not.toThrow();
    expect(() => parseExpr('1 - -1 + +1 - - -1')).not.toThrow();
  });
});
