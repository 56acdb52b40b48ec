/**
 * Live views in a real browser against `pharos all` (in-process bus): the Metrics explorer's live
 * chart gains the new samples of its series without fetching its range again (streamed for a
 * selector, incremental small reads for a computed expression), the Logs page exports a file
 * holding a known line, and the Alerts page shows a newly firing alert without a reload.
 */
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { launchBrowser, SCREENSHOT_DIR } from '../harness/browser.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

const RANGE_SECONDS = 5 * 60;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** query_range requests of the page, split into full-range loads and small newest-step reads. */
function countRangeRequests(page: Page): { full: number; small: number } {
  const counts = { full: 0, small: 0 };
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname !== '/api/v1/query_range') return;
    const span = Number(url.searchParams.get('end')) - Number(url.searchParams.get('start'));
    if (span >= RANGE_SECONDS - 1) counts.full++;
    else counts.small++;
  });
  return counts;
}

/** Waits until the chart draws points; the first scrapes may land after the page's first load, so reload until then. */
async function waitForChart(page: Page, what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      const points = Number((await page.getByTestId('chart-container').getAttribute('data-points', { timeout: 2000 }).catch(() => null)) ?? 0);
      if (points > 0) return true;
      await page.reload();
      return false;
    },
    60_000,
    500,
  );
}

describe('live charts, log export and live alerts', () => {
  let pharos: PharosProcess;
  let base: string;
  let context: BrowserContext;
  let appLog: string;
  let scrapes = 0;
  let alarm = 0;
  // A Prometheus target the collector scrapes every second: a gauge that moves, a counter, and an alarm the test raises.
  const target = createServer((_req, res) => {
    scrapes++;
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      `# TYPE e2e_live_gauge gauge\ne2e_live_gauge{probe="a"} ${scrapes % 7}\n# TYPE e2e_live_requests_total counter\ne2e_live_requests_total{probe="a"} ${scrapes * 3}\n# TYPE e2e_live_alarm gauge\ne2e_live_alarm{probe="a"} ${alarm}\n`,
    );
  });

  beforeAll(async () => {
    const targetPort = await listen(target);
    const dir = mkdtempSync(join(tmpdir(), 'pharos-live-charts-'));
    appLog = join(dir, 'app.log');
    writeFileSync(appLog, 'INFO export-app started\n');
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, `groups:\n  - name: e2e-live\n    interval: 1s\n    rules:\n      - alert: E2ELiveAlarm\n        expr: e2e_live_alarm > 0\n        labels: { severity: page }\n`);
    const port = await freePort();
    pharos = spawnPharos(['all'], {
      PHAROS_DATA_DIR: dir,
      PHAROS_NODE_NAME: 'e2e-live-charts',
      PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
      PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
      PHAROS_COLLECTOR__FILES: `[{include: ["${appLog}"], service: exportapp, start_at: beginning}]`,
      PHAROS_COLLECTOR__POLL_MS: '100',
      PHAROS_COLLECTOR__SELF_LOGS: 'false',
      PHAROS_KAFKA__LOCAL__ENABLED: 'never',
      // Exports need analyst; on loopback without tokens, anonymous may.
      PHAROS_AUTH__ANONYMOUS_ROLE: 'analyst',
      PHAROS_COLLECTOR__SCRAPE__TARGETS: JSON.stringify([{ url: `http://127.0.0.1:${targetPort}/metrics`, job: 'e2e', interval_ms: 1000, timeout_ms: 900 }]),
      PHAROS_ALERTS__RULE_FILES: `[${rules}]`,
    });
    base = `http://127.0.0.1:${port}`;
    await pharos.waitForOutput(/pharos is running/, 90_000);
    context = await launchBrowser();
  });

  afterAll(async () => {
    await context?.close();
    target.close();
    expect(await pharos?.stop()).toBe(0);
  });

  test('a live selector chart gains new samples pushed over the socket, never re-fetching its range', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    const requests = countRangeRequests(page);
    let seriesFrames = 0;
    page.on('websocket', (ws) => ws.on('framereceived', (f) => typeof f.payload === 'string' && f.payload.includes('"type":"series"') && seriesFrames++));
    await page.goto(`${base}/explore?q=${encodeURIComponent('e2e_live_gauge{probe="a"}')}&range=5m`);
    const chart = page.getByTestId('chart-container');
    await waitForChart(page, 'the gauge charted');
    const fullBeforeLive = requests.full;

    await page.getByRole('switch', { name: 'Live' }).click();
    await page.locator('[data-testid="live-mode"][data-mode="streamed"]').waitFor({ timeout: 10_000 });
    const fullAfterLive = requests.full;
    const pointsAtStart = Number(await chart.getAttribute('data-points'));
    const lastXAtStart = Number(await chart.getAttribute('data-last-x'));
    // A few scrapes later the chart holds their samples, pushed, not re-read.
    await waitFor('3 new samples in the chart', async () => Number(await chart.getAttribute('data-last-x')) >= lastXAtStart + 3, 20_000);
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(pointsAtStart);
    expect(requests.full).toBe(fullAfterLive);
    expect(seriesFrames).toBeGreaterThan(0);
    expect(fullAfterLive - fullBeforeLive).toBeLessThanOrEqual(1); // switching live on loads the range once
    console.log(`streamed live chart: ${requests.full} full-range loads, ${requests.small} small reads, points ${pointsAtStart} → ${await chart.getAttribute('data-points')}`);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'metrics-live-streamed.png') });
    await page.close();
  });

  test('a live computed chart reads only its newest steps ("live: incremental")', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    const requests = countRangeRequests(page);
    await page.goto(`${base}/explore?q=${encodeURIComponent('rate(e2e_live_requests_total[15s])')}&range=5m`);
    const chart = page.getByTestId('chart-container');
    await waitForChart(page, 'the rate charted');
    await page.getByRole('switch', { name: 'Live' }).click();
    await page.locator('[data-testid="live-mode"][data-mode="incremental"]').waitFor({ timeout: 10_000 });
    const fullAfterLive = requests.full;
    const lastXAtStart = Number(await chart.getAttribute('data-last-x'));
    await waitFor('2 small reads', () => requests.small >= 2, 20_000);
    await waitFor('a newer step in the chart', async () => Number(await chart.getAttribute('data-last-x')) > lastXAtStart, 20_000);
    expect(requests.full).toBe(fullAfterLive);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'metrics-live-incremental.png') });
    await page.close();
  });

  test('a dashboard under auto-refresh "live" streams its time series panel without reloading the range', { timeout: 120_000 }, async () => {
    const model = {
      schemaVersion: 1,
      title: 'Live e2e',
      time: { from: 'now-5m' },
      refresh: 'off',
      variables: [],
      panels: [{ id: 'gauge', type: 'timeseries', title: 'Gauge', size: { w: 6, h: 4 }, query: 'e2e_live_gauge{probe="a"}', unit: 'none' }],
    };
    const created = await fetch(`${base}/api/dashboards`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(model) });
    expect(created.status).toBe(201);
    const { data } = (await created.json()) as { data: { id: string } };
    const page = await context.newPage();
    let panelReads = 0;
    page.on('request', (req) => new URL(req.url()).pathname === '/api/metrics/query_range' && panelReads++);
    await page.goto(`${base}/dashboards?id=${encodeURIComponent(data.id)}&range=5m&refresh=live`);
    const panel = page.locator('[data-panel="gauge"] [data-live-mode="streamed"]');
    await panel.waitFor({ timeout: 30_000 });
    const readsAtStart = panelReads;
    const points = Number(await panel.getAttribute('data-points'));
    await waitFor('new samples in the panel', async () => Number(await panel.getAttribute('data-points')) >= points + 2, 20_000);
    // Only the catch-up read after subscribing may follow the first load; no periodic reloads.
    expect(panelReads - readsAtStart).toBeLessThanOrEqual(1);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'dashboard-live.png') });
    await page.close();
  });

  test('the Logs page exports NDJSON and CSV files holding a known line', { timeout: 120_000 }, async () => {
    const known = `export_${Date.now().toString(36)}`;
    writeFileSync(appLog, `INFO export-app started\nWARN export line ${known}\n`);
    const page = await context.newPage();
    await page.goto(`${base}/?service=exportapp`);
    await page.getByText(`WARN export line ${known}`).waitFor({ timeout: 30_000 });
    // The export reads the warehouse: wait until the line is there, not only in the live ring.
    await waitFor('the line in the warehouse', async () => {
      const res = await fetch(`${base}/api/logs?service=exportapp&q=${known}`);
      return res.ok && (await res.text()).includes(known);
    }, 30_000);
    for (const format of ['ndjson', 'csv'] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Export ${format.toUpperCase()}` }).click()]);
      expect(download.suggestedFilename()).toMatch(new RegExp(`^pharos-logs-.*\\.${format}$`));
      const text = readFileSync((await download.path())!, 'utf8');
      expect(text).toContain(`WARN export line ${known}`);
      if (format === 'csv') expect(text.split('\n')[0]).toContain('time,observed_time,severity');
    }
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'logs-export.png') });
    await page.close();
  });

  test('below the analyst role the export buttons are disabled and say why', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    // The server would refuse the export anyway; here the page is told it serves a viewer.
    await page.route('**/api/whoami', (route) => route.fulfill({ json: { status: 'success', data: { name: 'viewer-e2e', role: 'viewer', anonymous: false } } }));
    await page.goto(`${base}/?service=exportapp`);
    const button = page.getByRole('button', { name: 'Export CSV' });
    await waitFor('the export disabled for a viewer', () => button.isDisabled(), 15_000);
    expect(await button.getAttribute('title')).toBe('Exports need the analyst role');
    await page.close();
  });

  test('the Alerts page shows a newly firing alert without a reload', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    let alertFrames = 0;
    page.on('websocket', (ws) => ws.on('framereceived', (f) => typeof f.payload === 'string' && f.payload.includes('"type":"alert"') && alertFrames++));
    await page.goto(`${base}/alerts`);
    await page.locator('[data-stream="live"]').waitFor({ timeout: 15_000 });
    const openedAt = Date.now();
    expect(await page.locator('tr[data-alertname="E2ELiveAlarm"]').count()).toBe(0);
    alarm = 1;
    await page.locator('tr[data-alertname="E2ELiveAlarm"][data-state="firing"]').waitFor({ timeout: 20_000 });
    // Sooner than the page's 30 s safety poll: the alert stream brought it.
    expect(Date.now() - openedAt).toBeLessThan(30_000);
    expect(alertFrames).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'alerts-live.png') });
    alarm = 0;
    await page.close();
  });
});
