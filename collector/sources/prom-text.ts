/**
 * The Prometheus text exposition format (0.0.4) → samples. Hand-written: the one npm parser
 * (parse-prometheus-text-format 1.1) folds histograms into objects and drops their per-sample
 * timestamps, and reads `# TYPE x counter` + `x_total` wrong; the format is small and this is the
 * collector's core.
 *
 * Follows Prometheus's own parser (textparse/promparse): `# HELP` / `# TYPE` lines, other `#`
 * lines are comments; label values with `\\`, `\"` and `\n` escapes; values as Go's ParseFloat
 * reads them (`NaN`, `+Inf`, `-Inf`, exponents); an optional integer timestamp in ms. Sample
 * types come from the family's TYPE: counter, gauge, untyped (→ unknown), histogram (`_bucket`,
 * `_sum`, `_count`), summary (quantiles, `_sum`, `_count`). A line that does not parse is
 * skipped and reported with its line number; the rest of the scrape is kept.
 */
import type { MetricSample, MetricType } from '../../core/model/records.js';

export interface ParsedExposition {
  samples: MetricSample[];
  errors: string[];
}

type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
const TYPES = new Set<FamilyType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const MAX_ERRORS = 10;

export function parseExposition(text: string, defaultTimestampMs: number): ParsedExposition {
  const types = new Map<string, FamilyType>();
  const samples: MetricSample[] = [];
  const errors: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)\s*$/.exec(line);
      if (m) {
        const t = m[2]!.toLowerCase() as FamilyType;
        if (TYPES.has(t)) types.set(m[1]!, t);
        else if (errors.length < MAX_ERRORS) errors.push(`line ${i + 1}: unknown metric type ${JSON.stringify(m[2])}`);
      }
      continue;
    }
    try {
      const s = parseSampleLine(line, defaultTimestampMs);
      s.type = typeOf(s.name, s.labels, types);
      samples.push(s);
    } catch (err) {
      if (errors.length < MAX_ERRORS) errors.push(`line ${i + 1}: ${(err as Error).message}`);
    }
  }
  return { samples, errors };
}

function typeOf(name: string, labels: Record<string, string>, types: Map<string, FamilyType>): MetricType {
  const own = types.get(name);
  if (own === 'counter' || own === 'gauge') return own;
  if (own === 'summary') return 'summary';
  if (own === 'untyped') return 'unknown';
  for (const [suffix, hist, sum] of [
    ['_bucket', 'histogram_bucket', undefined],
    ['_sum', 'histogram_sum', 'summary_sum'],
    ['_count', 'histogram_count', 'summary_count'],
  ] as const) {
    if (!name.endsWith(suffix)) continue;
    const family = types.get(name.slice(0, -suffix.length));
    if (family === 'histogram' && (suffix !== '_bucket' || labels.le !== undefined)) return hist;
    if (family === 'summary' && sum) return sum;
  }
  // OpenMetrics style: `# TYPE x counter` names the family, the sample is `x_total`.
  if (name.endsWith('_total') && types.get(name.slice(0, -6)) === 'counter') return 'counter';
  return 'unknown';
}

function parseSampleLine(line: string, defaultTimestampMs: number): MetricSample {
  const nameMatch = METRIC_NAME.exec(line);
  if (!nameMatch) throw new Error(`expected a metric name at ${JSON.stringify(line.slice(0, 40))}`);
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const ln = LABEL_NAME.exec(line.slice(pos));
      if (!ln) throw new Error(`bad label name in ${name} at column ${pos + 1}`);
      pos += ln[0].length;
      while (line[pos] === ' ') pos++;
      if (line[pos] !== '=' || line[pos + 1] !== '"') throw new Error(`expected ="value" after label ${ln[0]} of ${name}`);
      pos += 2;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new Error(`unterminated value of label ${ln[0]} of ${name}`);
        if (c === '\\') {
          const n = line[pos + 1];
          value += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`;
          pos += 2;
        } else if (c === '"') {
          pos++;
          break;
        } else {
          value += c;
          pos++;
        }
      }
      if (Object.hasOwn(labels, ln[0])) throw new Error(`label ${ln[0]} repeated in ${name}`);
      if (value !== '') labels[ln[0]] = value; // Prometheus: an empty value is no label
      while (line[pos] === ' ') pos++;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new Error(`expected , or } in labels of ${name} at column ${pos + 1}`);
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  if (rest.length < 1 || rest[0] === '' || rest.length > 2) throw new Error(`expected a value and an optional timestamp after ${name}`);
  const value = parseGoFloat(rest[0]!);
  if (value === undefined) throw new Error(`value ${JSON.stringify(rest[0])} of ${name} is not a number`);
  let timestampMs = defaultTimestampMs;
  if (rest[1] !== undefined) {
    if (!/^-?\d+$/.test(rest[1])) throw new Error(`timestamp ${JSON.stringify(rest[1])} of ${name} is not an integer of milliseconds`);
    timestampMs = Number(rest[1]);
  }
  return { name, labels, timestampMs, value, type: 'unknown' };
}

/** Go's strconv.ParseFloat for what exposition writers emit. */
export function parseGoFloat(s: string): number | undefined {
  const t = s.toLowerCase();
  if (t === 'nan') return NaN;
  if (t === '+inf' || t === 'inf' || t === '+infinity' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^[+-]?0[xX][0-9a-fA-F]+$/.test(s)) return undefined;
  return Number(s);
}
