/**
 * PromQL parser: `@prometheus-io/lezer-promql` builds the concrete tree, this module turns it into a
 * typed AST with Prometheus 2.x's semantics and type checks, and reports errors as Prometheus does
 * (`1:5: parse error: ...`).
 *
 * The lezer grammar is the one of Prometheus 3.x's UI; where it differs from 2.x we correct here:
 * it folds a sign into a number literal, so `-2 ^ 2` would be `(-2) ^ 2`; it binds unary minus
 * tighter than `offset`/`@`; and it no longer knows `holt_winters`.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { LabelMatcher, MatchType } from '../storage.js';
import { compileRegex, PromQLError } from './value.js';
import { FUNCTIONS, NATIVE_HISTOGRAM_FUNCTIONS, type ValueType } from './functions-table.js';

export type { ValueType };

export interface PosRange { start: number; end: number }

/** `@` modifier: a fixed time (ms), or the query's start/end. */
export type AtModifier = { kind: 'time'; ms: number } | { kind: 'start' } | { kind: 'end' };

export interface NumberLiteral { type: 'NumberLiteral'; value: number; pos: PosRange }
export interface StringLiteral { type: 'StringLiteral'; value: string; pos: PosRange }
export interface VectorSelector {
  type: 'VectorSelector';
  name?: string;
  matchers: LabelMatcher[];
  offsetMs: number;
  at: AtModifier | null;
  pos: PosRange;
}
export interface MatrixSelector { type: 'MatrixSelector'; vector: VectorSelector; rangeMs: number; pos: PosRange }
export interface SubqueryExpr {
  type: 'SubqueryExpr';
  expr: Expr;
  rangeMs: number;
  /** 0 means the default (the evaluation interval). */
  stepMs: number;
  offsetMs: number;
  at: AtModifier | null;
  pos: PosRange;
}
export interface Call { type: 'Call'; func: string; args: Expr[]; pos: PosRange }
export type AggregateOp =
  | 'sum' | 'min' | 'max' | 'avg' | 'group' | 'stddev' | 'stdvar' | 'count' | 'count_values' | 'bottomk' | 'topk' | 'quantile';
export interface AggregateExpr {
  type: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  param: Expr | null;
  grouping: string[];
  without: boolean;
  pos: PosRange;
}
export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '^' | 'atan2'
  | '==' | '!=' | '>' | '<' | '>=' | '<='
  | 'and' | 'or' | 'unless';
export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** True for on(...), false for ignoring(...) or no clause. */
  on: boolean;
  labels: string[];
  /** Labels listed in group_left(...)/group_right(...). */
  include: string[];
}
export interface BinaryExpr {
  type: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  returnBool: boolean;
  /** Null when at least one side is a scalar. */
  matching: VectorMatching | null;
  pos: PosRange;
}
export interface UnaryExpr { type: 'UnaryExpr'; op: '-' | '+'; expr: Expr; pos: PosRange }
export interface ParenExpr { type: 'ParenExpr'; expr: Expr; pos: PosRange }

export type Expr =
  | NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | SubqueryExpr
  | Call | AggregateExpr | BinaryExpr | UnaryExpr | ParenExpr;

export interface ParseOptions {
  /** Longest accepted expression, in characters. */
  maxLength?: number;
  /** Deepest accepted nesting of expressions. */
  maxDepth?: number;
}

export const DEFAULT_MAX_QUERY_LENGTH = 65_536;
export const DEFAULT_MAX_DEPTH = 200;

const COMPARISON = new Set(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set(['and', 'or', 'unless']);
export const isComparison = (op: string): boolean => COMPARISON.has(op);
export const isSetOp = (op: string): boolean => SET_OPS.has(op);

const BINARY_TOKENS: Record<string, BinaryOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Atan2: 'atan2',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=',
  And: 'and', Or: 'or', Unless: 'unless',
};

const EXPR_NODES = new Set([
  'BinaryExpr', 'ParenExpr', 'UnaryExpr', 'NumberDurationLiteral', 'StringLiteral', 'VectorSelector',
  'MatrixSelector', 'SubqueryExpr', 'OffsetExpr', 'StepInvariantExpr', 'FunctionCall', 'AggregateExpr',
]);

/** Minimal view of a lezer node, so this module does not depend on @lezer/common's types. */
interface Node {
  name: string;
  from: number;
  to: number;
  isError: boolean;
  children: Node[];
}

export function typeName(t: ValueType): string {
  switch (t) {
    case 'scalar': return 'scalar';
    case 'string': return 'string';
    case 'vector': return 'instant vector';
    case 'matrix': return 'range vector';
  }
}

export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral': return 'scalar';
    case 'StringLiteral': return 'string';
    case 'VectorSelector': return 'vector';
    case 'MatrixSelector': return 'matrix';
    case 'SubqueryExpr': return 'matrix';
    case 'Call': return FUNCTIONS[e.func]!.returns;
    case 'AggregateExpr': return 'vector';
    case 'BinaryExpr': return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr': return exprType(e.expr);
    case 'ParenExpr': return exprType(e.expr);
  }
}

/** Replaces `holt_winters(` (gone from the 3.x grammar) with an equally long function name, so positions stay right. */
const HW = 'holt_winters';
const HW_STANDIN = 'day_of_month';

function maskHoltWinters(input: string): { text: string; at: Set<number> } {
  const at = new Set<number>();
  if (!input.includes(HW)) return { text: input, at };
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === '"' || c === "'" || c === '`') {
      const end = skipString(input, i);
      out += input.slice(i, end);
      i = end;
      continue;
    }
    if (c === '#') {
      const nl = input.indexOf('\n', i);
      const end = nl < 0 ? input.length : nl;
      out += input.slice(i, end);
      i = end;
      continue;
    }
    if (/[A-Za-z_:]/.test(c)) {
      let j = i;
      while (j < input.length && /[\w:]/.test(input[j]!)) j++;
      const word = input.slice(i, j);
      let k = j;
      while (k < input.length && /\s/.test(input[k]!)) k++;
      if (word === HW && input[k] === '(') {
        at.add(i);
        out += HW_STANDIN;
      } else {
        out += word;
      }
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, at };
}

/** End (exclusive) of the quoted string starting at i, or -1 when it is not terminated. */
function stringEnd(s: string, i: number): number {
  const q = s[i]!;
  let j = i + 1;
  while (j < s.length) {
    if (s[j] === '\\' && q !== '`') { j += 2; continue; }
    if (s[j] === q) return j + 1;
    j++;
  }
  return -1;
}

function skipString(s: string, i: number): number {
  const q = s[i]!;
  let j = i + 1;
  while (j < s.length) {
    if (s[j] === '\\' && q !== '`') { j += 2; continue; }
    if (s[j] === q) return j + 1;
    j++;
  }
  return s.length;
}

function toNode(cursor: ReturnType<ReturnType<typeof parser.parse>['cursor']>): Node {
  const node: Node = { name: cursor.name, from: cursor.from, to: cursor.to, isError: cursor.type.isError, children: [] };
  if (cursor.firstChild()) {
    do {
      if (cursor.name !== 'LineComment') node.children.push(toNode(cursor));
    } while (cursor.nextSibling());
    cursor.parent();
  }
  return node;
}

function firstError(n: Node, depth = 0): { node: Node; depth: number } | null {
  if (n.isError) return { node: n, depth };
  for (const c of n.children) {
    const e = firstError(c, depth + 1);
    if (e) return e;
  }
  return null;
}

export function parseExpr(input: string, opts: ParseOptions = {}): Expr {
  const maxLength = opts.maxLength ?? DEFAULT_MAX_QUERY_LENGTH;
  if (input.length > maxLength) {
    throw new PromQLError('bad_data', `query is too long: ${input.length} characters, the limit (max query length) is ${maxLength}`);
  }
  const p = new Parser(input, opts.maxDepth ?? DEFAULT_MAX_DEPTH);
  return p.parse();
}

class Parser {
  private readonly masked: { text: string; at: Set<number> };
  private depth = 0;

  constructor(private readonly input: string, private readonly maxDepth: number) {
    this.masked = maskHoltWinters(input);
  }

  fail(pos: number, msg: string): never {
    const before = this.input.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - (before.lastIndexOf('\n') + 1) + 1;
    throw new PromQLError('bad_data', `${line}:${col}: parse error: ${msg}`, pos);
  }

  parse(): Expr {
    if (this.input.trim() === '') this.fail(0, 'no expression found in input');
    this.checkBrackets();
    const tree = parser.parse(this.masked.text);
    const root = toNode(tree.cursor());
    const err = firstError(root);
    if (err) {
      // The grammar gives up on very deep nesting with a bare syntax error; name the limit instead.
      if (err.depth > this.maxDepth) this.fail(err.node.from, `expression nesting depth exceeds the limit (max nesting depth) of ${this.maxDepth}`);
      this.syntaxError(err.node);
    }
    this.rejectUnsupported(root);
    const exprs = root.children.filter((c) => EXPR_NODES.has(c.name));
    if (exprs.length !== 1) this.fail(0, 'no expression found in input');
    const e = this.expr(exprs[0]!);
    return e;
  }

  /** Constructs of the 3.x grammar that Prometheus 2.x does not have get a 400 naming them. */
  private rejectUnsupported(n: Node): void {
    const names: Record<string, string> = {
      AnchoredExpr: 'the "anchored" modifier',
      SmoothedExpr: 'the "smoothed" modifier',
      FillModifier: 'fill modifiers',
      FillClause: 'fill modifiers',
      FillLeftClause: 'fill modifiers',
      FillRightClause: 'fill modifiers',
      // Found by test/fuzz: `0>/0` lexes as a 3.x trim operator, which the binary reader did not know (TypeError).
      TrimUpper: 'a "</" or ">/" trim operator',
      TrimLower: 'a "</" or ">/" trim operator',
    };
    const what = names[n.name];
    if (what) this.fail(n.from, `${what} is not supported (it is not part of Prometheus 2.x)`);
    for (const c of n.children) this.rejectUnsupported(c);
  }

  /** Unbalanced brackets give Prometheus's specific messages rather than a generic "unexpected". */
  private checkBrackets(): void {
    const s = this.input;
    const stack: { c: string; pos: number }[] = [];
    const close: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
    const names: Record<string, string> = { '(': 'parenthesis', '[': 'bracket', '{': 'brace' };
    const tooDeep = `expression nesting depth exceeds the limit (max nesting depth) of ${this.maxDepth}`;
    // A run of signs is a chain of unary expressions, one level each (lezer takes ~0.4 s on 16,000).
    let signs = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === '-' || c === '+') {
        if (++signs > this.maxDepth + 1) this.fail(i, tooDeep);
      } else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') signs = 0;
      if (c === '"' || c === "'" || c === '`') {
        const end = stringEnd(s, i);
        if (end < 0) this.fail(i, 'unterminated quoted string');
        i = end - 1;
        continue;
      }
      if (c === '#') {
        const nl = s.indexOf('\n', i);
        if (nl < 0) break;
        i = nl;
        continue;
      }
      if (c === '(' || c === '[' || c === '{') {
        stack.push({ c, pos: i });
        // Each bracket level but the innermost is an expression level too, so deeper brackets are
        // refused here: lezer's error recovery on thousands of levels takes about a second.
        if (stack.length > this.maxDepth + 1) this.fail(i, tooDeep);
      } else if (c in close) {
        const top = stack.pop();
        const want = close[c]!;
        if (!top) {
          const what = c === ')' ? "right parenthesis ')'" : c === ']' ? "right bracket ']'" : "right brace '}'";
          this.fail(i, `unexpected ${what}`);
        }
        if (top.c !== want) this.fail(i, `unexpected character: '${c}', unclosed left ${names[top.c]}`);
      }
    }
    const open = stack.pop();
    if (open) {
      if (open.c === '{') this.fail(s.length, 'unexpected end of input inside braces');
      this.fail(open.pos, `unclosed left ${names[open.c]}`);
    }
  }

  private syntaxError(err: Node): never {
    const s = this.input;
    let pos = err.from;
    while (pos < s.length && /\s/.test(s[pos]!)) pos++;
    if (pos >= s.length) this.fail(s.length, 'unexpected end of input');
    // An identifier directly followed by "(" that the grammar did not take as a call is an unknown function.
    const before = s.slice(0, pos).replace(/\s+$/, '');
    const ident = /([A-Za-z_][\w:]*)$/.exec(before);
    if (s[pos] === '(' && ident && ident[1]) {
      this.fail(before.length - ident[1].length, `unknown function with name ${JSON.stringify(ident[1])}`);
    }
    this.fail(pos, `unexpected ${describeToken(s, pos)}`);
  }

  private text(n: Node): string {
    return this.input.slice(n.from, n.to);
  }

  private exprChildren(n: Node): Node[] {
    return n.children.filter((c) => EXPR_NODES.has(c.name));
  }

  private child(n: Node, name: string): Node | undefined {
    return n.children.find((c) => c.name === name);
  }

  private expr(n: Node): Expr {
    if (++this.depth > this.maxDepth) {
      this.fail(n.from, `expression nesting depth exceeds the limit (max nesting depth) of ${this.maxDepth}`);
    }
    try {
      return this.exprInner(n);
    } finally {
      this.depth--;
    }
  }

  private exprInner(n: Node): Expr {
    const pos = { start: n.from, end: n.to };
    switch (n.name) {
      case 'NumberDurationLiteral':
        return { type: 'NumberLiteral', value: this.number(n), pos };
      case 'StringLiteral':
        return { type: 'StringLiteral', value: this.string(n), pos };
      case 'ParenExpr': {
        const [inner] = this.exprChildren(n);
        if (!inner) this.fail(n.from, 'no expression found in parentheses');
        return { type: 'ParenExpr', expr: this.expr(inner), pos };
      }
      case 'UnaryExpr': {
        const op = this.text(this.child(n, 'UnaryOp')!) as '-' | '+';
        const [inner] = this.exprChildren(n);
        const e = this.expr(inner!);
        const t = exprType(e);
        if (t !== 'scalar' && t !== 'vector') {
          this.fail(n.from, `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(typeName(t))}`);
        }
        return { type: 'UnaryExpr', op, expr: e, pos };
      }
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'MatrixSelector':
        return this.matrixSelector(n);
      case 'SubqueryExpr':
        return this.subquery(n);
      case 'OffsetExpr':
      case 'StepInvariantExpr':
        return this.modifier(n);
      case 'FunctionCall':
        return this.call(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'BinaryExpr':
        return this.binary(n);
      default:
        this.fail(n.from, `unsupported expression ${JSON.stringify(this.text(n))} (${n.name})`);
    }
  }

  private number(n: Node): number {
    let t = this.text(n).replace(/\s+/g, '');
    let sign = 1;
    if (t.startsWith('-') || t.startsWith('+')) {
      if (t[0] === '-') sign = -1;
      t = t.slice(1);
    }
    const lower = t.toLowerCase();
    let v: number;
    if (lower === 'inf') v = Infinity;
    else if (lower === 'nan') v = NaN;
    else if (/^0x[0-9a-f]+$/.test(lower)) v = parseInt(lower.slice(2), 16);
    else if (/^0[0-7]+$/.test(lower)) v = parseInt(lower, 8);
    else if (/^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(lower)) v = Number(lower);
    else if (/^(\d+(y|w|d|h|ms|m|s))+$/.test(lower)) v = this.duration(t, n.from, true) / 1000;
    else this.fail(n.from, `bad number or duration syntax: ${JSON.stringify(this.text(n))}`);
    return sign * v;
  }

  /** Go's strconv.Unquote for the three PromQL quote styles. */
  private string(n: Node): string {
    const raw = this.text(n);
    const q = raw[0];
    const body = raw.slice(1, -1);
    if (q === '`') return body;
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c !== '\\') { out += c; continue; }
      const e = body[++i];
      switch (e) {
        case 'a': out += '\x07'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case "'": out += "'"; break;
        case 'x': out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16)); i += 2; break;
        case 'u': out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 5), 16)); i += 4; break;
        case 'U': out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 9), 16)); i += 8; break;
        default:
          if (e !== undefined && /[0-7]/.test(e)) {
            out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8));
            i += 2;
          } else {
            this.fail(n.from, `invalid syntax in string ${raw}: unknown escape sequence`);
          }
      }
    }
    return out;
  }

  /** Prometheus durations: `1h30m`, `5m`, `1y` (= 365d); returns ms. */
  duration(text: string, pos: number, allowZero = false): number {
    const units: Record<string, number> = { y: 365 * 86400e3, w: 7 * 86400e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
    const t = text.trim();
    if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
    const re = /(\d+)(ms|y|w|d|h|m|s)/gy;
    let ms = 0;
    let m: RegExpExecArray | null;
    let last = 0;
    const order = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
    let prevUnit = -1;
    while ((m = re.exec(t))) {
      const u = order.indexOf(m[2]!);
      if (u <= prevUnit) this.fail(pos, `not a valid duration string: ${JSON.stringify(t)}`);
      prevUnit = u;
      ms += Number(m[1]) * units[m[2]!]!;
      last = re.lastIndex;
    }
    if (last !== t.length || t === '') this.fail(pos, `not a valid duration string: ${JSON.stringify(t)}`);
    if (ms === 0 && !allowZero) this.fail(pos, 'duration must be greater than 0');
    return ms;
  }

  private durationExpr(n: Node, allowZero = false): number {
    const lit = n.children.length === 1 ? n.children[0] : undefined;
    if (!lit || lit.name !== 'NumberDurationLiteralInDurationContext') {
      this.fail(n.from, `duration expressions are not supported (Prometheus 2.x has none): ${JSON.stringify(this.text(n))}`);
    }
    return this.duration(this.text(lit), lit.from, allowZero);
  }

  private offsetDuration(n: Node): number {
    const neg = this.child(n, 'UnaryOp');
    const inner = this.child(n, 'OffsetDurationExpr');
    if (neg && inner) return (this.text(neg) === '-' ? -1 : 1) * this.offsetDuration(inner);
    const lit = n.children.length === 1 ? n.children[0] : undefined;
    if (!lit || lit.name !== 'NumberDurationLiteralInDurationContext') {
      this.fail(n.from, `duration expressions are not supported (Prometheus 2.x has none): ${JSON.stringify(this.text(n))}`);
    }
    return this.duration(this.text(lit), lit.from, true);
  }

  private vectorSelector(n: Node): VectorSelector {
    const pos = { start: n.from, end: n.to };
    const ident = this.child(n, 'Identifier');
    let name = ident ? this.text(ident) : undefined;
    const matchers: LabelMatcher[] = [];
    const lm = this.child(n, 'LabelMatchers');
    for (const m of lm?.children ?? []) {
      if (m.name === 'QuotedLabelName') {
        const v = this.string(m.children[0]!);
        if (name !== undefined) this.fail(m.from, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(v)}`);
        name = v;
        continue;
      }
      if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
      const ln = m.children[0]!;
      const label = ln.name === 'QuotedLabelName' ? this.string(ln.children[0]!) : this.text(ln);
      const op = this.text(this.child(m, 'MatchOp')!) as MatchType;
      const value = this.string(this.child(m, 'StringLiteral') ?? m.children[m.children.length - 1]!);
      if (op === '=~' || op === '!~') {
        try {
          compileRegex(value);
        } catch (err) {
          this.fail(m.from, (err as Error).message);
        }
      }
      matchers.push({ name: label, type: op, value });
    }
    if (name !== undefined) {
      for (const m of matchers) {
        if (m.name === '__name__' && m.type === '=') this.fail(n.from, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(m.value)}`);
      }
      matchers.unshift({ name: '__name__', type: '=', value: name });
    }
    // Prometheus refuses selectors that would match every series.
    const nonEmpty = matchers.some((m) => !matchesEmpty(m));
    if (!nonEmpty) this.fail(n.from, 'vector selector must contain at least one non-empty matcher');
    return { type: 'VectorSelector', ...(name !== undefined ? { name } : {}), matchers, offsetMs: 0, at: null, pos };
  }

  private matrixSelector(n: Node): MatrixSelector {
    const [inner] = this.exprChildren(n);
    const d = this.child(n, 'DurationExpr');
    if (!inner || !d) this.fail(n.from, 'unexpected range');
    if (inner.name === 'OffsetExpr' || inner.name === 'StepInvariantExpr') {
      this.fail(inner.from, 'no offset or @ modifiers allowed before range');
    }
    if (inner.name === 'UnaryExpr') {
      // The grammar reads `-x[5m]` as (-x)[5m]; Prometheus as -(x[5m]), a unary minus on a range vector.
      this.fail(n.from, 'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"');
    }
    if (inner.name !== 'VectorSelector') this.fail(n.from, 'ranges only allowed for vector selectors');
    const vector = this.vectorSelector(inner);
    return { type: 'MatrixSelector', vector, rangeMs: this.durationExpr(d), pos: { start: n.from, end: n.to } };
  }

  private subquery(n: Node): SubqueryExpr {
    const [inner] = this.exprChildren(n);
    const ds = n.children.filter((c) => c.name === 'DurationExpr');
    const e = this.expr(inner!);
    const t = exprType(e);
    if (t !== 'vector') this.fail(n.from, `subquery is only allowed on instant vector, got ${typeName(t)} "${this.text(inner!)}" instead`);
    return {
      type: 'SubqueryExpr',
      expr: e,
      rangeMs: this.durationExpr(ds[0]!),
      stepMs: ds[1] ? this.durationExpr(ds[1]) : 0,
      offsetMs: 0,
      at: null,
      pos: { start: n.from, end: n.to },
    };
  }

  /** `offset` and `@`, which 2.x binds tighter than unary minus, and which may each appear once. */
  private modifier(n: Node): Expr {
    const [inner] = this.exprChildren(n);
    const e = this.expr(inner!);
    const apply = (target: Expr): Expr => {
      if (target.type === 'UnaryExpr') return { ...target, expr: apply(target.expr) };
      const sel = target.type === 'MatrixSelector' ? target.vector : target;
      if (sel.type !== 'VectorSelector' && sel.type !== 'SubqueryExpr') {
        if (n.name === 'OffsetExpr') this.fail(n.from, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
        this.fail(n.from, '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
      }
      if (n.name === 'OffsetExpr') {
        if (sel.offsetMs !== 0) this.fail(n.from, 'offset may not be set multiple times');
        sel.offsetMs = this.offsetDuration(this.child(n, 'OffsetDurationExpr')!);
      } else {
        if (sel.at) this.fail(n.from, '@ <timestamp> may not be set multiple times');
        sel.at = this.atValue(n);
      }
      return target;
    };
    return apply(e);
  }

  private atValue(n: Node): AtModifier {
    const pre = this.child(n, 'AtModifierPreprocessors');
    if (pre) return this.text(pre).startsWith('start') ? { kind: 'start' } : { kind: 'end' };
    const num = this.child(n, 'NumberDurationLiteral');
    if (!num) this.fail(n.from, 'unexpected @ modifier argument');
    const v = this.number(num);
    if (!Number.isFinite(v) || Math.abs(v * 1000) > 9.2e18) this.fail(num.from, `timestamp out of bounds for @ modifier: ${v}`);
    return { kind: 'time', ms: Math.round(v * 1000) };
  }

  private call(n: Node): Expr {
    const idNode = this.child(n, 'FunctionIdentifier')!;
    let name = this.text(idNode);
    if (this.masked.at.has(idNode.from)) name = HW;
    const body = this.child(n, 'FunctionCallBody');
    const argNodes = body ? this.exprChildren(body) : [];
    if (NATIVE_HISTOGRAM_FUNCTIONS.has(name)) {
      this.fail(n.from, `native histograms are not supported: function ${JSON.stringify(name)}`);
    }
    const def = FUNCTIONS[name];
    if (!def) this.fail(n.from, `function ${JSON.stringify(name)} is not supported (it is not part of Prometheus 2.x)`);
    const args = argNodes.map((a) => this.expr(a));
    const min = def.args.length - def.optional;
    const max = def.variadic ? Infinity : def.args.length;
    if (args.length < min || args.length > max) {
      if (def.variadic || def.optional) {
        if (args.length < min) this.fail(n.from, `expected at least ${min} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
        this.fail(n.from, `expected at most ${max} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
      }
      this.fail(n.from, `expected ${def.args.length} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
    }
    args.forEach((a, i) => {
      const want = def.args[Math.min(i, def.args.length - 1)]!;
      const got = exprType(a);
      if (got !== want) this.fail(argNodes[i]!.from, `expected type ${typeName(want)} in call to function ${JSON.stringify(name)}, got ${typeName(got)}`);
    });
    return { type: 'Call', func: name, args, pos: { start: n.from, end: n.to } };
  }

  private grouping(n: Node): string[] {
    const g = this.child(n, 'GroupingLabels');
    return (g?.children ?? [])
      .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')
      .map((c) => (c.name === 'QuotedLabelName' ? this.string(c.children[0]!) : this.text(c)));
  }

  private aggregate(n: Node): AggregateExpr {
    const op = this.text(this.child(n, 'AggregateOp')!) as AggregateOp;
    if (op === ('limitk' as string) || op === ('limit_ratio' as string)) {
      this.fail(n.from, `aggregation ${JSON.stringify(op)} is not supported (it is not part of Prometheus 2.x)`);
    }
    const mod = this.child(n, 'AggregateModifier');
    const without = !!mod && !!this.child(mod, 'Without');
    const grouping = mod ? this.grouping(mod) : [];
    const body = this.child(n, 'FunctionCallBody')!;
    const argNodes = this.exprChildren(body);
    const hasParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    const want = hasParam ? 2 : 1;
    if (argNodes.length !== want) {
      this.fail(n.from, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${argNodes.length}`);
    }
    const args = argNodes.map((a) => this.expr(a));
    const param = hasParam ? args[0]! : null;
    const expr = args[args.length - 1]!;
    if (param) {
      const pt = exprType(param);
      const wantT: ValueType = op === 'count_values' ? 'string' : 'scalar';
      if (pt !== wantT) this.fail(argNodes[0]!.from, `expected type ${typeName(wantT)} in aggregation parameter, got ${typeName(pt)}`);
    }
    const et = exprType(expr);
    if (et !== 'vector') this.fail(argNodes[argNodes.length - 1]!.from, `expected type instant vector in aggregation expression, got ${typeName(et)}`);
    return { type: 'AggregateExpr', op, expr, param, grouping, without, pos: { start: n.from, end: n.to } };
  }

  private binary(n: Node): Expr {
    const [ln, rn] = this.exprChildren(n);
    const opNode = n.children.find((c) => c.name in BINARY_TOKENS);
    if (!opNode) this.fail(n.from, `unsupported binary operator in ${JSON.stringify(this.text(n).slice(0, 40))}`);
    const op = BINARY_TOKENS[opNode.name]!;
    // The grammar lexes `-2 ^ 2` as (-2) ^ 2; Prometheus parses it as -(2 ^ 2).
    if (op === '^' && ln!.name === 'NumberDurationLiteral' && /^[+-]/.test(this.text(ln!))) {
      const t = this.text(ln!);
      const num: NumberLiteral = { type: 'NumberLiteral', value: this.number({ ...ln!, from: ln!.from + 1 }), pos: { start: ln!.from + 1, end: ln!.to } };
      const rhs = this.expr(rn!);
      const inner = this.checkBinary(n, op, num, rhs);
      return t.startsWith('-') ? { type: 'UnaryExpr', op: '-', expr: inner, pos: { start: n.from, end: n.to } } : inner;
    }
    const lhs = this.expr(ln!);
    const rhs = this.expr(rn!);
    return this.checkBinary(n, op, lhs, rhs);
  }

  private checkBinary(n: Node, op: BinaryOp, lhs: Expr, rhs: Expr): BinaryExpr {
    const boolMod = !!this.child(n, 'BoolModifier');
    const clause = this.child(n, 'MatchingModifierClause');
    if (this.child(n, 'FillModifier') || (clause && this.child(clause, 'FillModifier'))) {
      this.fail(n.from, 'fill modifiers are not supported (they are not part of Prometheus 2.x)');
    }
    const lt = exprType(lhs);
    const rt = exprType(rhs);
    if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) {
      this.fail(n.from, 'binary expression must contain only scalar and instant vector types');
    }
    if (boolMod && !isComparison(op)) this.fail(n.from, 'bool modifier can only be used on comparison operators');
    if (lt === 'scalar' && rt === 'scalar') {
      if (isComparison(op) && !boolMod) this.fail(n.from, 'comparisons between scalars must use BOOL modifier');
    }
    if (isSetOp(op) && (lt === 'scalar' || rt === 'scalar')) {
      this.fail(n.from, `set operator ${JSON.stringify(op)} not allowed in binary scalar expression`);
    }
    let matching: VectorMatching | null = null;
    if (clause && (lt !== 'vector' || rt !== 'vector')) this.fail(n.from, 'vector matching only allowed between instant vectors');
    if (lt === 'vector' && rt === 'vector') {
      matching = { card: isSetOp(op) ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
      if (clause) {
        const groups = clause.children.filter((c) => c.name === 'GroupingLabels');
        const labelsOf = (g: Node | undefined): string[] =>
          (g?.children ?? [])
            .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')
            .map((c) => (c.name === 'QuotedLabelName' ? this.string(c.children[0]!) : this.text(c)));
        matching.on = !!this.child(clause, 'On');
        matching.labels = labelsOf(groups[0]);
        const gl = this.child(clause, 'GroupLeft');
        const gr = this.child(clause, 'GroupRight');
        if (gl || gr) {
          if (isSetOp(op)) this.fail(n.from, `no grouping allowed for ${JSON.stringify(op)} operation`);
          matching.card = gl ? 'many-to-one' : 'one-to-many';
          matching.include = labelsOf(groups[1]);
          if (matching.on) {
            for (const l of matching.include) {
              if (matching.labels.includes(l)) this.fail(n.from, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`);
            }
          }
        }
      }
    }
    return { type: 'BinaryExpr', op, lhs, rhs, returnBool: boolMod, matching, pos: { start: n.from, end: n.to } };
  }
}

function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=': return m.value === '';
    case '!=': return m.value !== '';
    case '=~': return compileRegex(m.value).test('');
    case '!~': return !compileRegex(m.value).test('');
  }
}

function describeToken(s: string, pos: number): string {
  const rest = s.slice(pos);
  let m: RegExpExecArray | null;
  if ((m = /^[A-Za-z_][\w:]*/.exec(rest))) return `identifier ${JSON.stringify(m[0])}`;
  if ((m = /^(0x[0-9a-fA-F]+|\d+(\.\d*)?(e[+-]?\d+)?|\.\d+)([a-z]+)?/.exec(rest))) {
    return m[4] ? `duration ${JSON.stringify(m[0])}` : `number ${JSON.stringify(m[0])}`;
  }
  if ((m = /^("([^"\\]|\\.)*"|'([^'\\]|\\.)*'|`[^`]*`)/.exec(rest))) return `string ${m[0]}`;
  const c = rest[0]!;
  const named: Record<string, string> = {
    '(': "left parenthesis '('", ')': "right parenthesis ')'", '[': "left bracket '['", ']': "right bracket ']'",
    '{': "left brace '{'", '}': "right brace '}'", ',': '","', '=': '"="', ':': '":"', '@': '"@"',
  };
  if (named[c]) return named[c];
  if (/[-+*/%^<>=!]/.test(c)) return `operator ${JSON.stringify(/^(==|!=|>=|<=|=~|!~|[-+*/%^<>=!])/.exec(rest)![0])}`;
  return `character: '${c}'`;
}
