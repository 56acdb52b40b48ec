/**
 * Label matchers as Alertmanager 0.2x accepts them in `matchers:` lists and the v2 API:
 * `name="value"`, `name!=value`, `name=~"re"`, `name!~"re"`, optionally several inside braces
 * (`{a="b", c=~"d.*"}`). Values may be quoted (with \" \\ \n escapes) or bare.
 * Regexes are anchored at both ends, as in Prometheus.
 */
import type { Labels } from '../model.js';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

export interface CompiledMatcher extends Matcher {
  matches(labels: Labels): boolean;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MatcherParseError extends Error {
  override name = 'MatcherParseError';
}

export function compileMatcher(m: Matcher): CompiledMatcher {
  if (!LABEL_NAME.test(m.name)) throw new MatcherParseError(`invalid label name "${m.name}"`);
  let test: (v: string) => boolean;
  switch (m.type) {
    case '=':
      test = (v) => v === m.value;
      break;
    case '!=':
      test = (v) => v !== m.value;
      break;
    case '=~':
    case '!~': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${m.value})$`, 'u');
      } catch (err) {
        throw new MatcherParseError(`invalid regex in ${m.name}${m.type}"${m.value}": ${(err as Error).message}`);
      }
      test = m.type === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
      break;
    }
    default:
      return assertNever(m.type);
  }
  // A missing label matches as the empty string, as in Prometheus and Alertmanager.
  return { ...m, matches: (labels) => test(labels[m.name] ?? '') };
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${String(x)}`);
}

/** Parses one matcher string, which may hold several matchers in braces. */
export function parseMatchers(input: string): CompiledMatcher[] {
  let s = input.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new MatcherParseError(`"${input}": missing closing brace`);
    s = s.slice(1, -1);
  }
  const out: CompiledMatcher[] = [];
  let i = 0;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  while (true) {
    skipWs();
    if (i >= s.length) break;
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!nameMatch) throw new MatcherParseError(`"${input}": expected a label name at position ${i}`);
    const name = nameMatch[0];
    i += name.length;
    skipWs();
    const opMatch = /^(=~|!~|!=|=)/.exec(s.slice(i));
    if (!opMatch) throw new MatcherParseError(`"${input}": expected one of = != =~ !~ after ${name}`);
    const type = opMatch[0] as MatchType;
    i += type.length;
    skipWs();
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i]!;
        if (c === '\\') {
          const n = s[i + 1];
          if (n === undefined) break;
          value += n === 'n' ? '\n' : n;
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new MatcherParseError(`"${input}": unterminated quoted value`);
    } else {
      const start = i;
      while (i < s.length && s[i] !== ',') i++;
      value = s.slice(start, i).trim();
    }
    out.push(compileMatcher({ name, type, value }));
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') throw new MatcherParseError(`"${input}": expected "," at position ${i}`);
      i++;
    }
  }
  if (out.length === 0) throw new MatcherParseError(`"${input}": no matcher`);
  return out;
}

export function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  return matchers.every((m) => m.matches(labels));
}

function quote(v: string): string {
  return JSON.stringify(v);
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.type}${quote(m.value)}`;
}

export function formatMatchers(ms: readonly Matcher[]): string {
  return `{${ms.map(formatMatcher).join(',')}}`;
}

/** `{a="1",b="2"}` with names sorted: the label-set form used in group keys. */
export function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${quote(labels[k]!)}`)
    .join(',')}}`;
}
