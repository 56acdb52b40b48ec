import { describe, expect, test } from 'vitest';
import { parseDashboardModel } from './dashboard-model.js';
import { loadDefaultDashboards } from './default-dashboards.js';

describe('shipped dashboards', () => {
  test('both are valid models with their ids, and every panel id is unique', () => {
    const d = loadDefaultDashboards();
    expect(d.map((x) => [x.id, x.model.title])).toEqual([
      ['default-host', 'Host'],
      ['default-pharos', 'Pharos itself'],
    ]);
    for (const { model } of d) expect(new Set(model.panels.map((p) => p.id)).size).toBe(model.panels.length);
    // The host dashboard filters every metric panel by its variable.
    const host = d[0]!.model;
    for (const p of host.panels) expect('query' in p ? p.query : p.logs.host).toContain('$host');
  });

  test('a bad model names each field that is wrong', () => {
    const r = parseDashboardModel({ schemaVersion: 1, title: '', panels: [{ id: 'a b', type: 'stat', title: 't', size: { w: 13, h: 1 }, query: 'up' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/^title: /);
      expect(r.error).toMatch(/panels\.0\.id: a panel id is/);
      expect(r.error).toMatch(/panels\.0\.size\.w: /);
    }
  });
});
