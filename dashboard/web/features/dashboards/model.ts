/**
 * The dashboard model as the app uses it: the types of dashboard/defaults/dashboard-model.ts (the
 * server checks every model it stores), variable substitution, legends and value formats.
 */
import type { DashboardModel, PanelModel, VariableModel } from '../../../defaults/dashboard-model.js';
import { formatBytes, formatPercent, formatShort } from '../../ui/format-number.js';

export type { DashboardModel, PanelModel, VariableModel };
export type Unit = Extract<PanelModel, { unit: unknown }>['unit'];

/** `$host` and `${host}` become the variable's value; unknown names are left as typed. */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    return Object.hasOwn(values, name) ? values[name]! : whole;
  });
}

/** Grafana's legend templates: `{{device}} in` → `eth0 in`. Without one, the series as Prometheus prints it. */
export function legendOf(template: string | undefined, metric: Record<string, string>, fallback: (m: Record<string, string>) => string): string {
  if (!template) return fallback(metric);
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_w, name: string) => metric[name] ?? '');
}

export function formatterFor(unit: Unit | undefined): (v: number) => string {
  switch (unit) {
    case 'percent':
      return (v) => formatPercent(v / 100);
    case 'percentunit':
      return formatPercent;
    case 'bytes':
      return (v) => formatBytes(v);
    case 'bytes/s':
      return (v) => formatBytes(v, '/s');
    case 'seconds':
      return (v) => `${formatShort(v)} s`;
    case 'ops/s':
      return (v) => `${formatShort(v)}/s`;
    default:
      return formatShort;
  }
}

export const TIME_RANGES = [
  { id: '5m', label: 'Last 5 minutes', seconds: 300 },
  { id: '15m', label: 'Last 15 minutes', seconds: 900 },
  { id: '1h', label: 'Last hour', seconds: 3600 },
  { id: '6h', label: 'Last 6 hours', seconds: 6 * 3600 },
  { id: '24h', label: 'Last 24 hours', seconds: 86_400 },
  { id: '7d', label: 'Last 7 days', seconds: 7 * 86_400 },
] as const;

export const REFRESHES = [
  { id: 'off', label: 'Off', ms: 0 },
  // No timer: metric panels load once, then receive only new points (useLivePanel).
  { id: 'live', label: 'Live', ms: 0 },
  { id: '5s', label: '5 s', ms: 5000 },
  { id: '10s', label: '10 s', ms: 10_000 },
  { id: '30s', label: '30 s', ms: 30_000 },
  { id: '1m', label: '1 min', ms: 60_000 },
  { id: '5m', label: '5 min', ms: 300_000 },
] as const;

/** `now-1h` (the model's default) → `1h`, when it is one of the picker's ranges. */
export function rangeIdOf(from: string | undefined): string {
  const id = from?.replace(/^now-/, '');
  return TIME_RANGES.some((r) => r.id === id) ? id! : '1h';
}

export const STARTER_MODEL: DashboardModel = {
  schemaVersion: 1,
  title: 'New dashboard',
  description: 'Edit the JSON model to add panels (see DASHBOARDS.md).',
  time: { from: 'now-1h' },
  refresh: 'off',
  variables: [{ name: 'host', label: 'Host', type: 'label_values', metric: 'node_time_seconds', labelName: 'instance' }],
  panels: [
    { id: 'load', type: 'timeseries', title: 'Load (1 m)', size: { w: 6, h: 4 }, query: 'node_load1{instance="$host"}', unit: 'none', legend: '{{instance}}' },
    { id: 'load-now', type: 'stat', title: 'Load now', size: { w: 3, h: 2 }, query: 'node_load1{instance="$host"}', unit: 'none' },
  ],
};
