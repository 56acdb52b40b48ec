/**
 * Lines read by a regular expression with named groups (`(?<status>\d{3})`): each group that
 * took part in the match is a field. The pattern is checked when the config loads; a line that
 * does not match is kept plain and flagged.
 */
import type { FieldsResult } from './parser.js';

export function compileRegexParser(pattern: string): (line: string) => FieldsResult {
  const re = new RegExp(pattern);
  return (line) => {
    const groups = re.exec(line)?.groups;
    if (!groups) return { ok: false, reason: 'no match for pattern' };
    const fields: Record<string, string> = {};
    for (const k in groups) {
      const v = groups[k];
      if (v !== undefined) fields[k] = v;
    }
    return { ok: true, fields };
  };
}

/** Why `pattern` cannot drive the regex parser, or undefined when it can. */
export function regexPatternProblem(pattern: string): string | undefined {
  let re: RegExp;
  try {
    new RegExp(pattern);
    re = new RegExp(`(?:${pattern})|`);
  } catch (err) {
    return `does not compile: ${(err as Error).message}`;
  }
  // The empty alternative always matches, and `groups` exists exactly when the pattern names a group.
  return re.exec('')?.groups === undefined ? 'has no named groups: use (?<name>...) for each field' : undefined;
}
