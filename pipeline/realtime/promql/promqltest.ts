/**
 * A runner for Prometheus's promqltest script format (promql/testdata/*.test), so test cases are
 * data: `load 1m` + series with expanding values (`0+10x10`, `_`, `stale`), then
 * `eval instant at 5m <expr>` / `eval range from 0 to 10m step 1m <expr>` / `eval_fail ...` with the
 * expected result on the indented lines below.
 */
import type { Labels, Querier } from '../storage.js';
import { Engine } from './engine.js';
import { MemQuerier } from './test-querier.js';
import { formatLabels, labelsKey, type QueryResult } from './value.js';

type Point = number | 'stale' | null;

export interface Load { intervalMs: number; series: { labels: Labels; values: Point[] }[] }

export interface EvalCase {
  line: number;
  kind: 'instant' | 'range';
  ordered: boolean;
  fail: boolean;
  failMessage?: string;
  failRegexp?: RegExp;
  expr: string;
  atMs: number;
  startMs: number;
  endMs: number;
  stepMs: number;
  expected: { labels: Labels | null; values: Point[] }[];
  loads: Load[];
}

export function parseDuration(s: string): number {
  const t = s.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const units: Record<string, number> = { y: 365 * 86400e3, w: 7 * 86400e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
  const neg = t.startsWith('-');
  let ms = 0;
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  let m: RegExpExecArray | null;
  let len = neg ? 1 : 0;
  while ((m = re.exec(t))) {
    ms += Number(m[1]) * units[m[2]!]!;
    len += m[0].length;
  }
  if (len !== t.length) throw new Error(`bad duration ${JSON.stringify(s)}`);
  return neg ? -ms : ms;
}

function parseNumber(s: string): number {
  const t = s.toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan') return NaN;
  const v = Number(s);
  if (Number.isNaN(v)) throw new Error(`bad number ${JSON.stringify(s)}`);
  return v;
}

const NUM = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:e[+-]?\\d+)?|[+-]?inf|nan)';
const EXPAND = new RegExp(`^(${NUM})(?:([+-])(${NUM.replace('[+-]?', '')})x(\\d+)|x(\\d+))?$`, 'i');

/** Expands promqltest value notation: `1 2 _ 4`, `0+10x5`, `5-1x3`, `_x3`, `stale`, `1x3`. */
export function expandValues(text: string): Point[] {
  const out: Point[] = [];
  for (const tok of text.trim().split(/\s+/).filter(Boolean)) {
    if (tok === '_') { out.push(null); continue; }
    if (tok === 'stale') { out.push('stale'); continue; }
    const gap = /^_x(\d+)$/.exec(tok);
    if (gap) { for (let i = 0; i < Number(gap[1]); i++) out.push(null); continue; }
    const m = EXPAND.exec(tok);
    if (!m) throw new Error(`bad value ${JSON.stringify(tok)}`);
    const start = parseNumber(m[1]!);
    if (m[4] !== undefined) {
      const step = parseNumber(m[3]!) * (m[2] === '-' ? -1 : 1);
      for (let i = 0; i <= Number(m[4]); i++) out.push(start + i * step);
    } else if (m[5] !== undefined) {
      for (let i = 0; i <= Number(m[5]); i++) out.push(start);
    } else out.push(start);
  }
  return out;
}

/** `name{a="b", c="d"} rest` → labels and the rest of the line. */
export function parseSeriesDesc(line: string): { labels: Labels; rest: string } {
  const m = /^\s*([a-zA-Z_:][\w:]*)?\s*(\{[^}]*\})?\s*(.*)$/.exec(line);
  if (!m || (!m[1] && !m[2])) throw new Error(`bad series ${JSON.stringify(line)}`);
  const labels: Record<string, string> = {};
  if (m[1]) labels.__name__ = m[1];
  if (m[2]) {
    const re = /\s*([a-zA-Z_][\w]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
    const body = m[2].slice(1, -1);
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = re.exec(body))) {
      labels[lm[1]!] = JSON.parse(`"${lm[2]}"`) as string;
      consumed = re.lastIndex;
    }
    if (body.slice(consumed).trim() !== '') throw new Error(`bad labels ${JSON.stringify(m[2])}`);
  }
  return { labels, rest: m[3] ?? '' };
}

export function parseTestScript(text: string): EvalCase[] {
  const lines = text.split('\n');
  const cases: EvalCase[] = [];
  let loads: Load[] = [];
  let i = 0;
  const body = (): { text: string; line: number }[] => {
    const out: { text: string; line: number }[] = [];
    while (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]!) && !/^\s*#/.test(lines[i + 1]!)) {
      i++;
      out.push({ text: lines[i]!.trim(), line: i + 1 });
    }
    return out;
  };
  for (; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const lineNo = i + 1;
    let m: RegExpExecArray | null;
    if ((m = /^load\s+(\S+)$/.exec(line))) {
      const load: Load = { intervalMs: parseDuration(m[1]!), series: [] };
      for (const b of body()) {
        const { labels, rest } = parseSeriesDesc(b.text);
        load.series.push({ labels, values: expandValues(rest) });
      }
      loads = [...loads, load];
      continue;
    }
    if (line === 'clear') { loads = []; continue; }
    if ((m = /^(eval|eval_ordered|eval_fail)\s+instant\s+at\s+(\S+)\s+(.+)$/.exec(line)) ||
        (m = /^(eval|eval_ordered|eval_fail)\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$/.exec(line))) {
      const range = line.includes(' range from ');
      const c: EvalCase = {
        line: lineNo,
        kind: range ? 'range' : 'instant',
        ordered: m[1] === 'eval_ordered',
        fail: m[1] === 'eval_fail',
        expr: range ? m[5]! : m[3]!,
        atMs: range ? 0 : parseDuration(m[2]!),
        startMs: range ? parseDuration(m[2]!) : 0,
        endMs: range ? parseDuration(m[3]!) : 0,
        stepMs: range ? parseDuration(m[4]!) : 0,
        expected: [],
        loads,
      };
      for (const b of body()) {
        let fm: RegExpExecArray | null;
        if ((fm = /^expected_fail_message\s+(.*)$/.exec(b.text))) c.failMessage = fm[1]!;
        else if ((fm = /^expected_fail_regexp\s+(.*)$/.exec(b.text))) c.failRegexp = new RegExp(fm[1]!);
        else if (EXPAND.test(b.text)) c.expected.push({ labels: null, values: expandValues(b.text) });
        else {
          const { labels, rest } = parseSeriesDesc(b.text);
          c.expected.push({ labels, values: expandValues(rest) });
        }
      }
      cases.push(c);
      continue;
    }
    throw new Error(`line ${lineNo}: cannot parse ${JSON.stringify(line)}`);
  }
  return cases;
}

export function buildQuerier(loads: Load[]): MemQuerier {
  const q = new MemQuerier();
  for (const load of loads) {
    for (const s of load.series) {
      s.values.forEach((v, i) => {
        if (v === null) return;
        const t = i * load.intervalMs;
        if (v === 'stale') q.addStale(s.labels, t);
        else q.add(s.labels, t, v);
      });
    }
  }
  return q;
}

export function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  const diff = Math.abs(a - b);
  return diff <= 1e-12 || diff <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}

const fmt = (v: Point): string => (v === null ? '_' : String(v));

/** Runs a case; returns null on success, else a description of the mismatch. */
export function runCase(c: EvalCase, engine = new Engine(), q: Querier = buildQuerier(c.loads)): string | null {
  let res: QueryResult;
  try {
    res = c.kind === 'instant' ? engine.instantQuery(q, c.expr, c.atMs) : engine.rangeQuery(q, c.expr, c.startMs, c.endMs, c.stepMs);
  } catch (err) {
    const msg = (err as Error).message;
    if (!c.fail) return `unexpected error: ${msg}`;
    if (c.failMessage !== undefined && !msg.includes(c.failMessage)) return `expected error containing ${JSON.stringify(c.failMessage)}, got ${JSON.stringify(msg)}`;
    if (c.failRegexp && !c.failRegexp.test(msg)) return `expected error matching ${c.failRegexp}, got ${JSON.stringify(msg)}`;
    return null;
  }
  if (c.fail) return `expected an error, got ${JSON.stringify(res)}`;

  if (res.resultType === 'scalar') {
    const e = c.expected[0];
    if (c.expected.length !== 1 || !e || e.labels !== null) return `expected ${c.expected.length} series, got scalar ${res.v}`;
    return almostEqual(res.v, e.values[0] as number) ? null : `expected scalar ${fmt(e.values[0]!)}, got ${res.v}`;
  }
  if (res.resultType === 'string') return `got a string result ${JSON.stringify(res.s)}`;
  const got: { labels: Labels; values: Point[] }[] =
    res.resultType === 'vector'
      ? res.samples.map((s) => ({ labels: s.metric, values: [s.v] }))
      : res.series.map((s) => {
          if (c.kind === 'instant') return { labels: s.metric, values: s.points.map((p) => p.v) };
          const vals: Point[] = [];
          for (let t = c.startMs, j = 0; t <= c.endMs; t += c.stepMs) {
            const p = s.points[j];
            if (p && p.t === t) { vals.push(p.v); j++; } else vals.push(null);
          }
          return { labels: s.metric, values: vals };
        });
  const describe = (): string =>
    `\n  expected:\n${c.expected.map((e) => `    ${e.labels ? formatLabels(e.labels) : ''} ${e.values.map(fmt).join(' ')}`).join('\n')}` +
    `\n  got:\n${got.map((g) => `    ${formatLabels(g.labels)} ${g.values.map(fmt).join(' ')}`).join('\n')}`;
  if (got.length !== c.expected.length) return `expected ${c.expected.length} series, got ${got.length}${describe()}`;
  const byKey = new Map(got.map((g, idx) => [labelsKey(g.labels), { g, idx }]));
  for (let k = 0; k < c.expected.length; k++) {
    const e = c.expected[k]!;
    const hit = byKey.get(labelsKey(e.labels ?? {}));
    if (!hit) return `missing series ${formatLabels(e.labels ?? {})}${describe()}`;
    if (c.ordered && hit.idx !== k) return `series ${formatLabels(e.labels ?? {})} at position ${hit.idx}, expected ${k}${describe()}`;
    const gv = hit.g.values;
    if (gv.length !== e.values.length) return `series ${formatLabels(e.labels ?? {})}: expected ${e.values.length} values, got ${gv.length}${describe()}`;
    for (let j = 0; j < gv.length; j++) {
      const a = gv[j]!, b = e.values[j]!;
      if (a === null || b === null || a === 'stale' || b === 'stale' ? a !== b : !almostEqual(a, b)) {
        return `series ${formatLabels(e.labels ?? {})} value ${j}: expected ${fmt(b)}, got ${fmt(a)}${describe()}`;
      }
    }
  }
  return null;
}
