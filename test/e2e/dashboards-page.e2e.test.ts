/**
 * Dashboards in a real browser against `pharos all` (in-process bus): the shipped Host dashboard
 * draws this host's panels with its variable picked; a new dashboard is created, renamed, saved
 * and still there after a reload; export and import round-trip the JSON model. Also the REST
 * behind the panels: metric ranges name their source, and logs export as NDJSON and CSV.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { launchBrowser, SCREENSHOT_DIR } from '../harness/browser.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

const HOST = 'e2e-dashboards-host';

describe('dashboards page', () => {
  let pharos: PharosProcess;
  let base: string;
  let context: BrowserContext;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-dashboards-page-'));
    const appLog = join(dir, 'app.log');
    writeFileSync(appLog, 'INFO e2e dashboards line one\nWARN e2e dashboards line "two", with a comma\n');
    const port = await freePort();
    pharos = spawnPharos(['all'], {
      PHAROS_DATA_DIR: dir,
      PHAROS_NODE_NAME: HOST,
      PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
      PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
      PHAROS_KAFKA__LOCAL__ENABLED: 'never',
      PHAROS_COLLECTOR__FILES: `[{include: ["${appLog}"], service: e2e-dash, start_at: beginning}]`,
      PHAROS_COLLECTOR__HOST_METRICS__INTERVAL_MS: '1000',
      // "Pharos itself" reads pharos_* series: scrape this process's own /metrics, as DASHBOARDS.md says.
      PHAROS_COLLECTOR__SCRAPE__TARGETS: JSON.stringify([{ url: `http://127.0.0.1:${port}/metrics`, job: 'pharos', interval_ms: 1000, timeout_ms: 900 }]),
      // Saving needs operator and exporting analyst; on loopback without tokens, anonymous may.
      PHAROS_AUTH__ANONYMOUS_ROLE: 'admin',
    });
    base = `http://127.0.0.1:${port}`;
    await pharos.waitForOutput(/pharos is running/);
    context = await launchBrowser();
  });

  afterAll(async () => {
    await context?.close();
    expect(await pharos?.stop()).toBe(0);
  });

  test('the built-in Host dashboard draws this host: variable picked, stats, charts, logs', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/dashboards`);
    await page.locator('[data-dashboard="default-pharos"]').waitFor();
    await shoot(page, 'dashboards-list');
    await page.locator('[data-dashboard="default-host"]').click();
    await page.waitForURL((u) => u.searchParams.get('id') === 'default-host');
    // The variable's default is the first host, written to the URL.
    await page.waitForURL((u) => u.searchParams.get('var-host') === HOST, { timeout: 30_000 });
    const load = page.locator('[data-panel="load-now"] [data-value]');
    await waitFor('the load stat as a number', async () => /\d/.test((await load.textContent({ timeout: 1000 }).catch(() => '')) ?? ''), 30_000);
    await page.locator('[data-panel="load"] canvas').first().waitFor();
    await page.locator('[data-panel="load"]').getByText('real-time store').waitFor();
    await page.locator('[data-panel="logs"]').getByText('e2e dashboards line one').waitFor({ timeout: 30_000 });
    // Read-only: no Save, but Clone.
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Clone' }).waitFor();
    await waitForCharts(page);
    await shoot(page, 'dashboard-host');

    // The other built-in one: Pharos's own figures.
    await page.getByRole('link', { name: 'Dashboards /' }).click();
    await page.locator('[data-dashboard="default-pharos"]').click();
    const series = page.locator('[data-panel="series"] [data-value]');
    await waitFor('the series count as a number', async () => /\d/.test((await series.textContent({ timeout: 1000 }).catch(() => '')) ?? ''), 30_000);
    await page.locator('[data-panel="own-logs"] li').first().waitFor({ timeout: 30_000 });
    await waitForCharts(page);
    await shoot(page, 'dashboard-pharos');
    await page.close();
  });

  test('a new dashboard is created, renamed, saved, reloaded, exported and imported', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/dashboards`);
    await page.getByRole('button', { name: 'New dashboard' }).click();
    await page.waitForURL((u) => (u.searchParams.get('id') ?? '').length > 20);
    const id = new URL(page.url()).searchParams.get('id')!;
    const title = page.getByLabel('Dashboard title');
    await title.fill('E2E capacity');
    await page.getByText('unsaved changes').waitFor();
    // Keyboard: Ctrl+S saves.
    await page.keyboard.press('Control+s');
    await page.getByText('Saved as version 2.').waitFor();

    await page.getByRole('combobox', { name: 'Time range' }).selectOption('15m');
    await page.waitForURL((u) => u.searchParams.get('range') === '15m');
    await page.reload();
    await expect(page.getByLabel('Dashboard title').inputValue({ timeout: 15_000 })).resolves.toBe('E2E capacity');
    expect(await page.getByRole('combobox', { name: 'Time range' }).inputValue()).toBe('15m');
    await page.locator('[data-panel="load"] canvas').first().waitFor({ timeout: 30_000 });
    await waitForCharts(page);
    await shoot(page, 'dashboard-saved');

    const listed = (await (await fetch(`${base}/api/dashboards`)).json()) as { data: Array<{ id: string; title: string; version: number }> };
    expect(listed.data.find((d) => d.id === id)).toMatchObject({ title: 'E2E capacity', version: 2 });

    // Export downloads the model; importing it (renamed) creates another dashboard.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const exportedPath = join(dir, 'exported.json');
    await download.saveAs(exportedPath);
    const exported = JSON.parse(readFileSync(exportedPath, 'utf8')) as { title: string; panels: unknown[] };
    expect(exported.title).toBe('E2E capacity');
    writeFileSync(exportedPath, JSON.stringify({ ...exported, title: 'E2E imported' }));
    await page.goto(`${base}/dashboards`);
    await page.getByLabel('Dashboard JSON file').setInputFiles(exportedPath);
    await page.waitForURL((u) => !!u.searchParams.get('id') && u.searchParams.get('id') !== id);
    await expect(page.getByLabel('Dashboard title').inputValue({ timeout: 15_000 })).resolves.toBe('E2E imported');

    // A broken model is refused with the server's message naming the field.
    writeFileSync(exportedPath, JSON.stringify({ ...exported, panels: [{ id: 'x', type: 'gauge', title: '', size: { w: 1, h: 1 } }] }));
    await page.goto(`${base}/dashboards`);
    await page.getByLabel('Dashboard JSON file').setInputFiles(exportedPath);
    await page.getByRole('alert').getByText(/panels\.0\.type/).waitFor();
    await shoot(page, 'dashboards-import-error');
    await page.close();
  });

  test('metric ranges say their source; logs export as NDJSON and CSV', { timeout: 60_000 }, async () => {
    const now = Math.floor(Date.now() / 1000);
    const recent = await waitFor('node_load1 from the real-time store', async () => {
      const r = (await (await fetch(`${base}/api/metrics/query_range?query=node_load1&start=${now - 300}&end=${now}&step=15`)).json()) as { data: { source: string; result: unknown[] } };
      return r.data.result.length ? r : null;
    });
    expect(recent.data.source).toBe('realtime');
    // Older than the real-time window (2 h by default): the warehouse answers, from the 1 m rollup.
    const old = (await (await fetch(`${base}/api/metrics/query_range?query=node_load1&start=${now - 6 * 3600}&end=${now}&step=60`)).json()) as { data: { source: string; resolution: string } };
    expect(old.data).toMatchObject({ source: 'warehouse', resolution: '1m' });

    const ndjson = await waitFor('the tailed lines in the export', async () => {
      const text = await (await fetch(`${base}/api/logs/export?format=ndjson&service=e2e-dash`)).text();
      return text.split('\n').filter(Boolean).length >= 2 ? text : null;
    });
    const rows = ndjson.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { body: string; hostName: string });
    expect(rows.map((r) => r.body).sort()).toEqual(['INFO e2e dashboards line one', 'WARN e2e dashboards line "two", with a comma']);
    const csv = await fetch(`${base}/api/logs/export?format=csv&service=e2e-dash`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="pharos-logs-.*\.csv"/);
    const text = await csv.text();
    expect(text.split('\n')[0]).toBe('time,observed_time,severity,severity_number,service,host,body,trace_id,span_id,resource_attributes,log_attributes');
    expect(text).toContain('"WARN e2e dashboards line ""two"", with a comma"');
    expect((await fetch(`${base}/api/logs/export?format=xml`)).status).toBe(400);
  });
});

/** uPlot draws after layout: wait for painted pixels in the first chart rather than sleeping. */
async function waitForCharts(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const canvas = document.querySelector('[data-panel] canvas') as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0) return false;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  });
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
}
