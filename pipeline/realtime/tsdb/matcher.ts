/**
 * Label matchers with Prometheus's semantics: regexes are anchored at both ends, and a label a
 * series lacks counts as the empty string (so `job=""` selects series without `job`, and
 * `job=~"a|"` those with job "a" or none).
 */
import { compileAnchoredRe2, type Re2 } from '../re2.js';
import { PharosError } from '../../../core/errors.js';
import type { LabelMatcher } from '../storage.js';

export type MatchFn = (value: string) => boolean;

const cache = new Map<string, MatchFn>();
const CACHE_MAX = 1000;

export function compileMatcher(m: LabelMatcher): MatchFn {
  const key = `${m.type}\u0000${m.value}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const fn = build(m);
  // Dropping the whole cache when full is crude but bounded, and selectors repeat a lot.
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, fn);
  return fn;
}

function build(m: LabelMatcher): MatchFn {
  const want = m.value;
  switch (m.type) {
    case '=':
      return (v) => v === want;
    case '!=':
      return (v) => v !== want;
    case '=~': {
      const re = anchored(m);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = anchored(m);
      return (v) => !re.test(v);
    }
    default:
      throw new PharosError('bad_request', `unknown matcher type ${JSON.stringify((m as LabelMatcher).type)} for label ${m.name}`);
  }
}

function anchored(m: LabelMatcher): Re2 {
  try {
    // `s`: as Prometheus 2.x (RE2 with (?s)), `.` also matches a newline inside a label value.
    return compileAnchoredRe2(m.value, true);
  } catch (err) {
    throw new PharosError('bad_request', `invalid regular expression ${JSON.stringify(m.value)} in matcher on label ${m.name}: ${(err as Error).message}`, false, { cause: err });
  }
}
