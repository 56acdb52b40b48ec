import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemQuerier } from '../promql/test-querier.js';
import { parseDurationParam, parseTime, promApiRouter } from './prom-api.js';

const q = new MemQuerier();
for (let i = 0; i <= 20; i++) {
  q.add({ __name__: 'up', job: 'api', instance: 'a:1' }, i * 15_000, 1);
  q.add({ __name__: 'up', job: 'db', instance: 'b:1' }, i * 15_000, i % 2);
  q.add({ __name__: 'http_requests_total', job: 'api', code: '200' }, i * 15_000, i * 15);
}
q.add({ __name__: 'weird', job: 'x' }, 0, NaN).add({ __name__: 'weird', job: 'y' }, 0, Infinity);

let server: Server;
let base = '';
beforeAll(async () => {
  const app = express();
  app.use(promApiRouter({ querier: () => q, now: () => 300_000, maxSamples: 10_000 }));
  server = app.listen(0);
  await new Promise<void>((r) => server.once('listening', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function get(path: string, params: Record<string, string | string[]> = {}): Promise<{ status: number; body: any }> {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.append(k, x);
  const res = await fetch(`${base}${path}?${u}`);
  return { status: res.status, body: await res.json() };
}

async function post(path: string, params: Record<string, string>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body: new URLSearchParams(params) });
  return { status: res.status, body: await res.json() };
}

describe('/api/v1/query', () => {
  it('answers an instant vector query in Prometheus JSON', async () => {
    const r = await get('/api/v1/query', { query: 'up{job="api"}', time: '300' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'api', instance: 'a:1' }, value: [300, '1'] }] },
    });
  });

  it('accepts form-encoded POST as Grafana sends it, and RFC 3339 times', async () => {
    const r = await post('/api/v1/query', { query: 'sum(up)', time: '1970-01-01T00:05:00Z' });
    expect(r.body.data).toEqual({ resultType: 'vector', result: [{ metric: {}, value: [300, '1'] }] });
  });

  it('uses now() without time, and decimal seconds', async () => {
    expect((await get('/api/v1/query', { query: 'time()' })).body.data).toEqual({ resultType: 'scalar', result: [300, '300'] });
    expect((await get('/api/v1/query', { query: 'time()', time: '12.345' })).body.data).toEqual({ resultType: 'scalar', result: [12.345, '12.345'] });
  });

  it('encodes special values as strings and strings as strings', async () => {
    const r = await get('/api/v1/query', { query: 'weird', time: '0' });
    const vals = r.body.data.result.map((s: { value: [number, string] }) => s.value[1]).sort();
    expect(vals).toEqual(['+Inf', 'NaN']);
    expect((await get('/api/v1/query', { query: '"hello"', time: '1' })).body.data).toEqual({ resultType: 'string', result: [1, 'hello'] });
  });

  it('returns a matrix for a range selector', async () => {
    const r = await get('/api/v1/query', { query: 'http_requests_total[30s]', time: '300' });
    expect(r.body.data.resultType).toBe('matrix');
    expect(r.body.data.result[0].values).toEqual([[270, '270'], [285, '285'], [300, '300']]);
  });

  it('answers a parse error with 400 bad_data and the position', async () => {
    const r = await get('/api/v1/query', { query: 'sum(up' });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:4: parse error: unclosed left parenthesis' });
  });

  it('answers a native histogram function with 400 naming it', async () => {
    const r = await get('/api/v1/query', { query: 'histogram_count(up)' });
    expect(r.status).toBe(400);
    expect(r.body.error).toContain('native histograms are not supported: function "histogram_count"');
  });

  it('answers execution errors with 422', async () => {
    const r = await get('/api/v1/query', { query: 'up + ignoring(job, instance) up', time: '300' });
    expect(r.status).toBe(422);
    expect(r.body.errorType).toBe('execution');
    expect(r.body.error).toContain('many-to-many matching not allowed');
  });

  it('answers too many samples with 422 execution and Prometheus message', async () => {
    for (let s = 0; s < 20; s++) for (let i = 0; i < 600; i++) q.add({ __name__: 'big', s: String(s) }, i * 1000, i);
    const r = await get('/api/v1/query', { query: 'count_over_time(big[10m])', time: '600' });
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory in query execution' });
  });

  it('rejects a bad time', async () => {
    const r = await get('/api/v1/query', { query: 'up', time: 'yesterday' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid parameter "time": cannot parse "yesterday" to a valid timestamp');
  });
});

describe('timeouts', () => {
  it('answers 503 timeout when a query runs past the deadline, and the evaluation stops', async () => {
    const heavy = new MemQuerier();
    for (let s = 0; s < 200; s++) for (let i = 0; i < 240; i++) heavy.add({ __name__: 'c', s: String(s) }, i * 15_000, i);
    const app = express();
    app.use(promApiRouter({ querier: () => heavy, timeoutMs: 20 }));
    const srv = app.listen(0);
    await new Promise<void>((r) => srv.once('listening', () => r()));
    try {
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/api/v1/query_range?` +
        new URLSearchParams({ query: 'max_over_time(sum(rate(c[5m]))[1h:1s])', start: '0', end: '3600', step: '1' }));
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'error', errorType: 'timeout', error: 'query timed out in query execution' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('fairness', () => {
  it('answers a quick query while a heavy range query is still running', async () => {
    const heavy = new MemQuerier();
    for (let s = 0; s < 200; s++) for (let i = 0; i < 240; i++) heavy.add({ __name__: 'c', s: String(s) }, i * 15_000, i);
    let started!: () => void;
    const heavyStarted = new Promise<void>((r) => (started = r));
    const app = express();
    app.use(promApiRouter({ querier: () => (started(), heavy), timeoutMs: 1500 }));
    const srv = app.listen(0);
    await new Promise<void>((r) => srv.once('listening', () => r()));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const order: string[] = [];
      const slow = fetch(`${url}/api/v1/query_range?` + new URLSearchParams({ query: 'max_over_time(sum(rate(c[5m]))[1h:1s])', start: '0', end: '3600', step: '1' }))
        .then(async (r) => { order.push('heavy'); return r.json(); });
      // Sent once the heavy query has started evaluating (the first querier() call is the heavy one).
      const quick = heavyStarted.then(() => fetch(`${url}/api/v1/query?query=1%2B1`))
        .then(async (r) => { order.push('quick'); return r.json(); });
      const [, q] = await Promise.all([slow, quick]);
      expect(q).toEqual({ status: 'success', data: { resultType: 'scalar', result: [expect.any(Number), '2'] } });
      expect(order).toEqual(['quick', 'heavy']);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('/api/v1/query_range', () => {
  it('answers a range query with a matrix, step as a duration or float seconds', async () => {
    for (const step of ['15s', '15', '15.0']) {
      const r = await get('/api/v1/query_range', { query: 'up{job="db"}', start: '0', end: '45', step });
      expect(r.body).toEqual({
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: { __name__: 'up', job: 'db', instance: 'b:1' }, values: [[0, '0'], [15, '1'], [30, '0'], [45, '1']] }] },
      });
    }
  });

  it('answers Grafana\'s form-encoded POST', async () => {
    const r = await post('/api/v1/query_range', { query: 'sum by (job) (rate(http_requests_total[1m]))', start: '120', end: '180', step: '30' });
    expect(r.status).toBe(200);
    expect(r.body.data.result).toEqual([{ metric: { job: 'api' }, values: [[120, '1'], [150, '1'], [180, '1']] }]);
  });

  it('refuses more than 11,000 points per series', async () => {
    const r = await get('/api/v1/query_range', { query: 'up', start: '0', end: '11001', step: '1' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  });

  it('validates parameters like Prometheus', async () => {
    expect((await get('/api/v1/query_range', { query: 'up', start: '10', end: '0', step: '1' })).body.error).toBe(
      'invalid parameter "end": end timestamp must not be before start time',
    );
    expect((await get('/api/v1/query_range', { query: 'up', start: '0', end: '10', step: '0' })).body.error).toContain('zero or negative query resolution step widths are not accepted');
    expect((await get('/api/v1/query_range', { query: 'up', start: '0', end: '10', step: 'x' })).body.error).toBe('invalid parameter "step": cannot parse "x" to a valid duration');
    expect((await get('/api/v1/query_range', { query: 'up[5m]', start: '0', end: '10', step: '1' })).status).toBe(400);
  });
});

describe('metadata endpoints', () => {
  it('lists series', async () => {
    const r = await get('/api/v1/series', { 'match[]': ['up', 'http_requests_total'], start: '0', end: '300' });
    expect(r.body.status).toBe('success');
    expect(r.body.data).toHaveLength(3);
    expect(r.body.data).toContainEqual({ __name__: 'http_requests_total', job: 'api', code: '200' });
    expect((await get('/api/v1/series')).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
  });

  it('lists label names, all or for matching series', async () => {
    expect((await get('/api/v1/labels')).body.data).toEqual(expect.arrayContaining(['__name__', 'code', 'instance', 'job']));
    expect((await post('/api/v1/labels', { 'match[]': 'up' })).body.data).toEqual(['__name__', 'instance', 'job']);
  });

  it('lists label values', async () => {
    expect((await get('/api/v1/label/job/values', { 'match[]': 'up' })).body.data).toEqual(['api', 'db']);
    expect((await get('/api/v1/label/__name__/values')).body.data).toEqual(expect.arrayContaining(['http_requests_total', 'up']));
    expect((await get('/api/v1/label/in-valid/values')).status).toBe(400);
  });

  it('reports build info as Grafana expects', async () => {
    const r = await get('/api/v1/status/buildinfo');
    expect(r.body.status).toBe('success');
    expect(r.body.data.version).toMatch(/^2\.\d+\.\d+$/);
  });
});

describe('parameter parsing', () => {
  it('parses times and durations as Prometheus does', () => {
    expect(parseTime('1435781451.781', 'time')).toBe(1435781451781);
    expect(parseTime('2015-07-01T20:10:51.781Z', 'time')).toBe(1435781451781);
    expect(parseTime('2015-07-01T22:10:51.781+02:00', 'time')).toBe(1435781451781);
    expect(parseDurationParam('1m30s', 'step')).toBe(90_000);
    expect(parseDurationParam('0.5', 'step')).toBe(500);
    expect(() => parseDurationParam('1x', 'step')).toThrow('cannot parse "1x" to a valid duration');
  });
});
