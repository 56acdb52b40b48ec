/** `/api/alerts/history` over real chDB: events written by the alerting writer come back newest first, filtered. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AlertEventsWriter } from '../../../alerts/alert-events.js';
import { createClickHouse } from '../../../core/clickhouse/client.js';
import { migrate } from '../../../core/clickhouse/migrate.js';
import { validateConfig } from '../../../core/config/load.js';
import { silentLogger } from '../../../core/log.js';
import { alertHistoryRoutes, clickHouseAlertHistory } from './alert-history.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-alert-history-'));
const log = silentLogger();
const client = createClickHouse(validateConfig({ data_dir: dir }), log, 'admin');
const T0 = Date.now() - 60_000;
let base = '';
let close = () => {};

beforeAll(async () => {
  await migrate(client, { database: 'ah_t', logsTtlDays: 30, log });
  const writer = new AlertEventsWriter(client, 'ah_t', log, 60_000);
  const labels = { alertname: 'DiskFull', instance: 'a' };
  writer.stateChange({ atMs: T0, fingerprint: 'f1', rule: 'DiskFull', group: 'g', labels, annotations: {}, from: 'inactive', to: 'pending', value: 0.95, activeAt: T0 });
  writer.stateChange({ atMs: T0 + 1000, fingerprint: 'f1', rule: 'DiskFull', group: 'g', labels, annotations: {}, from: 'pending', to: 'firing', value: 0.97, activeAt: T0 });
  // Only the fields the writer reads; a full Alert carries more.
  writer.notification({ atMs: T0 + 2000, receiver: 'ops', groupKey: 'k', status: 'failed', error: 'connection refused', alerts: [{ fingerprint: 'f1', labels, annotations: {}, endsAt: T0 + 600_000 }] as never });
  writer.stateChange({ atMs: T0 + 3000, fingerprint: 'f2', rule: 'Other', group: 'g', labels: { alertname: 'Other' }, annotations: {}, from: 'inactive', to: 'firing', value: 1, activeAt: T0 + 3000 });
  await writer.stop();
  const app = express();
  app.use((_req, res, next) => {
    res.locals.principal = { name: 'v', role: 'viewer', anonymous: false };
    next();
  });
  app.use(alertHistoryRoutes({ read: clickHouseAlertHistory(client, 'ah_t') }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});

afterAll(async () => {
  close();
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(query: string) {
  const res = await fetch(`${base}/api/alerts/history?${query}`);
  return { status: res.status, body: (await res.json()) as { data: { events: Array<Record<string, unknown>> }; error?: string } };
}

describe('/api/alerts/history', () => {
  test('newest first, with state changes and notifications', async () => {
    const r = await get('alertname=DiskFull');
    expect(r.status).toBe(200);
    expect(r.body.data.events.map((e) => [e.kind, e.state, e.previousState])).toEqual([
      ['notification', 'firing', ''],
      ['state_change', 'firing', 'pending'],
      ['state_change', 'pending', 'inactive'],
    ]);
    expect(r.body.data.events[0]).toMatchObject({ receiver: 'ops', notificationStatus: 'failed', error: 'connection refused', at: new Date(T0 + 2000).toISOString(), labels: { instance: 'a' } });
    expect(r.body.data.events[1]!.value).toBeCloseTo(0.97);
  });

  test('filters by kind and range; bad parameters are a 400', async () => {
    expect((await get('kind=state_change&limit=1')).body.data.events).toMatchObject([{ alertname: 'Other' }]);
    expect((await get(`from=${T0 + 2500}`)).body.data.events.map((e) => e.alertname)).toEqual(['Other']);
    expect((await get('from=now-1s&to=now-2s')).status).toBe(400);
    expect((await get('kind=page')).body.error).toMatch(/invalid "kind"/);
    expect((await get('limit=0')).status).toBe(400);
  });
});
