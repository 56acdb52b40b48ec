/**
 * Differential test: every eval of test/data/promql/*.test also runs against a real Prometheus 2.x
 * (Debian's `prometheus` package) loaded with the same samples, and our answer must equal its answer.
 * The binaries are required (.ci/run installs them). Load sets with staleness markers are left out,
 * as OpenMetrics (the only import format of promtool) cannot express them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../core/kafka/local-broker.js';
import { Engine } from './engine.js';
import { almostEqual, buildQuerier, parseTestScript, type EvalCase } from './promqltest.js';
import { formatFloat, labelsKey, type QueryResult } from './value.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const dir = join(import.meta.dirname, '../../../test/data/promql');

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function openMetrics(c: EvalCase): string {
  const bySeries = new Map<string, { name: string; labels: string; points: string[] }>();
  for (const load of c.loads) {
    for (const s of load.series) {
      const { __name__: name = '', ...rest } = s.labels;
      const labels = Object.entries(rest).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      const key = labelsKey(s.labels);
      let e = bySeries.get(key);
      if (!e) bySeries.set(key, (e = { name, labels, points: [] }));
      s.values.forEach((v, i) => {
        if (v === null || v === 'stale') return;
        e.points.push(`${name}${labels ? `{${labels}}` : ''} ${formatFloat(v)} ${(i * load.intervalMs) / 1000}`);
      });
    }
  }
  // OpenMetrics wants a metric family's lines together.
  const series = [...bySeries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = series.flatMap((s) => s.points);
  // promtool refuses an empty file; a sample far outside every test's window stands in.
  if (lines.length === 0) lines.push('pharos_oracle_placeholder 0 1000000000');
  return lines.join('\n') + '\n# EOF\n';
}

type Norm = { kind: string; items: { key: string; values: number[] }[] } | { error: string };

function normalize(r: QueryResult): Norm {
  switch (r.resultType) {
    case 'scalar': return { kind: 'scalar', items: [{ key: '', values: [r.v] }] };
    case 'string': return { kind: 'string', items: [{ key: r.s, values: [] }] };
    case 'vector': return { kind: 'vector', items: r.samples.map((s) => ({ key: labelsKey(s.metric), values: [s.v] })) };
    case 'matrix': return { kind: 'matrix', items: r.series.map((s) => ({ key: labelsKey(s.metric), values: s.points.flatMap((p) => [p.t, p.v]) })) };
  }
}

type PromJSON = { status: string; error?: string; data?: { resultType: string; result: unknown } };
type PromSample = { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] };

function parseVal(s: string): number {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

function normalizeProm(j: PromJSON): Norm {
  if (j.status !== 'success' || !j.data) return { error: j.error ?? 'error' };
  const { resultType, result } = j.data;
  if (resultType === 'scalar' || resultType === 'string') {
    const [, v] = result as [number, string];
    return resultType === 'scalar' ? { kind: 'scalar', items: [{ key: '', values: [parseVal(v)] }] } : { kind: 'string', items: [{ key: v, values: [] }] };
  }
  const rs = result as PromSample[];
  if (resultType === 'vector') return { kind: 'vector', items: rs.map((s) => ({ key: labelsKey(s.metric), values: [parseVal(s.value![1])] })) };
  return { kind: 'matrix', items: rs.map((s) => ({ key: labelsKey(s.metric), values: s.values!.flatMap(([t, v]) => [Math.round(t * 1000), parseVal(v)]) })) };
}

function same(a: Norm, b: Norm, ordered: boolean): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b;
  if (a.kind !== b.kind || a.items.length !== b.items.length) return false;
  const bi = new Map(b.items.map((x, i) => [x.key, { x, i }]));
  return a.items.every((x, i) => {
    const m = bi.get(x.key);
    if (!m || (ordered && m.i !== i) || m.x.values.length !== x.values.length) return false;
    return x.values.every((v, j) => almostEqual(v, m.x.values[j]!));
  });
}

const groups: { name: string; cases: EvalCase[] }[] = [];
{
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test')).sort()) {
    const byLoads = new Map<unknown, EvalCase[]>();
    for (const c of parseTestScript(readFileSync(join(dir, file), 'utf8'))) {
      if (c.loads.some((l) => l.series.some((s) => s.values.includes('stale')))) continue;
      const list = byLoads.get(c.loads) ?? [];
      list.push(c);
      byLoads.set(c.loads, list);
    }
    let n = 0;
    for (const cases of byLoads.values()) groups.push({ name: `${file} #${++n}`, cases });
  }
}

describe('differential against Prometheus 2.x', () => {
  it('has the oracle installed (apt-get install prometheus)', () => {
    expect(existsSync(PROMETHEUS) && existsSync(PROMTOOL)).toBe(true);
  });
  for (const g of groups) {
    describe(g.name, () => {
      let proc: ChildProcess | undefined;
      let base = '';
      let tmp = '';
      beforeAll(async () => {
        tmp = mkdtempSync(join(tmpdir(), 'pharos-promql-oracle-'));
        writeFileSync(join(tmp, 'data.om'), openMetrics(g.cases[0]!));
        writeFileSync(join(tmp, 'prometheus.yml'), 'global: {}\n');
        const r = spawnSync(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', join(tmp, 'data.om'), join(tmp, 'data')], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`promtool failed: ${r.stderr}`);
        const port = await freePort();
        proc = spawn(PROMETHEUS, [
          `--config.file=${join(tmp, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`, '--enable-feature=promql-negative-offset', '--log.level=error',
        ], { stdio: 'ignore' });
        base = `http://127.0.0.1:${port}`;
        for (let i = 0; i < 200; i++) {
          const ok = await fetch(`${base}/-/ready`).then((res) => res.ok, () => false);
          if (ok) return;
          await new Promise((res) => setTimeout(res, 25));
        }
        throw new Error('prometheus did not become ready');
      }, 30_000);
      afterAll(() => {
        proc?.kill();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      });

      for (const c of g.cases) {
        it(`line ${c.line}: ${c.expr}`, async () => {
          const engine = new Engine();
          const q = buildQuerier(c.loads);
          let ours: Norm;
          try {
            ours = normalize(c.kind === 'instant' ? engine.instantQuery(q, c.expr, c.atMs) : engine.rangeQuery(q, c.expr, c.startMs, c.endMs, c.stepMs));
          } catch (err) {
            ours = { error: (err as Error).message };
          }
          const params = new URLSearchParams({ query: c.expr });
          if (c.kind === 'instant') params.set('time', String(c.atMs / 1000));
          else {
            params.set('start', String(c.startMs / 1000));
            params.set('end', String(c.endMs / 1000));
            params.set('step', String(c.stepMs / 1000));
          }
          const res = await fetch(`${base}/api/v1/${c.kind === 'instant' ? 'query' : 'query_range'}`, { method: 'POST', body: params });
          const theirs = normalizeProm((await res.json()) as PromJSON);
          expect(same(ours, theirs, c.ordered), `ours: ${JSON.stringify(ours)}\nprometheus: ${JSON.stringify(theirs)}`).toBe(true);
        });
      }
    });
  }
});
