/**
 * The range-result cache must never change an answer: under any interleaving of appends (late
 * ones, out-of-order ones, new series in the past, staleness markers), truncations and range
 * queries over shifting ranges, the engine with the cache answers exactly as one without it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Head } from '../tsdb/head.js';
import { HeadQuerier } from '../tsdb/querier.js';
import { Engine } from './engine.js';

const EXPRS = [
  'sum by (grp) (rate(m[1m]))',
  'rate(m[2m] offset 1m)',
  'increase(m[90s] offset -30s)',
  'm',
  'max(m offset 2m) * 2',
  'histogram_quantile(0.9, sum by (le) (rate(m[1m])))',
  'count(idelta(m[45s]))',
];

/** `usual` most of the time (so queries repeat and hit the cache), else any of min..max. */
const often = (usual: number, max: number): fc.Arbitrary<number> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(usual) }, { weight: 2, arbitrary: fc.integer({ min: 0, max }) });

describe('range result cache', () => {
  it('answers exactly as a fresh evaluation under ingestion, late samples and truncation', () => {
    const op = fc.oneof(
      { weight: 10, arbitrary: fc.record({ kind: fc.constant('append' as const), s: fc.integer({ min: 0, max: 5 }), back: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 400_000 }) }), v: fc.integer({ min: 0, max: 100 }), stale: fc.boolean() }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 60_000 }) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('query' as const), e: often(0, EXPRS.length - 1), back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 900_000 })), len: fc.oneof(fc.constant(600_000), fc.integer({ min: 0, max: 900_000 })), phase: often(0, 2) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const) }) },
    );
    let hits = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 40, maxLength: 160 }), (ops) => {
        const head = new Head({ windowMs: 300_000, outOfOrderToleranceMs: 60_000, samplesPerChunk: 11 });
        const q = new HeadQuerier(head);
        const cached = new Engine();
        const fresh = new Engine({ resultCacheBytes: 0 });
        let now = 2_000_000;
        const les = ['0.1', '1', '+Inf'];
        for (const o of ops) {
          if (o.kind === 'tick') now += o.ms;
          else if (o.kind === 'truncate') head.truncate(now);
          else if (o.kind === 'append') {
            const stale = o.stale && o.v % 7 === 0;
            // Late samples land in the past of what was queried (a lagging target, a new series).
            head.append({ name: 'm', labels: { grp: String(o.s % 2), le: les[o.s % 3]!, s: String(o.s) }, timestampMs: now - o.back, value: stale ? NaN : now / 1000 + o.v, type: 'counter', ...(stale ? { stale: true } : {}) });
            now += 1;
          } else {
            const step = [15_000, 10_000, 7_000][o.phase]!;
            // Mostly on the step grid, as dashboards align their ranges; sometimes not.
            const shift = o.len % 5 === 0 ? 1234 : 0;
            const end = Math.floor((now - o.back) / step) * step + shift;
            const start = end - Math.floor(o.len / step) * step - (o.len % 11 === 0 ? 500 : 0);
            const e = EXPRS[o.e]!;
            expect(cached.rangeQuery(q, e, start, end, step), `${e} ${start}..${end}/${step}`).toEqual(fresh.rangeQuery(q, e, start, end, step));
          }
        }
        hits += cached.resultCache!.hits;
      }),
      { numRuns: 150 },
    );
    expect(hits).toBeGreaterThan(100);
  });

  it('forgets steps whose windows reached into chunks that truncation dropped', () => {
    const head = new Head({ windowMs: 600_000, samplesPerChunk: 5 });
    const q = new HeadQuerier(head);
    const cached = new Engine();
    const fresh = new Engine({ resultCacheBytes: 0 });
    for (let t = 0; t <= 1_000_000; t += 10_000) head.append({ name: 'm', labels: { a: 'x' }, timestampMs: t, value: t / 1000, type: 'counter' });
    for (const e of ['rate(m[1m])', 'm', 'sum(increase(m[2m] offset 1m))']) {
      cached.rangeQuery(q, e, 0, 1_000_000, 10_000);
    }
    head.truncate(1_000_000 + 55_000);
    for (const e of ['rate(m[1m])', 'm', 'sum(increase(m[2m] offset 1m))']) {
      expect(cached.rangeQuery(q, e, 0, 1_000_000, 10_000), e).toEqual(fresh.rangeQuery(q, e, 0, 1_000_000, 10_000));
    }
    expect(cached.resultCache!.hits).toBe(3);
  });

  it('serves a refreshing dashboard from cache and evaluates only the new steps', () => {
    const head = new Head();
    const q = new HeadQuerier(head);
    const engine = new Engine();
    let t = 0;
    const scrape = (): void => {
      for (let s = 0; s < 20; s++) head.append({ name: 'req_total', labels: { s: String(s), method: s % 2 ? 'GET' : 'PUT' }, timestampMs: t, value: t / 100 + s, type: 'counter' });
      t += 10_000;
    };
    for (let i = 0; i < 360; i++) scrape();
    const expr = 'sum by (method) (rate(req_total[5m]))';
    const first = engine.rangeQuery(q, expr, t - 3_600_000, t, 15_000);
    expect(engine.resultCache!.misses).toBe(1);
    for (let i = 0; i < 3; i++) scrape();
    const end = t - (t % 15_000);
    // As the HTTP API does: the tree from engine.parse() is keyed by its text.
    const again = engine.rangeQuery(q, engine.parse(expr), end - 3_600_000, end, 15_000);
    expect(engine.resultCache!.hits).toBe(1);
    expect(again).toEqual(new Engine({ resultCacheBytes: 0 }).rangeQuery(q, expr, end - 3_600_000, end, 15_000));
    expect(first.resultType === 'matrix' && first.series.length).toBe(2);
    expect(engine.resultCache!.bytes).toBeGreaterThan(0);
  });
});
