/**
 * Saved dashboards: `GET /api/dashboards` (list), `GET /api/dashboards/:id`, `POST /api/dashboards`
 * (create; body: a model, see dashboard/DASHBOARDS.md), `PUT /api/dashboards/:id` (body:
 * `{ model, version? }`; with `version`, refused with 409 if someone saved since), `DELETE
 * /api/dashboards/:id`. Viewers read, operators write. The shipped defaults are listed first,
 * read-only (403 on write): clone one by POSTing its model.
 */
import { Router, type Response } from 'express';
import { PharosError } from '../../../core/errors.js';
import { requireRole, type Principal } from '../../../core/http/auth.js';
import { sendError } from '../../../core/http/service-server.js';
import { parseDashboardModel, type DashboardModel } from '../../defaults/dashboard-model.js';
import type { DefaultDashboard } from '../../defaults/default-dashboards.js';
import { VersionConflict, type DashboardStore } from './dashboards-store.js';

export interface DashboardSummary {
  id: string;
  title: string;
  description?: string;
  /** Shipped with Pharos: clone it to change it. */
  readOnly: boolean;
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface DashboardDocument extends DashboardSummary {
  model: DashboardModel;
}

export interface DashboardsRouteDeps {
  store: DashboardStore;
  defaults: readonly DefaultDashboard[];
}

export function dashboardsRoutes(deps: DashboardsRouteDeps): Router {
  const r = Router();
  const defaults = new Map(deps.defaults.map((d) => [d.id, d]));
  const readOnlyDoc = (d: DefaultDashboard): DashboardDocument => ({ id: d.id, title: d.model.title, ...(d.model.description ? { description: d.model.description } : {}), readOnly: true, version: 0, updatedAt: null, updatedBy: null, model: d.model });

  r.get('/api/dashboards', requireRole('viewer'), (_req, res) =>
    answer(res, 'list', async () => {
      const saved = await deps.store.list();
      const list: DashboardSummary[] = [
        ...deps.defaults.map((d) => summaryOf(readOnlyDoc(d))),
        ...saved.map((s) => ({ id: s.id, title: s.title, ...(s.description ? { description: s.description } : {}), readOnly: false, version: s.version, updatedAt: s.updatedAt, updatedBy: s.updatedBy })),
      ];
      return { status: 200, data: list };
    }),
  );

  r.get('/api/dashboards/:id', requireRole('viewer'), (req, res) =>
    answer(res, 'read', async () => {
      const id = String(req.params.id);
      const d = defaults.get(id);
      if (d) return { status: 200, data: readOnlyDoc(d) };
      const s = await deps.store.get(id);
      if (!s) return notFound(id);
      return { status: 200, data: { ...s, readOnly: false } satisfies DashboardDocument };
    }),
  );

  r.post('/api/dashboards', requireRole('operator'), (req, res) =>
    answer(res, 'save', async () => {
      const model = modelOf(req.body);
      const s = await deps.store.create(model, who(res));
      return { status: 201, data: { ...s, readOnly: false } satisfies DashboardDocument };
    }),
  );

  r.put('/api/dashboards/:id', requireRole('operator'), (req, res) =>
    answer(res, 'save', async () => {
      const id = String(req.params.id);
      if (defaults.has(id)) return readOnly(id);
      const body = (req.body ?? {}) as { model?: unknown; version?: unknown };
      if (body.version !== undefined && !(Number.isSafeInteger(body.version) && (body.version as number) > 0)) {
        throw new PharosError('bad_request', `invalid "version": ${JSON.stringify(body.version)}; give the version you loaded, a positive integer`);
      }
      const model = modelOf(body.model);
      const s = await deps.store.update(id, model, who(res), body.version as number | undefined);
      if (!s) return notFound(id);
      return { status: 200, data: { ...s, readOnly: false } satisfies DashboardDocument };
    }),
  );

  r.delete('/api/dashboards/:id', requireRole('operator'), (req, res) =>
    answer(res, 'delete', async () => {
      const id = String(req.params.id);
      if (defaults.has(id)) return readOnly(id);
      if (!(await deps.store.delete(id, who(res)))) return notFound(id);
      return { status: 200, data: { id, deleted: true } };
    }),
  );
  return r;
}

type Outcome = { status: number; data: unknown } | { status: number; errorType: 'not_found' | 'forbidden' | 'bad_request'; error: string };

async function answer(res: Response, action: string, work: () => Promise<Outcome>): Promise<void> {
  try {
    const out = await work();
    if ('error' in out) return sendError(res, out.status, out.errorType, out.error);
    res.status(out.status).json({ status: 'success', data: out.data });
  } catch (err) {
    if (err instanceof PharosError && err.code === 'bad_request') return sendError(res, 400, 'bad_request', err.message);
    if (err instanceof VersionConflict) return void res.status(409).json({ status: 'error', errorType: 'conflict', error: err.message, version: err.current });
    if (err instanceof PharosError && (err.retryable || err.code === 'clickhouse_unavailable')) return sendError(res, 503, 'unavailable', `dashboards cannot ${action} now: ${err.message}`);
    throw err;
  }
}

function modelOf(input: unknown): DashboardModel {
  if (input === undefined || input === null || typeof input !== 'object') throw new PharosError('bad_request', 'the body must be a dashboard model (a JSON object, see DASHBOARDS.md)');
  const parsed = parseDashboardModel(input);
  if (!parsed.ok) throw new PharosError('bad_request', `invalid dashboard model: ${parsed.error}`);
  return parsed.model;
}

function who(res: Response): string {
  const p = res.locals.principal as Principal | undefined;
  return p?.name ?? 'anonymous';
}

function summaryOf(d: DashboardDocument): DashboardSummary {
  const { model: _model, ...rest } = d;
  return rest;
}

const notFound = (id: string): Outcome => ({ status: 404, errorType: 'not_found', error: `no dashboard ${JSON.stringify(id)}` });
const readOnly = (id: string): Outcome => ({ status: 403, errorType: 'forbidden', error: `dashboard ${JSON.stringify(id)} ships with Pharos and is read-only: clone it (POST its model) to change it` });

