/**
 * The column-wise rate family (rate-kernel.ts: shared window plans, memoised extrapolation terms,
 * the division-free zero-clamp test) against the step-wise path (functions.ts), bit for bit, on
 * random data from the real head: counter resets, staleness markers, NaN, gaps, series scraped
 * together (sharing timestamps) and alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Head } from '../tsdb/head.js';
import { HeadQuerier } from '../tsdb/querier.js';
import { Engine } from './engine.js';
import { extrapolate } from './functions.js';
import { RateKernel } from './rate-kernel.js';

const stepwise = new Engine({ columnar: false });
const columnar = new Engine();

/** One series' samples: a value change or marker per scrape; the timestamps come from the scrape plan. */
const sampleKind = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 50 }).map((d) => ({ kind: 'inc' as const, d })) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 100, noNaN: true }).map((v) => ({ kind: 'reset' as const, v })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'nan' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'stale' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'skip' as const }) },
);

const scenario = fc.record({
  // Scrape times shared by the "scraped together" series: irregular intervals and some long gaps.
  intervals: fc.array(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 30_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 200_000, max: 900_000 }) }), { minLength: 1, maxLength: 150 }),
  series: fc.array(fc.record({ alone: fc.boolean(), jitter: fc.integer({ min: 1, max: 7_000 }), start: fc.double({ min: -1e6, max: 1e9, noNaN: true }), kinds: fc.array(sampleKind, { minLength: 150, maxLength: 150 }) }), { minLength: 1, maxLength: 6 }),
  func: fc.constantFrom('rate', 'increase', 'delta', 'irate', 'idelta'),
  rangeS: fc.integer({ min: 1, max: 900 }),
  offsetS: fc.integer({ min: -120, max: 600 }),
  start: fc.integer({ min: 0, max: 2_000_000 }),
  stepMs: fc.integer({ min: 1, max: 120_000 }),
  steps: fc.integer({ min: 1, max: 200 }),
  agg: fc.constantFrom('', 'sum', 'avg', 'max', 'min', 'count'),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function load(sc: Scenario): HeadQuerier {
  const head = new Head({ samplesPerChunk: 17 });
  sc.series.forEach((s, idx) => {
    let t = 1000;
    let v = s.start;
    for (let i = 0; i < sc.intervals.length; i++) {
      t += sc.intervals[i]! + (s.alone ? s.jitter : 0);
      const k = s.kinds[i]!;
      const labels = { job: 'j', idx: String(idx), grp: String(idx % 2) };
      if (k.kind === 'skip') continue;
      if (k.kind === 'stale') {
        head.append({ name: 'm', labels, timestampMs: t, value: NaN, type: 'counter', stale: true });
        continue;
      }
      if (k.kind === 'nan') head.append({ name: 'm', labels, timestampMs: t, value: NaN, type: 'counter' });
      else {
        v = k.kind === 'reset' ? k.v : (Number.isNaN(v) ? 0 : v) + k.d;
        head.append({ name: 'm', labels, timestampMs: t, value: v, type: 'counter' });
      }
    }
  });
  return new HeadQuerier(head);
}

describe('rate kernel', () => {
  it('a reset from a value too small to change a sum of larger ones still counts (a counterexample fast-check found)', () => {
    const kinds: Scenario['series'][number]['kinds'] = [
      ...Array.from({ length: 5 }, () => ({ kind: 'inc' as const, d: 50 })),
      { kind: 'reset', v: 1 },
      { kind: 'reset', v: 1.229497138309613e-180 },
      { kind: 'reset', v: 0 },
      ...Array.from({ length: 6 }, () => ({ kind: 'inc' as const, d: 0 })),
    ];
    const sc: Scenario = { intervals: kinds.map(() => 10_000), series: [{ alone: false, jitter: 1, start: 0, kinds }], func: 'increase', rangeS: 25, offsetS: 0, start: 0, stepMs: 5_000, steps: 40, agg: '' };
    const q = load(sc);
    for (const expr of ['increase(m[25s])', 'rate(m[25s])']) {
      expect(columnar.rangeQuery(q, expr, 0, 195_000, 5_000), expr).toEqual(stepwise.rangeQuery(q, expr, 0, 195_000, 5_000));
    }
  });

  it('agrees bit for bit with the step-wise rate family on random data', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const q = load(sc);
        const inner = `${sc.func}(m[${sc.rangeS}s] offset ${sc.offsetS}s)`;
        const expr = sc.agg ? `${sc.agg} by (grp) (${inner})` : inner;
        const end = sc.start + (sc.steps - 1) * sc.stepMs;
        const got = columnar.rangeQuery(q, expr, sc.start, end, sc.stepMs);
        expect(got, expr).toEqual(stepwise.rangeQuery(q, expr, sc.start, end, sc.stepMs));
      }),
      { numRuns: 300 },
    );
  });

  it('decides the counter zero clamp exactly at its boundary', () => {
    // first / result right around durationToStart / sampledInterval, where the clamp flips.
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 30_000 }), fc.integer({ min: 1, max: 20_000 }),
        fc.double({ min: 1e-6, max: 1e12, noNaN: true }), fc.integer({ min: -4, max: 4 }),
        (count, interval, dStartMs, result, ulps) => {
          const rangeMs = dStartMs + (count - 1) * interval + 1;
          const tFirst = dStartMs;
          const ts = Float64Array.from({ length: count }, (_, i) => tFirst + i * interval);
          const sampled = ((count - 1) * interval) / 1000;
          let first = result * ((dStartMs / 1000) / sampled);
          for (let i = 0; i < Math.abs(ulps); i++) first = nextAfter(first, ulps > 0);
          const vs = Float64Array.from({ length: count }, (_, i) => first + (result * i) / (count - 1));
          const out = new Float64Array(1);
          const has = new Uint8Array(1);
          new RateKernel('increase', rangeMs, 1, 1, 0, rangeMs).run(ts, vs, out, has);
          const raw = vs[count - 1]! - vs[0]!;
          expect(has[0]).toBe(1);
          expect(out[0]).toBe(extrapolate(raw, vs[0]!, ts[0]!, ts[count - 1]!, count, 0, rangeMs, true));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('shares one window plan among series scraped together and stays exact past the plan limit', () => {
    const head = new Head();
    for (let i = 0; i < 60; i++) {
      for (let s = 0; s < 300; s++) {
        const alone = s % 3 === 0 ? s : 0;
        head.append({ name: 'm', labels: { s: String(s) }, timestampMs: 1000 + i * 10_000 + alone, value: i * (s + 1) - (i === 30 && s % 5 === 0 ? 500 : 0), type: 'counter' });
      }
    }
    const q = new HeadQuerier(head);
    for (const expr of ['rate(m[1m])', 'sum(increase(m[45s]))', 'irate(m[30s])']) {
      expect(columnar.rangeQuery(q, expr, 0, 600_000, 15_000)).toEqual(stepwise.rangeQuery(q, expr, 0, 600_000, 15_000));
    }
  });
});

/** The adjacent double towards +∞ (up) or −∞. */
function nextAfter(x: number, up: boolean): number {
  const f = new Float64Array([x]);
  const b = new BigInt64Array(f.buffer);
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  b[0] = b[0]! + ((x > 0) === up ? 1n : -1n);
  return f[0]!;
}
