/**
 * The alerts and delivery pages in a real browser against `pharos all` (in-process bus): a rule
 * over a scraped sample fires and pages a webhook again and again; the Alerts page lists it; a
 * silence created from it in the browser stops the pages and the API shows it suppressed;
 * expiring the silence brings the pages back; the history and the delivery view list this host.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { launchBrowser, SCREENSHOT_DIR } from '../harness/browser.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

const HOST = 'e2e-alerts-host';
const ALERT = 'E2EQueueDeep';

interface WebhookBody {
  status: string;
  alerts: Array<{ labels: Record<string, string> }>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('alerts and delivery pages', () => {
  let pharos: PharosProcess;
  let base: string;
  let context: BrowserContext;
  const pages: WebhookBody[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      pages.push(JSON.parse(body) as WebhookBody);
      res.end('ok');
    });
  });
  // The sample the rule watches, as a Prometheus target the collector scrapes every second.
  const target = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end('# TYPE e2e_queue_depth gauge\ne2e_queue_depth{queue="orders"} 150\n');
  });
  const firingPages = () => pages.filter((p) => p.status === 'firing' && p.alerts.some((a) => a.labels.alertname === ALERT)).length;

  beforeAll(async () => {
    const [hookPort, targetPort] = [await listen(hook), await listen(target)];
    const dir = mkdtempSync(join(tmpdir(), 'pharos-alerts-page-'));
    const rules = join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      `groups:\n  - name: e2e-queue\n    interval: 1s\n    rules:\n      - alert: ${ALERT}\n        expr: e2e_queue_depth > 100\n        labels: { severity: page }\n        annotations: { summary: "Queue {{ $labels.queue }} holds {{ $value }} jobs" }\n`,
    );
    const port = await freePort();
    pharos = spawnPharos(['all'], {
      PHAROS_DATA_DIR: dir,
      PHAROS_NODE_NAME: HOST,
      PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
      PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
      PHAROS_KAFKA__LOCAL__ENABLED: 'never',
      // Silences and their expiry need operator; on loopback without tokens, anonymous may act.
      PHAROS_AUTH__ANONYMOUS_ROLE: 'operator',
      PHAROS_COLLECTOR__SCRAPE__TARGETS: JSON.stringify([{ url: `http://127.0.0.1:${targetPort}/metrics`, job: 'e2e', interval_ms: 1000, timeout_ms: 900 }]),
      PHAROS_ALERTS__RULE_FILES: `[${rules}]`,
      // Re-sent every 2 s while it fires: a silence that works stops that.
      PHAROS_ALERTS__NOTIFY: JSON.stringify({
        route: { receiver: 'hook', group_wait: '0s', group_interval: '1s', repeat_interval: '2s' },
        receivers: [{ name: 'hook', webhook_configs: [{ url: `http://127.0.0.1:${hookPort}/` }] }],
      }),
    });
    base = `http://127.0.0.1:${port}`;
    await pharos.waitForOutput(/pharos is running/);
    context = await launchBrowser();
  });

  afterAll(async () => {
    await context?.close();
    hook.close();
    target.close();
    expect(await pharos?.stop()).toBe(0);
  });

  test('a firing alert is listed, silenced from the browser (no more pages, suppressed in the API), and the silence expires', { timeout: 180_000 }, async () => {
    await waitFor('the alert paged twice (repeat_interval 2 s)', () => firingPages() >= 2, 60_000);

    const page = await context.newPage();
    await page.goto(`${base}/alerts`);
    await expect(page.locator('nav a[aria-current="page"]').textContent()).resolves.toBe('Alerts');
    const row = page.locator(`tr[data-alertname="${ALERT}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await row.getAttribute('data-state')).toBe('firing');
    await row.getByText('Queue orders holds 150 jobs').waitFor();
    await shoot(page, 'alerts');

    // Keyboard: the Silence button opens the form with the alert's labels as ticked matchers.
    await row.getByRole('button', { name: 'Silence…' }).focus();
    await page.keyboard.press('Enter');
    const form = page.getByRole('form', { name: 'New silence' });
    await form.waitFor();
    for (const m of [`alertname="${ALERT}"`, 'queue="orders"', 'severity="page"']) expect(await form.getByText(m).count()).toBe(1);
    await form.getByLabel('By').fill('e2e-operator');
    await form.getByLabel('Why').fill('e2e: draining the queue');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'alerts-silence-form.png') });
    await form.getByRole('button', { name: 'Create silence' }).click();
    await page.getByText(/Silence \S+ created/).waitFor();

    // The API shows it suppressed, the page shows it silenced.
    const suppressed = await waitFor('the alert suppressed in /api/v2/alerts', async () => {
      const alerts = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; status: { state: string; silencedBy: string[] } }>;
      const a = alerts.find((x) => x.labels.alertname === ALERT);
      return a?.status.state === 'suppressed' ? a : null;
    });
    expect(suppressed.status.silencedBy).toHaveLength(1);
    await page.locator(`tr[data-alertname="${ALERT}"][data-silenced="true"]`).waitFor({ timeout: 15_000 });
    // Pages in flight when the silence landed are done within a group interval; after that, none.
    await waitForEvaluations(base, 2000);
    const pagesAtSilence = firingPages();
    await waitForEvaluations(base, 5000);
    expect(firingPages()).toBe(pagesAtSilence);
    await shoot(page, 'alerts-silenced');

    // The silences tab lists it; expiring it there brings the pages back.
    await page.getByRole('tab', { name: /Silences/ }).click();
    await page.waitForURL((u) => u.searchParams.get('tab') === 'silences');
    const silenceRow = page.locator(`tr[data-silence="${suppressed.status.silencedBy[0]}"]`);
    await silenceRow.getByText('e2e: draining the queue').waitFor();
    expect(await silenceRow.getAttribute('data-state')).toBe('active');
    await shoot(page, 'alerts-silences');
    await silenceRow.getByRole('button', { name: 'Expire' }).click();
    await waitFor('the alert active again', async () => {
      const alerts = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
      return alerts.find((x) => x.labels.alertname === ALERT)?.status.state === 'active' ? true : null;
    });
    await waitFor('pages again after the silence expired', () => firingPages() > pagesAtSilence, 30_000);

    // History: the state change and the notifications, from alert_events.
    await page.getByRole('tab', { name: 'History' }).click();
    await page.locator('table[aria-label="Alert history"]').getByText('firing').first().waitFor({ timeout: 20_000 });
    expect(await page.locator('table[aria-label="Alert history"] tr', { hasText: ALERT }).count()).toBeGreaterThan(1);
    await shoot(page, 'alerts-history');
    await page.close();
  });

  test('the delivery page lists this host and its sources as complete and fresh', { timeout: 90_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/delivery`);
    const row = page.locator(`tr[data-host="${HOST}"]`).first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-health')).toBe('ok');
    // No filter is configured here: the drops column says none.
    expect(await row.locator('td[data-dropped]').getAttribute('data-dropped')).toBe('0');
    // The host filter lives in the URL.
    await page.getByLabel('Filter by host').fill(HOST);
    await page.waitForURL((u) => u.searchParams.get('host') === HOST);
    expect(await page.locator('tbody tr').count()).toBe(await page.locator(`tr[data-host="${HOST}"]`).count());
    await shoot(page, 'delivery');
    await page.close();
  });
});

/** Waits until the rule group has been evaluated `ms` after now (several 1 s evaluations), instead of sleeping. */
async function waitForEvaluations(base: string, ms: number): Promise<void> {
  const after = Date.now() + ms;
  await waitFor(`evaluations ${ms} ms on`, async () => {
    const r = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; lastEvaluation: string | null }> } };
    const g = r.data.groups.find((x) => x.name === 'e2e-queue');
    return g?.lastEvaluation && Date.parse(g.lastEvaluation) > after ? true : null;
  }, ms + 20_000);
}

/** A screenshot in the light theme, then in the dark one. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
}
