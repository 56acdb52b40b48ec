/** Text with every occurrence of a term marked (case-insensitive), for scanning a fast tail. */
export function Highlight({ text, term }: { text: string; term: string }) {
  const t = term.trim();
  if (!t) return <>{text}</>;
  const parts: Array<string | { mark: string }> = [];
  const lower = text.toLowerCase();
  const needle = t.toLowerCase();
  let from = 0;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, from)) {
    if (i > from) parts.push(text.slice(from, i));
    parts.push({ mark: text.slice(i, i + t.length) });
    from = i + t.length;
  }
  if (from < text.length) parts.push(text.slice(from));
  return <>{parts.map((p, i) => (typeof p === 'string' ? p : <mark key={i}>{p.mark}</mark>))}</>;
}
