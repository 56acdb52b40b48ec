/**
 * Alert label and annotation templates: a small, safe subset of Go's text/template as Prometheus
 * uses it. Supported inside `{{ }}` (with `{{-`/`-}}` trimming):
 *
 * - variables: `$labels.name`, `$labels` (rendered as a map), `$value`, `$externalLabels.name`,
 *   `$externalURL`; `.Labels.x`, `.Value`, `.ExternalLabels.x` as aliases
 * - literals: `"string"`, numbers
 * - calls `fn arg…` and pipes `x | fn arg…` (the piped value is the last argument), parentheses
 * - functions: humanize, humanize1024, humanizePercentage, humanizeDuration, printf, toUpper,
 *   toLower, title, stripPort
 *
 * There is no `if`/`range`/`define`, no query function and no method calls: templates cannot run
 * queries or loop, so a rule file cannot slow the evaluator. Anything else is a compile error,
 * which `pharos rules check` reports.
 */
import type { Labels } from '../model.js';

export interface TemplateData {
  labels: Labels;
  value: number;
  externalLabels?: Labels;
  externalURL?: string;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

type Val = string | number | Labels;

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline };
type Operand =
  | { kind: 'lit'; value: string | number }
  | { kind: 'var'; root: 'labels' | 'value' | 'externalLabels' | 'externalURL'; field?: string }
  | { kind: 'paren'; pipe: Pipeline }
  | { kind: 'fn'; name: string };
interface Command { operands: Operand[] }
type Pipeline = Command[];

const FUNCS: Record<string, (args: Val[]) => Val> = {
  humanize: (a) => humanize(num(a, 'humanize')),
  humanize1024: (a) => humanize1024(num(a, 'humanize1024')),
  humanizePercentage: (a) => goG(num(a, 'humanizePercentage') * 100, 4) + '%',
  humanizeDuration: (a) => humanizeDuration(num(a, 'humanizeDuration')),
  toUpper: (a) => str(a, 'toUpper').toUpperCase(),
  toLower: (a) => str(a, 'toLower').toLowerCase(),
  title: (a) => str(a, 'title').replace(/\b\w/g, (c) => c.toUpperCase()),
  stripPort: (a) => {
    const s = str(a, 'stripPort');
    const m = /^\[(.*)\]:\d+$/.exec(s) ?? /^([^:]*):\d+$/.exec(s);
    return m ? m[1]! : s;
  },
  printf: (a) => {
    const [fmt, ...rest] = a;
    if (typeof fmt !== 'string') throw new TemplateError('printf: the first argument must be a format string');
    return sprintf(fmt, rest);
  },
};

function num(args: Val[], fn: string): number {
  if (args.length !== 1) throw new TemplateError(`${fn}: expected 1 argument, got ${args.length}`);
  const v = args[0]!;
  if (typeof v === 'number') return v;
  // Prometheus converts strings (a label value) to floats for the humanize family.
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  throw new TemplateError(`${fn}: cannot convert ${JSON.stringify(v)} to a number`);
}

function str(args: Val[], fn: string): string {
  if (args.length !== 1) throw new TemplateError(`${fn}: expected 1 argument, got ${args.length}`);
  return toText(args[0]!);
}

export interface Template {
  readonly source: string;
  render(data: TemplateData): string;
}

/** Compiles a template; throws TemplateError with the reason (unknown function, bad syntax). */
export function compileTemplate(source: string): Template {
  const nodes = parse(source);
  return {
    source,
    render: (data) => {
      let out = '';
      for (const n of nodes) out += n.kind === 'text' ? n.text : toText(evalPipe(n.pipe, data));
      return out;
    },
  };
}

/** The reason a template does not compile, or undefined. */
export function checkTemplate(source: string): string | undefined {
  try {
    compileTemplate(source);
    return undefined;
  } catch (e) {
    if (e instanceof TemplateError) return e.message;
    throw e;
  }
}

/**
 * Renders, and on a runtime error returns the error text in place of the output, as Prometheus
 * does (`<error expanding template: …>`): a broken annotation must not stop the alert.
 */
export function expandTemplate(t: Template, data: TemplateData): string {
  try {
    return t.render(data);
  } catch (e) {
    if (e instanceof TemplateError) return `<error expanding template: ${e.message}>`;
    throw e;
  }
}

function parse(src: string): Node[] {
  const nodes: Node[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    let text = open < 0 ? src.slice(pos) : src.slice(pos, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) nodes.push({ kind: 'text', text });
      break;
    }
    let inner = open + 2;
    if (src.startsWith('- ', inner) || src.startsWith('-\t', inner) || src.startsWith('-\n', inner)) {
      text = text.replace(/\s+$/, '');
      inner += 1;
    }
    if (text) nodes.push({ kind: 'text', text });
    const close = findClose(src, inner);
    if (close < 0) throw new TemplateError(`unclosed action starting at offset ${open}`);
    let body = src.slice(inner, close);
    trimNext = false;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    const trimmed = body.trim();
    if (trimmed.startsWith('/*') && trimmed.endsWith('*/')) {
      pos = close + 2;
      continue;
    }
    const toks = tokenize(body);
    const p = new Parser(toks);
    const pipe = p.pipeline();
    if (!p.done()) throw new TemplateError(`unexpected "${p.peek()}" in action "${trimmed}"`);
    nodes.push({ kind: 'action', pipe });
    pos = close + 2;
  }
  return nodes;
}

/** `}}` outside a string literal. */
function findClose(src: string, from: number): number {
  let inStr = false;
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '}' && src[i + 1] === '}') return i;
  }
  return -1;
}

function tokenize(body: string): string[] {
  const toks: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|[|()]|[^\s|()"]+)/y;
  let pos = 0;
  while (pos < body.length) {
    if (/^\s*$/.test(body.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) throw new TemplateError(`cannot parse "${body.trim()}"`);
    toks.push(m[1]!);
    pos = re.lastIndex;
  }
  if (toks.length === 0) throw new TemplateError('empty action {{ }}');
  return toks;
}

/** Compiling and rendering recurse per parenthesis: a deeper template is refused, not a stack overflow. */
const MAX_PAREN_DEPTH = 100;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: string[]) {}
  done(): boolean {
    return this.i >= this.toks.length;
  }
  peek(): string | undefined {
    return this.toks[this.i];
  }
  pipeline(): Pipeline {
    const cmds: Command[] = [this.command()];
    while (this.peek() === '|') {
      this.i++;
      const c = this.command();
      if (c.operands[0]?.kind !== 'fn') throw new TemplateError('a pipe must lead into a function');
      cmds.push(c);
    }
    return cmds;
  }
  private command(): Command {
    const operands: Operand[] = [];
    for (let t = this.peek(); t !== undefined && t !== '|' && t !== ')'; t = this.peek()) operands.push(this.operand());
    if (operands.length === 0) throw new TemplateError('missing value in pipeline');
    const first = operands[0]!;
    if (first.kind !== 'fn' && operands.length > 1) throw new TemplateError('only a function takes arguments');
    return { operands };
  }
  private operand(): Operand {
    const t = this.toks[this.i++]!;
    if (t === '(') {
      if (++this.depth > MAX_PAREN_DEPTH) throw new TemplateError(`parentheses nested deeper than ${MAX_PAREN_DEPTH}`);
      const pipe = this.pipeline();
      if (this.toks[this.i++] !== ')') throw new TemplateError('unclosed parenthesis');
      this.depth--;
      return { kind: 'paren', pipe };
    }
    if (t.startsWith('"')) {
      try {
        return { kind: 'lit', value: JSON.parse(t) as string };
      } catch {
        throw new TemplateError(`bad string literal ${t}`);
      }
    }
    if (t.startsWith('`')) return { kind: 'lit', value: t.slice(1, -1) };
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return { kind: 'lit', value: Number(t) };
    const v = /^(\$labels|\.Labels|\$externalLabels|\.ExternalLabels)(?:\.([a-zA-Z_][a-zA-Z0-9_]*))?$/.exec(t);
    if (v) {
      const root = v[1] === '$labels' || v[1] === '.Labels' ? 'labels' : 'externalLabels';
      return v[2] === undefined ? { kind: 'var', root } : { kind: 'var', root, field: v[2] };
    }
    if (t === '$value' || t === '.Value') return { kind: 'var', root: 'value' };
    if (t === '$externalURL' || t === '.ExternalURL') return { kind: 'var', root: 'externalURL' };
    if (t.startsWith('$') || t.startsWith('.')) throw new TemplateError(`undefined variable "${t}"`);
    if (t in FUNCS) return { kind: 'fn', name: t };
    if (/^[a-zA-Z_]\w*$/.test(t)) throw new TemplateError(`function "${t}" not defined`);
    throw new TemplateError(`unexpected "${t}"`);
  }
}

function evalPipe(pipe: Pipeline, data: TemplateData): Val {
  let prev: Val | undefined;
  for (const cmd of pipe) {
    const [head, ...rest] = cmd.operands;
    if (head!.kind === 'fn') {
      const args = rest.map((o) => evalOperand(o, data));
      if (prev !== undefined) args.push(prev);
      prev = FUNCS[head!.name]!(args);
    } else {
      prev = evalOperand(head!, data);
    }
  }
  return prev!;
}

function evalOperand(o: Operand, data: TemplateData): Val {
  switch (o.kind) {
    case 'lit':
      return o.value;
    case 'paren':
      return evalPipe(o.pipe, data);
    case 'fn':
      return FUNCS[o.name]!([]);
    case 'var':
      switch (o.root) {
        case 'value':
          return data.value;
        case 'externalURL':
          return data.externalURL ?? '';
        case 'labels':
        case 'externalLabels': {
          const map = (o.root === 'labels' ? data.labels : data.externalLabels) ?? {};
          // A missing label renders empty, as Go's map lookup gives "<no value>" only for `.field` on nil.
          return o.field === undefined ? map : (map[o.field] ?? '');
        }
      }
  }
}

function toText(v: Val): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v, -1);
  const keys = Object.keys(v).sort();
  return 'map[' + keys.map((k) => `${k}:${v[k]}`).join(' ') + ']';
}

/** Go's `%g` (strconv 'g'): prec -1 is the shortest representation, as `%v` prints a float64. */
export function goG(v: number, prec: number): string {
  return goFloat(v, prec);
}

function goFloat(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const neg = v < 0;
  // toExponential takes at most 100 digits (Go prints more; a double has no more significant ones).
  const exp = prec < 0 ? Math.abs(v).toExponential() : Math.abs(v).toExponential(Math.min(Math.max(prec, 1) - 1, 100));
  const [mant, e] = exp.split('e') as [string, string];
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  const x = Number(e);
  let eprec = prec < 0 ? 6 : prec === 0 ? 1 : prec;
  if (prec >= 0 && eprec > digits.length && digits.length >= x + 1) eprec = digits.length;
  let out: string;
  if (x < -4 || x >= eprec) {
    const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    out = `${m}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  } else if (x < 0) {
    out = '0.' + '0'.repeat(-x - 1) + digits;
  } else if (digits.length <= x + 1) {
    out = digits + '0'.repeat(x + 1 - digits.length);
  } else {
    out = digits.slice(0, x + 1) + '.' + digits.slice(x + 1);
  }
  return neg ? '-' + out : out;
}

function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goFloat(v, 4);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return goFloat(v, 4) + prefix;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return goFloat(v, 4) + prefix;
}

function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return goFloat(v, 4);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return goFloat(v, 4) + prefix;
}

function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return goFloat(v, 4);
  if (v === 0) return '0s';
  const sign = v < 0 ? '-' : '';
  v = Math.abs(v);
  if (v >= 1) {
    const total = Math.trunc(v);
    const days = Math.trunc(total / 86400);
    const hours = Math.trunc(total / 3600) % 24;
    const minutes = Math.trunc(total / 60) % 60;
    const seconds = total % 60;
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${goFloat(v, 4)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (v >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${sign}${goFloat(v, 4)}${prefix}s`;
}

/** Go's fmt refuses a width or precision past 1e6 (%!(BADWIDTH)): a template cannot ask for a gigabyte of padding. */
const MAX_FMT_SIZE = 1e6;

/** printf verbs: %s %v %d %f %e %g %q %x %%, with width, precision and the - + 0 flags. */
function sprintf(fmt: string, args: Val[]): string {
  let i = 0;
  return fmt.replace(/%([-+0 ]*)(\d+)?(?:\.(\d+))?([svdfeEgqx%])/g, (_m, flags: string, width: string | undefined, precS: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (width !== undefined && Number(width) > MAX_FMT_SIZE) return '%!(BADWIDTH)';
    if (precS !== undefined && Number(precS) > MAX_FMT_SIZE) return '%!(BADPREC)';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++]!;
    const prec = precS === undefined ? undefined : Number(precS);
    let s: string;
    const n = typeof a === 'number' ? a : typeof a === 'string' && a.trim() !== '' && !Number.isNaN(Number(a)) ? Number(a) : undefined;
    switch (verb) {
      case 's':
      case 'v':
        s = toText(a);
        if (prec !== undefined && typeof a === 'string') s = s.slice(0, prec);
        break;
      case 'q':
        s = JSON.stringify(toText(a));
        break;
      case 'd':
        if (n === undefined) return `%!d(${typeof a}=${toText(a)})`;
        s = String(Math.trunc(n));
        break;
      case 'x':
        if (n === undefined) s = Buffer.from(toText(a)).toString('hex');
        else s = Math.trunc(n).toString(16);
        break;
      case 'f':
        if (n === undefined) return `%!f(${typeof a}=${toText(a)})`;
        // toFixed and toExponential take at most 100 digits.
        s = Number.isFinite(n) ? n.toFixed(Math.min(prec ?? 6, 100)) : goFloat(n, -1);
        break;
      case 'e':
      case 'E': {
        if (n === undefined) return `%!${verb}(${typeof a}=${toText(a)})`;
        s = n.toExponential(Math.min(prec ?? 6, 100)).replace(/e([-+])(\d)$/, 'e$10$2');
        if (verb === 'E') s = s.toUpperCase();
        break;
      }
      default:
        if (n === undefined) return `%!g(${typeof a}=${toText(a)})`;
        s = goFloat(n, prec ?? -1);
    }
    if (flags.includes('+') && n !== undefined && n >= 0 && verb !== 's' && verb !== 'q') s = '+' + s;
    const w = width === undefined ? 0 : Number(width);
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w);
      else if (flags.includes('0') && n !== undefined) s = (s.startsWith('-') || s.startsWith('+') ? s[0]! + s.slice(1).padStart(w - 1, '0') : s.padStart(w, '0'));
      else s = s.padStart(w);
    }
    return s;
  });
}
