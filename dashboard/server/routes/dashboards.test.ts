/**
 * Saved dashboards over real chDB (migration 006): create, read, update with optimistic locking,
 * delete; the shipped defaults are valid, listed and read-only; roles are enforced; bad models
 * are refused with the field named.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../../core/clickhouse/client.js';
import { migrate } from '../../../core/clickhouse/migrate.js';
import { validateConfig } from '../../../core/config/load.js';
import type { Role } from '../../../core/http/auth.js';
import { silentLogger } from '../../../core/log.js';
import { loadDefaultDashboards } from '../../defaults/default-dashboards.js';
import { dashboardsRoutes } from './dashboards.js';
import { ClickHouseDashboardStore } from './dashboards-store.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-dashboards-'));
const log = silentLogger();
const client = createClickHouse(validateConfig({ data_dir: dir }), log, 'admin');
let base = '';
let close: () => void = () => {};

const model = (title: string) => ({
  schemaVersion: 1,
  title,
  variables: [{ name: 'host', type: 'label_values', metric: 'node_load1', labelName: 'instance' }],
  panels: [{ id: 'load', type: 'timeseries', title: 'Load', size: { w: 6, h: 4 }, query: 'node_load1{instance="$host"}' }],
});

beforeAll(async () => {
  await migrate(client, { database: 'dash_t', logsTtlDays: 30, log });
  const app = express();
  app.use(express.json());
  // The role comes from a header here; the real server takes it from the bearer token.
  app.use((req, res, next) => {
    const role = (req.header('x-role') ?? 'operator') as Role;
    res.locals.principal = { name: `${role}-user`, role, anonymous: false };
    next();
  });
  app.use(dashboardsRoutes({ store: new ClickHouseDashboardStore(client, 'dash_t'), defaults: loadDefaultDashboards() }));
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

async function call(method: string, path: string, body?: unknown, role: Role = 'operator') {
  const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json', 'x-role': role }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as { status: string; data: any; error?: string; version?: number } };
}

describe('dashboards REST', () => {
  test('the defaults are valid, listed first and read-only', async () => {
    const defaults = loadDefaultDashboards();
    expect(defaults.map((d) => d.model.title)).toEqual(['Host', 'Pharos itself']);
    const list = await call('GET', '/api/dashboards', undefined, 'viewer');
    expect(list.status).toBe(200);
    expect(list.body.data.slice(0, 2)).toMatchObject([
      { id: 'default-host', title: 'Host', readOnly: true },
      { id: 'default-pharos', title: 'Pharos itself', readOnly: true },
    ]);
    const host = await call('GET', '/api/dashboards/default-host', undefined, 'viewer');
    expect(host.body.data.model.variables[0]).toMatchObject({ name: 'host', labelName: 'instance' });
    const put = await call('PUT', '/api/dashboards/default-host', { model: host.body.data.model });
    expect(put.status).toBe(403);
    expect(put.body.error).toMatch(/read-only: clone it/);
    expect((await call('DELETE', '/api/dashboards/default-pharos')).status).toBe(403);
  });

  test('create, read, update with a version check, delete', async () => {
    const created = await call('POST', '/api/dashboards', model('Web tier'));
    expect(created.status).toBe(201);
    const id = created.body.data.id as string;
    expect(created.body.data).toMatchObject({ version: 1, title: 'Web tier', readOnly: false, updatedBy: 'operator-user' });
    // Defaults filled in by the schema are stored.
    expect(created.body.data.model).toMatchObject({ refresh: 'off', time: { from: 'now-1h' } });

    const read = await call('GET', `/api/dashboards/${id}`, undefined, 'viewer');
    expect(read.body.data).toMatchObject({ id, version: 1, model: { title: 'Web tier' } });

    const updated = await call('PUT', `/api/dashboards/${id}`, { model: model('Web tier (prod)'), version: 1 });
    expect(updated.status).toBe(200);
    expect(updated.body.data.version).toBe(2);
    const stale = await call('PUT', `/api/dashboards/${id}`, { model: model('Lost update'), version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.version).toBe(2);

    const list = await call('GET', '/api/dashboards', undefined, 'viewer');
    expect(list.body.data.find((d: { id: string }) => d.id === id)).toMatchObject({ title: 'Web tier (prod)', version: 2 });

    expect((await call('DELETE', `/api/dashboards/${id}`)).status).toBe(200);
    expect((await call('GET', `/api/dashboards/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/api/dashboards/${id}`)).status).toBe(404);
    expect((await call('GET', '/api/dashboards')).body.data.some((d: { id: string }) => d.id === id)).toBe(false);
  });

  test('viewers cannot write; bad models are refused naming the field', async () => {
    expect((await call('POST', '/api/dashboards', model('x'), 'viewer')).status).toBe(403);
    const bad = await call('POST', '/api/dashboards', { ...model('x'), panels: [{ id: 'p', type: 'gauge', title: '', size: { w: 6, h: 4 } }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/panels\.0\.type/);
    const typo = await call('POST', '/api/dashboards', { ...model('x'), titel: 'oops' });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toMatch(/titel/);
    const dup = await call('POST', '/api/dashboards', { ...model('x'), panels: [...model('x').panels, ...model('x').panels] });
    expect(dup.body.error).toMatch(/duplicate panel id "load"/);
  });
});
