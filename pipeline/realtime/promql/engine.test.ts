import { describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { MemQuerier } from './test-querier.js';
import { PromQLError, formatFloat, type QueryResult } from './value.js';

function bigQuerier(series: number, points: number, stepMs = 15_000): MemQuerier {
  const q = new MemQuerier();
  for (let s = 0; s < series; s++) {
    const labels = { __name__: 'req_total', instance: String(s) };
    for (let i = 0; i < points; i++) q.add(labels, i * stepMs, i * (s + 1));
  }
  return q;
}

function err(fn: () => unknown): PromQLError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PromQLError);
    return e as PromQLError;
  }
  throw new Error('expected an error');
}

const vectorOf = (r: QueryResult) => {
  if (r.resultType !== 'vector') throw new Error(r.resultType);
  return r.samples;
};

describe('bounds', () => {
  it('refuses to load more samples than allowed, with Prometheus message and error type', () => {
    const q = bigQuerier(10, 100);
    const e = err(() => new Engine({ maxSamples: 500 }).instantQuery(q, 'sum(rate(req_total[1h]))', 1_500_000));
    expect(e.type).toBe('execution');
    expect(e.message).toBe('query processing would load too many samples into memory in query execution');
    expect(() => new Engine({ maxSamples: 5000 }).instantQuery(q, 'sum(rate(req_total[1h]))', 1_500_000)).not.toThrow();
  });

  it('counts the points a range query produces against the cap', () => {
    const q = bigQuerier(10, 10);
    const e = err(() => new Engine({ maxSamples: 200 }).rangeQuery(q, 'req_total', 0, 3_600_000, 15_000));
    expect(e.type).toBe('execution');
  });

  it('refuses more than 11,000 points per series', () => {
    const e = err(() => new Engine().rangeQuery(new MemQuerier(), '1', 0, 11_001_000, 1000));
    expect(e.type).toBe('bad_data');
    expect(e.message).toBe('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    expect(() => new Engine().rangeQuery(new MemQuerier(), '1', 0, 11_000_000, 1000)).not.toThrow();
  });

  it('stops evaluating when the timeout passes', () => {
    const q = bigQuerier(200, 240);
    const engine = new Engine({ timeoutMs: 30 });
    const started = Date.now();
    // Unbounded work: a nested subquery re-evaluated for every step of a long range query.
    const e = err(() => engine.rangeQuery(q, 'max_over_time(sum(rate(req_total[5m]))[1h:1s])', 0, 3_600_000, 1000));
    const took = Date.now() - started;
    expect(e.type).toBe('timeout');
    expect(e.message).toBe('query timed out in query execution');
    expect(took).toBeLessThan(1000);
  });

  it('stops when its AbortSignal is aborted', () => {
    const ac = new AbortController();
    ac.abort();
    const e = err(() => new Engine().instantQuery(bigQuerier(1, 1), 'req_total', 0, { signal: ac.signal }));
    expect(e.type).toBe('canceled');
    const timedOut = AbortSignal.abort(new DOMException('t', 'TimeoutError'));
    expect(err(() => new Engine().instantQuery(bigQuerier(1, 1), 'req_total', 0, { signal: timedOut })).type).toBe('timeout');
  });

  it('async range queries yield to the event loop and stop when their signal is aborted meanwhile', async () => {
    const q = bigQuerier(200, 240);
    const ac = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => {
      // Other work gets to run while the query is in flight; the client goes away after a few turns.
      if (++ticks === 3) ac.abort();
    }, 1);
    const started = Date.now();
    try {
      await expect(
        new Engine({ timeoutMs: 60_000 }).rangeQueryAsync(q, 'max_over_time(sum(rate(req_total[5m]))[1h:1s])', 0, 3_600_000, 1000, { signal: ac.signal, sliceMs: 5 }),
      ).rejects.toMatchObject({ type: 'canceled' });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('async and sync range queries agree', async () => {
    const q = bigQuerier(5, 100);
    const e = new Engine();
    const sync = e.rangeQuery(q, 'sum by (instance) (rate(req_total[2m]))', 0, 1_500_000, 15_000);
    expect(await e.rangeQueryAsync(q, 'sum by (instance) (rate(req_total[2m]))', 0, 1_500_000, 15_000, { sliceMs: 0 })).toEqual(sync);
  });

  it('rejects range queries over range vectors', () => {
    const e = err(() => new Engine().rangeQuery(new MemQuerier(), 'x[5m]', 0, 60_000, 15_000));
    expect(e.message).toBe('invalid expression type "range vector" for range query, must be Scalar or instant Vector');
  });
});

describe('evaluation', () => {
  it('loads each distinct selector once per query', () => {
    const q = bigQuerier(3, 100);
    new Engine().rangeQuery(q, 'rate(req_total[5m]) / rate(req_total[1m]) + req_total', 600_000, 1_200_000, 15_000);
    expect(q.selects).toBe(1);
  });

  it('returns raw samples for a range selector in an instant query', () => {
    const q = new MemQuerier().add({ __name__: 'x' }, 0, 1).add({ __name__: 'x' }, 60_000, 2).add({ __name__: 'x' }, 120_000, 3);
    const r = new Engine().instantQuery(q, 'x[1m]', 120_000);
    expect(r).toEqual({ resultType: 'matrix', series: [{ metric: { __name__: 'x' }, points: [{ t: 60_000, v: 2 }, { t: 120_000, v: 3 }] }] });
  });

  it('treats an explicit staleness marker as the end of the series, also in range functions', () => {
    const q = new MemQuerier().add({ __name__: 'x' }, 0, 1).add({ __name__: 'x' }, 60_000, 2).addStale({ __name__: 'x' }, 120_000);
    const e = new Engine();
    expect(vectorOf(e.instantQuery(q, 'x', 60_000))).toHaveLength(1);
    expect(vectorOf(e.instantQuery(q, 'x', 150_000))).toHaveLength(0);
    expect(vectorOf(e.instantQuery(q, 'count_over_time(x[5m])', 150_000))[0]!.v).toBe(2);
  });

  it('evaluates a mid-sized dashboard query quickly', () => {
    const q = new MemQuerier();
    for (let s = 0; s < 100; s++) {
      for (let i = 0; i < 480; i++) q.add({ __name__: 'http_requests_total', method: String(s % 5), pod: String(s) }, i * 15_000, i * 10);
    }
    const started = Date.now();
    const r = new Engine().rangeQuery(q, 'sum by (method) (rate(http_requests_total[5m]))', 0, 7_200_000, 15_000);
    expect(Date.now() - started).toBeLessThan(5000);
    if (r.resultType !== 'matrix') throw new Error();
    expect(r.series).toHaveLength(5);
    // 20 series per method, each growing 10 per 15 s.
    expect(r.series[0]!.points.at(-1)!.v).toBeCloseTo((20 * 10) / 15, 9);
  });
});

describe('column-wise range evaluation', () => {
  it('agrees exactly with step-wise evaluation on irregular data (gaps, resets, NaN, staleness)', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const q = new MemQuerier();
    for (let s = 0; s < 12; s++) {
      const labels = { __name__: 'm', pod: String(s), grp: String(s % 3), le: ['0.1', '1', '+Inf'][s % 3]! };
      let t = Math.floor(rnd() * 30_000);
      let v = 0;
      while (t < 3_600_000) {
        const r = rnd();
        if (r < 0.03) q.addStale(labels, t);
        else {
          v = r < 0.06 ? rnd() * 5 : r < 0.08 ? NaN : (Number.isNaN(v) ? 0 : v) + rnd() * 10;
          q.add(labels, t, v);
        }
        t += r < 0.1 ? 400_000 : 5_000 + Math.floor(rnd() * 25_000);
      }
    }
    const exprs = [
      'm', 'm offset 3m', 'm offset -2m', '-m', 'm * 2', '2 ^ m', 'm % 3',
      'rate(m[5m])', 'increase(m[2m] offset 1m)', 'delta(m[90s])', 'irate(m[1m])', 'idelta(m[10m])',
      'sum by (grp) (rate(m[5m]))', 'avg without (pod) (m)', 'min(m)', 'max by (grp) (m)', 'count(m)', 'group by (le) (m)',
      'histogram_quantile(0.9, sum by (le) (rate(m[5m])))', 'histogram_quantile(0.5, m)', '1 + 2', 'sum(m) / 3',
    ];
    const stepwise = new Engine({ columnar: false });
    const columnar = new Engine();
    for (const e of exprs) {
      for (const [start, end, step] of [[0, 3_600_000, 15_000], [123_456, 2_000_000, 61_000], [500_000, 500_000, 1000]] as const) {
        expect(columnar.rangeQuery(q, e, start, end, step), `${e} ${start}..${end}/${step}`).toEqual(stepwise.rangeQuery(q, e, start, end, step));
      }
    }
  });
});

describe('formatFloat (Go strconv.FormatFloat(v, \'f\', -1, 64))', () => {
  it.each([
    [1, '1'], [0.5, '0.5'], [1e21, '1000000000000000000000'], [1.5e-7, '0.00000015'], [NaN, 'NaN'],
    [Infinity, '+Inf'], [-Infinity, '-Inf'], [-1.25e22, '-12500000000000000000000'], [123456789.125, '123456789.125'],
  ])('%s → %s', (v, s) => {
    expect(formatFloat(v)).toBe(s);
  });
});

describe('parse cache', () => {
  it('hands out one tree per query text, which evaluation leaves as it was', () => {
    const engine = new Engine();
    const q = bigQuerier(3, 40);
    const text = 'sum by (instance) (rate(req_total[1m] offset 30s)) * 2';
    const tree = engine.parse(text);
    expect(engine.parse(text)).toBe(tree);
    expect(engine.parse(`${text} `)).not.toBe(tree);
    const snapshot = JSON.stringify(tree);
    const first = engine.rangeQuery(q, text, 0, 600_000, 15_000);
    expect(engine.rangeQuery(q, tree, 0, 600_000, 15_000)).toEqual(first);
    expect(engine.instantQuery(q, text, 300_000)).toEqual(new Engine().instantQuery(q, text, 300_000));
    expect(JSON.stringify(tree)).toBe(snapshot);
  });

  it('does not keep a query that failed to parse', () => {
    const engine = new Engine();
    expect(err(() => engine.parse('sum(')).type).toBe('bad_data');
    expect(err(() => engine.parse('sum(')).type).toBe('bad_data');
  });
});
