/**
 * The dashboard routes over the warehouse's delivery report and log histogram/context, with fakes
 * behind them: parameter parsing, 400s and the envelope. (Here rather than under
 * dashboard/server/routes because the warehouse owns what they answer.)
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PharosError } from '../../core/errors.js';
import { deliveryRoutes } from '../../dashboard/server/routes/delivery.js';
import { logsExtraRoutes } from '../../dashboard/server/routes/logs-extra.js';
import type { DeliveryParams } from './delivery.js';
import type { ContextParams, HistogramParams } from './log-search.js';

const NOW = Date.UTC(2026, 0, 1);
const calls: { delivery: DeliveryParams[]; histogram: HistogramParams[]; context: ContextParams[] } = { delivery: [], histogram: [], context: [] };
let base = '';
let close: () => void = () => {};

beforeAll(async () => {
  const app = express();
  app.use((_req, res, next) => {
    res.locals.principal = { name: 'v', role: 'viewer', anonymous: false };
    next();
  });
  app.use(
    deliveryRoutes({
      now: () => NOW,
      report: async (p) => {
        calls.delivery.push(p);
        return [];
      },
    }),
  );
  app.use(
    logsExtraRoutes({
      now: () => NOW,
      search: {
        histogram: async (p) => {
          calls.histogram.push(p);
          if (p.text === 'huge') throw new PharosError('bad_request', 'this log histogram would read about 9 rows, over the budget of 1 rows');
          return [{ startNs: p.fromNs.toString(), count: 3 }];
        },
        context: async (p) => {
          calls.context.push(p);
          return { rows: [], index: 0 };
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

async function get(path: string): Promise<{ status: number; body: { status: string; data?: unknown; error?: string } }> {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as { status: string; data?: unknown; error?: string } };
}

describe('GET /api/delivery', () => {
  test('passes range, host and source; defaults to the last hour', async () => {
    const r = await get('/api/delivery?host=web-1&source=file%3A%2Fvar%2Flog%2Fx.log');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'success', data: { rows: [], to: expect.stringMatching(/^2026-01-01T00:00:00/) } });
    expect(calls.delivery.at(-1)).toEqual({ fromNs: BigInt(NOW - 3_600_000) * 1_000_000n, toNs: BigInt(NOW) * 1_000_000n, host: 'web-1', source: 'file:/var/log/x.log' });
  });

  test('a bad or inverted range is a 400 naming the parameter', async () => {
    expect((await get('/api/delivery?from=yesterday')).status).toBe(400);
    const r = await get('/api/delivery?from=now&to=now-1h');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/"from"/);
  });
});

describe('GET /api/logs/histogram and /api/logs/context', () => {
  test('histogram takes q, filters, attr.* and buckets', async () => {
    const r = await get('/api/logs/histogram?q=timeout&service=api&attr.http.method=GET&buckets=30');
    expect(r.status).toBe(200);
    expect(calls.histogram.at(-1)).toMatchObject({ text: 'timeout', service: 'api', attributes: { 'http.method': 'GET' }, buckets: 30 });
  });

  test('histogram 400s: buckets out of range, a refused budget carrying its estimate', async () => {
    expect((await get('/api/logs/histogram?buckets=0')).status).toBe(400);
    expect((await get('/api/logs/histogram?buckets=abc')).body.error).toMatch(/"buckets"/);
    const refused = await get('/api/logs/histogram?q=huge');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/would read about 9 rows/);
  });

  test('context takes service, host, time in ns, before and after', async () => {
    const r = await get('/api/logs/context?service=api&host=web-1&time=1763892000000000005&before=3&after=4');
    expect(r.status).toBe(200);
    expect(calls.context.at(-1)).toEqual({ service: 'api', host: 'web-1', timeNs: 1763892000000000005n, before: 3, after: 4 });
  });

  test('context 400s: no service, a time that is not nanoseconds, before too large', async () => {
    expect((await get('/api/logs/context?time=1')).body.error).toMatch(/"service"/);
    expect((await get('/api/logs/context?service=api&time=2025-01-01')).body.error).toMatch(/"time"/);
    expect((await get('/api/logs/context?service=api&time=1&before=5000')).status).toBe(400);
  });
});
