/**
 * Prometheus regexes are RE2; Node 20's RegExp spells some of RE2 differently. One translation for
 * every place a matcher or a function compiles one (the head's postings, the test querier,
 * label_replace), so `{job=~"(?i)api"}` selects the same series everywhere.
 */
const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: '0-9A-Za-z', upper: 'A-Z', lower: 'a-z', space: '\\t\\n\\v\\f\\r ',
  punct: '!-/:-@[-`{-~', xdigit: '0-9A-Fa-f', word: '0-9A-Za-z_', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f',
};

/**
 * Compiles an RE2 pattern fully anchored, as Prometheus anchors matchers. `extraFlags` are added
 * to those of a leading inline group. Throws the RegExp constructor's SyntaxError when the
 * pattern is invalid; callers wrap it in their own error.
 */
export function compileAnchoredRe2(re: string, extraFlags = ''): RegExp {
  let flags = extraFlags;
  let src = re;
  // JS (Node 20) lacks inline flag groups; a leading (?i)/(?s)/(?is) is common enough to map to flags.
  const lead = /^\(\?([is]+)\)/.exec(src);
  if (lead) {
    flags += lead[1];
    src = src.slice(lead[0].length);
  }
  // RE2 syntax JS spells differently: named groups (?P<n>...) and POSIX classes [[:alpha:]].
  src = src.replace(/\(\?P</g, '(?<').replace(/\[:(\w+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m);
  return new RegExp('^(?:' + src + ')$', [...new Set(flags)].join(''));
}
