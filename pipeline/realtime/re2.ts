/**
 * Prometheus regexes are RE2: linear time, whatever the pattern. JavaScript's RegExp backtracks,
 * so `{job=~"(a+)+"}` against a 30-character value would stall the process for seconds past
 * any query timeout (found by the fuzz tests). Every place a matcher or a function compiles a
 * PromQL regex (the head's postings, the test querier, label_replace, the parser's check) goes
 * through this one compiler, backed by re2js, a port of RE2 to JavaScript: same syntax as
 * Prometheus ((?i), (?P<name>), POSIX classes), same linear-time guarantee.
 */
import { RE2JS } from 're2js';

/** The part of RegExp the callers use. */
export interface Re2 {
  test(s: string): boolean;
  /** A RegExpExecArray-shaped match: [whole, ...groups] and `groups` by name. */
  exec(s: string): RegExpExecArray | null;
}

/**
 * Compiles an RE2 pattern fully anchored, as Prometheus anchors matchers. `dotAll`: `.` also
 * matches a newline. Throws (with RE2's message) when the pattern is invalid; callers wrap it.
 */
export function compileAnchoredRe2(re: string, dotAll = false): Re2 {
  const p = RE2JS.compile(`^(?:${re})$`, dotAll ? RE2JS.DOTALL : 0);
  const names = Object.entries(p.namedGroups() as Record<string, number>);
  const count = p.groupCount();
  return {
    test: (s) => p.matches(s),
    exec(s) {
      const m = p.matcher(s);
      if (!m.matches()) return null;
      const out = [s] as unknown as RegExpExecArray;
      for (let i = 1; i <= count; i++) out.push(m.group(i) ?? (undefined as unknown as string));
      out.index = 0;
      out.input = s;
      if (names.length > 0) {
        const groups: Record<string, string> = {};
        for (const [name, i] of names) groups[name] = m.group(i) ?? '';
        out.groups = groups;
      }
      return out;
    },
  };
}
