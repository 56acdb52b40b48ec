/**
 * The dashboards that ship with Pharos: the JSON files beside this module, read-only in the API
 * and cloneable. Imported as modules, so tsc copies them into dist and every install (the Docker
 * image included) has them; checked at load: a broken default is a bug of the release and fails
 * the start loudly, naming the file and the field.
 */
import host from './host.json' with { type: 'json' };
import pharos from './pharos.json' with { type: 'json' };
import { parseDashboardModel, type DashboardModel } from './dashboard-model.js';

export interface DefaultDashboard {
  id: string;
  model: DashboardModel;
}

/** Ids are prefixed so they never collide with saved ones (those are UUIDs). */
const FILES: ReadonlyArray<{ id: string; file: string; json: unknown }> = [
  { id: 'default-host', file: 'host.json', json: host },
  { id: 'default-pharos', file: 'pharos.json', json: pharos },
];

export function loadDefaultDashboards(): DefaultDashboard[] {
  return FILES.map(({ id, file, json }) => {
    const parsed = parseDashboardModel(json);
    if (!parsed.ok) throw new Error(`default dashboard dashboard/defaults/${file} is invalid: ${parsed.error}`);
    return { id, model: parsed.model };
  });
}
