/**
 * The logs explorer in a real browser against `pharos all` on the harness's Kafka broker: lines
 * appended to a tailed file, then "1h" and a search for a token they carry. The histogram counts
 * them, the results list them, a row opens on its attributes, and the URL alone restores the view.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { launchBrowser, SCREENSHOT_DIR } from '../harness/browser.js';
import { isolatedKafkaEnv } from '../harness/kafka-helpers.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

describe('logs explorer', () => {
  let pharos: PharosProcess;
  let base: string;
  let context: BrowserContext;
  let appLog: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-explorer-'));
    appLog = join(dir, 'shop.log');
    writeFileSync(appLog, 'INFO shop started\n');
    const port = await freePort();
    pharos = spawnPharos(['all'], {
      PHAROS_DATA_DIR: dir,
      PHAROS_NODE_NAME: 'e2e-explorer-host',
      PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
      PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
      PHAROS_COLLECTOR__FILES: `[{include: ["${appLog}"], service: shop, start_at: beginning}]`,
      PHAROS_COLLECTOR__POLL_MS: '100',
      PHAROS_COLLECTOR__SELF_LOGS: 'false',
      // Its own topics and groups, and no host metrics: the other e2e files share this broker.
      ...isolatedKafkaEnv('explorer'),
      PHAROS_COLLECTOR__HOST_METRICS__ENABLED: 'false',
    });
    base = `http://127.0.0.1:${port}`;
    await pharos.waitForOutput(/pharos is running/, 90_000);
    context = await launchBrowser();
  });

  afterAll(async () => {
    await context?.close();
    expect(await pharos?.stop()).toBe(0);
  });

  test('1h and a search: histogram, results, attributes, and a URL that restores the view', { timeout: 150_000 }, async () => {
    const token = `needle_${Date.now().toString(36)}`;
    const lines = 3;
    for (let i = 0; i < lines; i++) appendFileSync(appLog, `ERROR checkout ${token} attempt ${i}\n`);
    appendFileSync(appLog, 'INFO unrelated line\n');

    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.locator('[data-status="live"]').waitFor({ timeout: 30_000 });

    await page.getByRole('group', { name: 'Time range' }).getByRole('button', { name: '1h', exact: true }).click();
    await page.getByLabel('Filter log lines').fill(token);
    await page.getByLabel('Filter log lines').press('Enter');

    // The warehouse writes in batches: search again (a reload keeps the query) until all lines are in.
    await waitFor('the lines to be searchable', async () => {
      const found = await countResults(page, token);
      if (found >= lines) return true;
      await page.reload();
      return false;
    }, 60_000, 500);

    const histogram = page.getByTestId('histogram');
    expect(Number(await histogram.getAttribute('data-total'))).toBe(lines);
    expect(Number(await histogram.getAttribute('data-buckets'))).toBeGreaterThan(1);
    expect(await histogram.locator('canvas').count()).toBeGreaterThan(0);
    expect(await page.getByText('unrelated line').count()).toBe(0);

    const url = new URL(page.url());
    expect(url.searchParams.get('q')).toBe(token);
    expect(url.searchParams.get('from')).toBe('now-1h');
    expect(url.searchParams.has('to')).toBe(false);

    // Open a row from the keyboard: focus it, Enter.
    const row = page.locator('tbody tr[data-expandable]', { hasText: `${token} attempt 0` });
    await row.focus();
    await row.press('Enter');
    const details = page.getByTestId('log-details');
    await details.waitFor({ timeout: 5000 });
    expect(await details.locator('[data-attr="log.file.path"] dd').textContent()).toBe(appLog);
    expect(await details.locator('[data-attr="service.name"] dd').textContent()).toBe('shop');
    expect(await row.getAttribute('aria-expanded')).toBe('true');

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'logs-explorer.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByTestId('histogram').locator('canvas').waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'logs-explorer-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    // A custom absolute range from the URL, opened fresh: the same lines, the same count.
    const fromMs = Date.now() - 30 * 60_000;
    const shared = `${base}/?q=${token}&from=${fromMs}&to=now`;
    const fresh = await context.newPage();
    await fresh.goto(shared);
    await fresh.getByTestId('histogram').waitFor({ timeout: 15_000 });
    expect(await countResults(fresh, token)).toBe(lines);
    expect(Number(await fresh.getByTestId('histogram').getAttribute('data-total'))).toBe(lines);
    expect(await fresh.getByLabel('Filter log lines').inputValue()).toBe(token);

    // Dragging across the right half of the histogram narrows the range to it, in the URL too.
    const over = fresh.getByTestId('histogram').locator('.u-over');
    const box = (await over.boundingBox())!;
    await fresh.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await fresh.mouse.down();
    await fresh.mouse.move(box.x + box.width + 20, box.y + box.height / 2, { steps: 5 });
    await fresh.mouse.up();
    await waitFor('the range to narrow', () => /^\d+$/.test(new URL(fresh.url()).searchParams.get('to') ?? ''), 5000);
    const narrowed = new URL(fresh.url()).searchParams;
    expect(Number(narrowed.get('from'))).toBeGreaterThan(fromMs + 10 * 60_000);
    expect(await countResults(fresh, token)).toBe(lines);
    expect(Number(await fresh.getByTestId('histogram').getAttribute('data-total'))).toBe(lines);

    // Follow returns to the live tail and drops the range from the URL.
    await fresh.getByRole('switch', { name: 'Follow' }).click();
    await fresh.locator('[data-status="live"]').waitFor({ timeout: 15_000 });
    expect(new URL(fresh.url()).searchParams.has('from')).toBe(false);
    await fresh.close();
    await page.close();
  });
});

/** Rows of the explorer's results carrying `token`, once the search has answered. */
async function countResults(page: Page, token: string): Promise<number> {
  await page.locator('[data-status="search"]').waitFor({ timeout: 15_000 });
  return page.locator('tbody tr[data-expandable]', { hasText: token }).count();
}
