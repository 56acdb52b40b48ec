import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { buildQuerier, parseTestScript, runCase } from './promqltest.js';
import { columnarSupported } from './range-eval.js';
import type { QueryResult } from './value.js';

const dir = join(import.meta.dirname, '../../../test/data/promql');
const files = readdirSync(dir).filter((f) => f.endsWith('.test')).sort();
const stepwise = new Engine({ columnar: false });
const columnar = new Engine({ columnar: true });

function attempt(fn: () => QueryResult): QueryResult | { error: string } {
  try {
    return fn();
  } catch (err) {
    return { error: (err as Error).message };
  }
}

for (const file of files) {
  const cases = parseTestScript(readFileSync(join(dir, file), 'utf8'));
  describe(file, () => {
    for (const c of cases) {
      it(`line ${c.line}: ${c.fail ? 'fails ' : ''}${c.expr}`, () => {
        expect(runCase(c, columnar)).toBeNull();
        if (c.kind === 'range') expect(runCase(c, stepwise)).toBeNull();
      });
    }
  });

  // The column-wise range evaluator must agree exactly with the step-wise one: every expression of
  // the test data it supports, as a range query around the instant the case evaluates at.
  const supported = cases.filter((x) => {
    if (x.fail) return false;
    try {
      return columnarSupported(stepwise.parse(x.expr));
    } catch {
      return false;
    }
  });
  if (supported.length > 0) describe(`${file}: column-wise = step-wise`, () => {
    for (const c of supported) {
      it(`line ${c.line}: ${c.expr}`, () => {
        const q = buildQuerier(c.loads);
        const [s, e] = c.kind === 'range' ? [c.startMs, c.endMs] : [Math.max(0, c.atMs - 600_000), c.atMs + 600_000];
        for (const step of [15_000, 60_000, 210_000]) {
          const a = attempt(() => stepwise.rangeQuery(q, c.expr, s, e, step));
          const b = attempt(() => columnar.rangeQuery(q, c.expr, s, e, step));
          expect(b).toEqual(a);
        }
      });
    }
  });
}
