/**
 * The live tail in a real browser against `pharos all` on the harness's Kafka broker: a line
 * appended to a tailed file shows within 2 s, a service filter keeps other services out, and
 * pause, highlight and jump to context do what they say.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { launchBrowser, SCREENSHOT_DIR } from '../harness/browser.js';
import { isolatedKafkaEnv } from '../harness/kafka-helpers.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

describe('live tail', () => {
  let pharos: PharosProcess;
  let base: string;
  let context: BrowserContext;
  let checkoutLog: string;
  let billingLog: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-live-tail-'));
    checkoutLog = join(dir, 'checkout.log');
    billingLog = join(dir, 'billing.log');
    writeFileSync(checkoutLog, 'INFO checkout started\n');
    writeFileSync(billingLog, 'INFO billing started\n');
    const port = await freePort();
    pharos = spawnPharos(['all'], {
      PHAROS_DATA_DIR: dir,
      PHAROS_NODE_NAME: 'e2e-live-host',
      PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
      PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
      PHAROS_COLLECTOR__FILES: `[{include: ["${checkoutLog}"], service: checkout, start_at: beginning}, {include: ["${billingLog}"], service: billing, start_at: beginning}]`,
      PHAROS_COLLECTOR__POLL_MS: '100',
      PHAROS_COLLECTOR__SELF_LOGS: 'false',
      ...isolatedKafkaEnv('live-tail'),
    });
    base = `http://127.0.0.1:${port}`;
    await pharos.waitForOutput(/pharos is running/, 90_000);
    context = await launchBrowser();
  });

  afterAll(async () => {
    await context?.close();
    expect(await pharos?.stop()).toBe(0);
  });

  test('a new line shows within 2 s, and a service filter keeps the other services out', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/?service=checkout`);
    // History first: the line written before start, read from the warehouse.
    await page.getByText('INFO checkout started').waitFor({ timeout: 30_000 });
    await page.locator('[data-status="live"]').waitFor({ timeout: 10_000 });

    // The bus reader joins its group in the background: wait until a line goes through live.
    await waitFor('the live path to deliver', async () => {
      const probe = `probe_${Date.now().toString(36)}`;
      appendFileSync(checkoutLog, `DEBUG ${probe}\n`);
      return page.getByText(`DEBUG ${probe}`).waitFor({ timeout: 3000 }).then(
        () => true,
        () => false,
      );
    }, 60_000, 0);

    const token = `live_${Date.now().toString(36)}`;
    appendFileSync(billingLog, `ERROR billing line ${token}\n`);
    const appendedAt = Date.now();
    appendFileSync(checkoutLog, `ERROR payment failed ${token}\n`);
    await page.getByText(`ERROR payment failed ${token}`).waitFor({ timeout: 2000 });
    const latencyMs = Date.now() - appendedAt;
    console.log(`file append → live tail in the browser: ${latencyMs} ms`);
    expect(latencyMs).toBeLessThan(2000);

    // The billing line went through the same bus in the same moment; it must not show here.
    const rows = page.locator('tbody tr');
    expect(await page.getByText(`billing line ${token}`).count()).toBe(0);
    const services = await rows.locator('td:nth-child(3)').allTextContents();
    expect(services.length).toBeGreaterThan(2);
    expect(new Set(services)).toEqual(new Set(['checkout']));
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'live-tail-filtered.png'), fullPage: false });

    // Without the filter, the billing line is there (the warehouse history holds it).
    await page.goto(`${base}/`);
    await page.getByText(`ERROR billing line ${token}`).waitFor({ timeout: 15_000 });
  });

  test('pause buffers new lines with a count, highlight marks a term, and context opens around a line', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`${base}/?service=checkout&hl=payment`);
    await page.locator('[data-status="live"]').waitFor({ timeout: 15_000 });
    await page.getByText('payment failed').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('mark', { hasText: 'payment' }).count()).toBeGreaterThan(0);

    await page.getByRole('switch', { name: 'Follow' }).click();
    const token = `paused_${Date.now().toString(36)}`;
    appendFileSync(checkoutLog, `WARN queue slow ${token}\nWARN queue slower ${token}\n`);
    const buffered = page.getByTestId('buffered');
    await waitFor('2 buffered lines', async () => /^2 new lines buffered/.test((await buffered.textContent()) ?? ''), 15_000);
    expect(await page.getByText(`queue slow ${token}`).count()).toBe(0);
    await buffered.click();
    await page.getByText(`WARN queue slower ${token}`).waitFor({ timeout: 5000 });

    // Jump to context: the lines around "payment failed" of the same service, the line set apart.
    const line = page.locator('tbody tr', { hasText: 'ERROR payment failed' }).first();
    await line.hover();
    await line.getByRole('button', { name: 'Context' }).click();
    const panel = page.getByRole('dialog', { name: 'Context of a line' });
    await panel.locator('tr[data-focused]').waitFor({ timeout: 15_000 });
    expect(await panel.locator('tr[data-focused]').textContent()).toContain('ERROR payment failed');
    expect(await panel.getByText('INFO checkout started').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'live-tail.png'), fullPage: false });
  });

  test('after a lost connection the page resumes from its last offset: the line sent meanwhile shows, none twice', { timeout: 120_000 }, async () => {
    const page = await context.newPage();
    // Keep a handle on the page's sockets, to cut the connection as a network would.
    await page.addInitScript(() => {
      const Native = window.WebSocket;
      const open: WebSocket[] = [];
      (window as unknown as { __liveSockets: WebSocket[] }).__liveSockets = open;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          open.push(this);
        }
      } as typeof WebSocket;
    });
    await page.goto(`${base}/?service=checkout`);
    await page.locator('[data-status="live"]').waitFor({ timeout: 15_000 });
    const before = `before_${Date.now().toString(36)}`;
    appendFileSync(checkoutLog, `INFO ${before}\n`);
    await page.getByText(`INFO ${before}`).waitFor({ timeout: 5000 });

    await page.evaluate(() => (window as unknown as { __liveSockets: WebSocket[] }).__liveSockets.at(-1)!.close());
    await page.locator('[data-status="reconnecting"]').waitFor({ timeout: 5000 });
    const during = `during_${Date.now().toString(36)}`;
    appendFileSync(checkoutLog, `INFO ${during}\n`);
    await page.locator('[data-status="live"]').waitFor({ timeout: 15_000 });
    await page.getByText(`INFO ${during}`).waitFor({ timeout: 5000 });
    const after = `after_${Date.now().toString(36)}`;
    appendFileSync(checkoutLog, `INFO ${after}\n`);
    await page.getByText(`INFO ${after}`).waitFor({ timeout: 5000 });

    const bodies = await page.locator('tbody tr td:nth-child(5)').allTextContents();
    expect(bodies.filter((b) => b === `INFO ${before}`)).toHaveLength(1);
    expect(bodies.filter((b) => b === `INFO ${during}`)).toHaveLength(1);
    expect(new Set(bodies).size).toBe(bodies.length);
    expect(await page.evaluate(() => (window as unknown as { __liveSockets: WebSocket[] }).__liveSockets.length)).toBe(2);
  });
});

describe('live tail on the in-process bus', () => {
  test('a new line shows within 2 s without Kafka too', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-live-tail-mem-'));
    const appLog = join(dir, 'app.log');
    writeFileSync(appLog, 'INFO app started\n');
    const port = await freePort();
    const pharos = spawnPharos(['all'], {
      PHAROS_DATA_DIR: dir,
      PHAROS_NODE_NAME: 'e2e-live-mem',
      PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
      PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
      PHAROS_COLLECTOR__FILES: `[{include: ["${appLog}"], service: app, start_at: beginning}]`,
      PHAROS_COLLECTOR__POLL_MS: '100',
      PHAROS_COLLECTOR__SELF_LOGS: 'false',
      PHAROS_KAFKA__LOCAL__ENABLED: 'never',
    });
    const context = await launchBrowser();
    try {
      await pharos.waitForOutput(/pharos is running/, 90_000);
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${port}/?service=app`);
      await page.getByText('INFO app started').waitFor({ timeout: 30_000 });
      await page.locator('[data-status="live"]').waitFor({ timeout: 10_000 });
      const token = `mem_${Date.now().toString(36)}`;
      const appendedAt = Date.now();
      appendFileSync(appLog, `WARN in-process ${token}\n`);
      await page.getByText(`WARN in-process ${token}`).waitFor({ timeout: 2000 });
      console.log(`file append → live tail in the browser (in-process bus): ${Date.now() - appendedAt} ms`);
    } finally {
      await context.close();
      expect(await pharos.stop()).toBe(0);
    }
  });
});
