/**
 * The JSON model of a dashboard (documented in dashboard/DASHBOARDS.md), checked wherever a model
 * enters: the REST API on save and import, and the shipped defaults at start. Strict: an unknown
 * key is a typo to report, not a field to drop silently.
 */
import { z } from 'zod';

export const PANEL_TYPES = ['timeseries', 'stat', 'table', 'logs'] as const;
export const UNITS = ['none', 'percent', 'percentunit', 'bytes', 'bytes/s', 'seconds', 'ops/s'] as const;

const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name is letters, digits and _');
const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a label name is letters, digits and _');

const variable = z.strictObject({
  name: variableName,
  /** Shown before the picker; the name when absent. */
  label: z.string().max(100).optional(),
  /** Values are the label's values over the series `metric` selects (the real-time store's API). */
  type: z.literal('label_values'),
  metric: z.string().min(1).max(500),
  labelName,
  /** Picked when the URL names none; the first value when absent. */
  default: z.string().max(500).optional(),
});

const size = z.strictObject({
  /** Columns of a 12-column grid. */
  w: z.number().int().min(1).max(12),
  /** Rows of 80 px. */
  h: z.number().int().min(1).max(12),
});

const base = {
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a panel id is 1-64 letters, digits, _ or -'),
  title: z.string().max(200),
  description: z.string().max(2000).optional(),
  size,
};

const metricPanel = {
  ...base,
  /** PromQL; `$name` is replaced by the variable's value. */
  query: z.string().min(1).max(4000),
  unit: z.enum(UNITS).default('none'),
  /** A legend per series, as `{{label}}` templates (Grafana's convention). */
  legend: z.string().max(200).optional(),
};

const panel = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('timeseries'), ...metricPanel }),
  z.strictObject({ type: z.literal('stat'), ...metricPanel }),
  z.strictObject({ type: z.literal('table'), ...metricPanel }),
  z.strictObject({
    type: z.literal('logs'),
    ...base,
    logs: z.strictObject({
      q: z.string().max(1000).optional(),
      service: z.string().max(200).optional(),
      host: z.string().max(200).optional(),
      limit: z.number().int().min(1).max(1000).default(50),
    }),
  }),
]);

export const dashboardModel = z
  .strictObject({
    schemaVersion: z.literal(1),
    title: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    /** Default time range, as the time picker spells it. */
    time: z.strictObject({ from: z.string().regex(/^now-\d{1,6}[smhdw]$/, 'from is now-<n><s|m|h|d|w>, e.g. now-1h') }).default({ from: 'now-1h' }),
    /** Auto-refresh period, or off. */
    refresh: z.enum(['off', 'live', '5s', '10s', '30s', '1m', '5m']).default('off'),
    variables: z.array(variable).max(10).default([]),
    panels: z.array(panel).max(50),
  })
  .superRefine((m, ctx) => {
    const ids = new Set<string>();
    for (const [i, p] of m.panels.entries()) {
      if (ids.has(p.id)) ctx.addIssue({ code: 'custom', path: ['panels', i, 'id'], message: `duplicate panel id ${JSON.stringify(p.id)}` });
      ids.add(p.id);
    }
    const names = new Set<string>();
    for (const [i, v] of m.variables.entries()) {
      if (names.has(v.name)) ctx.addIssue({ code: 'custom', path: ['variables', i, 'name'], message: `duplicate variable ${JSON.stringify(v.name)}` });
      names.add(v.name);
    }
  });

export type DashboardModel = z.infer<typeof dashboardModel>;
export type PanelModel = DashboardModel['panels'][number];
export type VariableModel = DashboardModel['variables'][number];

/** Checks a model; the error names each bad field by its path, as `panels.2.query: ...`. */
export function parseDashboardModel(input: unknown): { ok: true; model: DashboardModel } | { ok: false; error: string } {
  const r = dashboardModel.safeParse(input);
  if (r.success) return { ok: true, model: r.data };
  return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(model)'}: ${i.message}`).join('; ') };
}
