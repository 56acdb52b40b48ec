/**
 * The dashboard's metric pages in a real browser against `pharos all` on the in-process bus: the
 * overview lists this host with figures and sparklines, and the metrics explorer runs PromQL typed
 * into its editor, completes metric names from our API, charts the answer and says what went wrong.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { launchBrowser, SCREENSHOT_DIR } from '../harness/browser.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

const HOST = 'e2e-dash-host';

describe('dashboard pages', () => {
  let pharos: PharosProcess;
  let base: string;
  let context: BrowserContext;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-dash-pages-'));
    const port = await freePort();
    pharos = spawnPharos(['all'], {
      PHAROS_DATA_DIR: dir,
      PHAROS_NODE_NAME: HOST,
      PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
      PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
      PHAROS_KAFKA__LOCAL__ENABLED: 'never',
      // Rates (CPU, network) need two samples inside their 1 m window: get them in seconds, not 20 s.
      PHAROS_COLLECTOR__HOST_METRICS__INTERVAL_MS: '1000',
    });
    base = `http://127.0.0.1:${port}`;
    await pharos.waitForOutput(/pharos is running/);
    context = await launchBrowser();
  });

  afterAll(async () => {
    await context?.close();
    expect(await pharos?.stop()).toBe(0);
  });

  test('client-side paths are served the app, and the stack summary answers', async () => {
    for (const path of ['/overview', '/explore', '/explore?q=up&range=1h']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toContain('<div id="root">');
    }
    const summary = (await (await fetch(`${base}/api/self/metrics-summary`)).json()) as { status: string; data: Record<string, number | null> };
    expect(summary.status).toBe('success');
    expect(summary.data).toMatchObject({ at: expect.any(Number), eventsReceived: expect.any(Number), errors: expect.any(Number) });
    const withSeries = await waitFor('series counted in the summary', async () => {
      const s = (await (await fetch(`${base}/api/self/metrics-summary`)).json()) as { data: { series: number | null } };
      return (s.data.series ?? 0) > 0 ? s.data : null;
    });
    expect(withSeries.series).toBeGreaterThan(10);
  });

  test('the overview lists this host with its figures, sparklines and the stack health', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/overview`);
    await expect(page.locator('nav a[aria-current="page"]').textContent()).resolves.toBe('Overview');
    const card = page.locator(`article[data-host="${HOST}"]`);
    await card.waitFor({ timeout: 30_000 });
    await card.getByText('Up', { exact: true }).waitFor({ timeout: 30_000 });

    // Every figure shows a number once the host has sent two samples (CPU and network are rates).
    for (const figure of ['cpu', 'memory', 'disk', 'netIn', 'netOut']) {
      const value = card.locator(`[data-figure="${figure}"] dd`).first();
      await waitFor(`${figure} of ${HOST} as a number`, async () => /\d/.test((await value.textContent()) ?? ''), 30_000);
    }
    expect(await card.locator('[data-figure="memory"] dd').first().textContent()).toMatch(/^\d+(\.\d)?%/);
    expect(await card.locator('[data-figure="netIn"] dd').first().textContent()).toMatch(/\/s$/);
    expect(await card.locator('canvas').count()).toBe(5);

    // Rates of the stack's own counters need two 5 s refreshes.
    const ingest = page.locator('[data-stat="ingest"] dd').first();
    await waitFor('the ingest rate', async () => /\/s$/.test((await ingest.textContent()) ?? ''), 20_000);
    expect(await page.locator('[data-stat="series"] dd').first().textContent()).toMatch(/\d/);
    await waitForSparklines(page, card);

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'overview.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await waitForSparklines(page, card);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'overview-dark.png') });
    await page.close();
  });

  test('the metrics explorer completes, runs node_load1 into a chart with a legend, and shows errors', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.waitForURL(`${base}/explore`);

    const editor = page.getByTestId('promql-editor');
    await editor.click();
    // Completion comes from our /api/v1/label/__name__/values.
    await page.keyboard.type('node_loa');
    await page.locator('.cm-tooltip-autocomplete').getByText('node_load15').waitFor({ timeout: 15_000 });
    await page.keyboard.press('Escape');
    await page.keyboard.type('d1');
    await page.keyboard.press('Control+Enter');

    await page.waitForURL((url) => url.searchParams.get('q') === 'node_load1');
    const chart = page.getByTestId('chart-container');
    await chart.locator('canvas').waitFor({ timeout: 15_000 });
    await chart.locator('.u-legend').getByText(`node_load1{instance="${HOST}", job="node"}`).waitFor();
    // Running closed the completion list; Tab leaves the editor, showing the focus ring on Run.
    await page.locator('.cm-tooltip-autocomplete').waitFor({ state: 'detached' });
    await page.keyboard.press('Tab');

    await page.getByRole('combobox', { name: 'Time range' }).selectOption('5m');
    await page.waitForURL((url) => url.searchParams.get('range') === '5m');
    await chart.locator('canvas').waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'metrics.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await chart.locator('canvas').waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'metrics-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    // Live streams a selector's new samples (test/e2e/live-charts.e2e.test.ts checks the points), and stopping it stops that.
    const live = page.getByRole('switch', { name: 'Live' });
    await live.click();
    expect(await live.getAttribute('aria-checked')).toBe('true');
    await page.locator('[data-testid="live-mode"][data-mode="streamed"]').waitFor({ timeout: 15_000 });
    await live.click();
    expect(await live.getAttribute('aria-checked')).toBe('false');

    // The table view answers an instant query.
    await page.getByRole('button', { name: 'Table' }).click();
    await page.getByRole('cell', { name: `node_load1{instance="${HOST}", job="node"}` }).waitFor();

    // A reload keeps the query, range and view from the URL.
    await page.reload();
    await page.getByRole('cell', { name: `node_load1{instance="${HOST}", job="node"}` }).waitFor();
    expect(await editor.textContent()).toBe('node_load1');

    // A bad query shows the server's message, not an empty chart.
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('rate(node_load1');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    const error = page.getByTestId('query-error');
    await error.waitFor();
    expect((await error.textContent())!.length).toBeGreaterThan(5);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'metrics-error.png') });
    await page.close();
  });
});

/** uPlot draws after layout; wait until a sparkline's canvas has painted pixels rather than sleeping. */
async function waitForSparklines(page: Page, card: ReturnType<Page['locator']>): Promise<void> {
  await card.locator('canvas').first().waitFor();
  await page.waitForFunction((host) => {
    const canvas = document.querySelector(`article[data-host="${host}"] [data-figure="memory"] canvas`) as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0) return false;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  }, HOST);
}
