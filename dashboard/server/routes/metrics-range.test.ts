/**
 * Which source answers a panel's range: the real-time store (PromQL evaluated on an in-memory
 * querier) inside its window, the warehouse reader before it (a recording stand-in here: the
 * reader's SQL is tested over chDB in pipeline/warehouse, and end to end in dashboards-page.e2e).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemQuerier } from '../../../pipeline/realtime/promql/test-querier.js';
import type { RangeQuery, RangeResult } from '../../../pipeline/warehouse/metric-range.js';
import { metricsRangeRoutes } from './metrics-range.js';

const NOW = 1_800_000_000_000;
const WINDOW = 2 * 3_600_000;
const asked: RangeQuery[] = [];
let base = '';
let close = () => {};

beforeAll(async () => {
  const q = new MemQuerier();
  for (let t = NOW - 600_000; t <= NOW; t += 15_000) q.add({ __name__: 'node_load1', instance: 'a' }, t, 2);
  const app = express();
  app.use((_req, res, next) => {
    res.locals.principal = { name: 'v', role: 'viewer', anonymous: false };
    next();
  });
  app.use(
    metricsRangeRoutes({
      now: () => NOW,
      realtime: () => ({ querier: q, windowMs: WINDOW }),
      warehouse: {
        readRange: async (r): Promise<RangeResult> => {
          asked.push(r);
          return { resolution: '1m', truncated: false, series: [{ name: r.name, labels: { instance: 'a' }, fingerprint: '1', points: [{ t: r.fromMs, min: 1, max: 3, sum: 4, count: 2, last: 3 }] }] };
        },
      },
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});

afterAll(() => close());

async function get(params: Record<string, string | number>) {
  const res = await fetch(`${base}/api/metrics/query_range?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`);
  return { status: res.status, body: (await res.json()) as { status: string; data: any; error?: string } };
}

const s = (ms: number) => ms / 1000;

describe('/api/metrics/query_range', () => {
  test('inside the window: evaluated by the real-time store, full PromQL', async () => {
    const r = await get({ query: 'sum(node_load1) * 2', start: s(NOW - 300_000), end: s(NOW), step: 60 });
    expect(r.status).toBe(200);
    expect(r.body.data.source).toBe('realtime');
    expect(r.body.data.result[0].values.at(-1)).toEqual([s(NOW), '4']);
  });

  test('before the window: a selector is read from the warehouse with its matchers, end made exclusive', async () => {
    const start = NOW - 6 * 3_600_000;
    const r = await get({ query: 'node_load1{instance=~"a|b"}', start: s(start), end: s(NOW), step: '1m' });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ source: 'warehouse', resolution: '1m', result: [{ metric: { __name__: 'node_load1', instance: 'a' }, values: [[s(start), '3']] }] });
    expect(asked.at(-1)).toEqual({ name: 'node_load1', matchers: [{ name: 'instance', op: '=~', value: 'a|b' }], fromMs: start, toMs: NOW + 1, stepMs: 60_000 });
  });

  test('before the window, a function: the real-time part with a warning, not a silent gap', async () => {
    const r = await get({ query: 'rate(node_load1[5m])', start: s(NOW - 6 * 3_600_000), end: s(NOW), step: 60 });
    expect(r.status).toBe(200);
    expect(r.body.data.source).toBe('realtime');
    expect(r.body.data.warnings[0]).toMatch(/only the last 120 min are in the real-time store/);
  });

  test('bad input is a 400 naming the parameter', async () => {
    expect((await get({ start: 1, end: 2, step: 1 })).body.error).toMatch(/missing "query"/);
    expect((await get({ query: 'rate(x', start: 1, end: 2, step: 1 })).body.error).toMatch(/invalid "query"/);
    expect((await get({ query: 'up', start: 1, end: 2, step: 'soon' })).status).toBe(400);
    expect((await get({ query: 'up', start: 0, end: 100_000, step: 1 })).body.error).toMatch(/too many points/);
  });
});
