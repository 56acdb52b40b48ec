/**
 * The SQL page in a real browser (the built app in dashboard/web/dist) against a dashboard server
 * with a real chDB warehouse: a statement typed and run with Ctrl+Enter shows its rows and limits;
 * a write is refused with its reason; a costly statement shows its estimate first, and Cancel
 * stops it while it runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, SCREENSHOT_DIR } from '../../../test/harness/browser.js';
import { createClickHouse } from '../../../core/clickhouse/client.js';
import { migrate } from '../../../core/clickhouse/migrate.js';
import { SqlConsole } from '../../../core/clickhouse/sql-console.js';
import { validateConfig } from '../../../core/config/load.js';
import { Authenticator } from '../../../core/http/auth.js';
import { silentLogger } from '../../../core/log.js';
import { createRegistry } from '../../../core/telemetry/registry.js';
import { startDashboard, type Dashboard } from '../dashboard-server.js';
import { defaultStaticDir } from '../static-app.js';

const DB = 'sql_page_test';
const dir = mkdtempSync(join(tmpdir(), 'pharos-sql-page-'));
// Open mode on loopback; anonymous callers are analysts. Over 100 estimated rows asks first.
const config = validateConfig({ data_dir: dir, clickhouse: { database: DB }, dashboard: { listen: '127.0.0.1:0' }, auth: { anonymous_role: 'analyst' }, sql_console: { confirm_above_rows: 100 } });
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const runClient = createClickHouse(config, log, 'query');
const control = createClickHouse(config, log, 'query');
let dashboard: Dashboard;
let context: BrowserContext;

const SLOW =
  'SELECT count() FROM otel_logs AS a, otel_logs AS b, otel_logs AS c, otel_logs AS d, otel_logs AS e, otel_logs AS f, otel_logs AS g WHERE cityHash64(a.Body, b.Body, c.Body, d.Body, e.Body, f.Body, g.Body) % 7 = 3';

beforeAll(async () => {
  await migrate(admin, { database: DB, logsTtlDays: 3650, log });
  await admin.command({
    query: `INSERT INTO ${DB}.otel_logs (Timestamp, ServiceName, SeverityText, Body) SELECT now64(9) - number, ['api', 'billing', 'checkout'][number % 3 + 1], ['INFO', 'WARN'][number % 2 + 1], concat('request ', toString(number), ' handled') FROM numbers(30)`,
  });
  const sql = new SqlConsole({ client: runClient, control, database: DB, embedded: true, settings: config.sql_console, log });
  dashboard = await startDashboard({ config, log, registry: createRegistry(), auth: new Authenticator(config.auth), logs: { search: async () => [] }, ready: () => true, staticDir: defaultStaticDir(), sql });
  context = await launchBrowser();
});

afterAll(async () => {
  await context?.close();
  await dashboard?.close();
  await Promise.all([admin.close(), runClient.close(), control.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function typeStatement(page: Page, text: string): Promise<void> {
  const editor = page.getByTestId('sql-editor');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // insertText: no auto-closed brackets doubling what is typed.
  await page.keyboard.insertText(text);
}

describe('SQL page', () => {
  test('runs with Ctrl+Enter, refuses a write, estimates a costly statement and cancels it', { timeout: 90_000 }, async () => {
    const page = await context.newPage();
    await page.goto(`http://${dashboard.address}/sql`);
    await page.getByRole('link', { name: 'SQL' }).waitFor();

    await typeStatement(page, 'SELECT ServiceName, SeverityText, count() AS lines\nFROM otel_logs\nGROUP BY ServiceName, SeverityText\nORDER BY ServiceName, SeverityText');
    await page.keyboard.press('Control+Enter');
    const table = page.getByTestId('sql-result');
    await table.getByText('checkout').first().waitFor({ timeout: 30_000 });
    expect(await table.locator('tbody tr').count()).toBe(6);
    expect(await page.getByTestId('sql-status').textContent()).toMatch(/^6 rows · \d+ ms · read 30 rows/);
    expect(await page.getByTestId('sql-limits').textContent()).toMatch(/limited to 10,000 rows and 64\.0 MiB · 20 s/);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'sql.png'), fullPage: true });

    await typeStatement(page, 'DROP TABLE otel_logs');
    await page.getByTestId('sql-run').click();
    await page.getByText('The statement was refused').waitFor();
    expect(await page.getByTestId('sql-error').textContent()).toMatch(/only a read-only SELECT can run here; this is a DROP statement/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'sql-refused.png'), fullPage: true });

    await typeStatement(page, SLOW);
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('sql-estimate').waitFor();
    expect(await page.getByTestId('sql-estimate').textContent()).toMatch(/reads about 210 rows .* over 100 rows/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'sql-estimate.png'), fullPage: true });
    await page.getByTestId('sql-run-anyway').click();
    await page.getByTestId('sql-status').getByText(/Running · \d+\.\d s/).waitFor();
    await page.getByTestId('sql-cancel').click();
    await page.getByText('Cancelled', { exact: true }).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('sql-error').textContent()).toBe('the statement was cancelled');
  });
});
