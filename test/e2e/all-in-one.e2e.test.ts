/**
 * What a newcomer does: `pharos all`, then a line appended to a tailed file shows in the
 * dashboard, in a real browser. Once on the harness's Kafka broker, once on the in-process bus.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { launchBrowser, SCREENSHOT_DIR } from '../harness/browser.js';
import { isolatedKafkaEnv, testBrokers } from '../harness/kafka-helpers.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

async function startAll(busEnv: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-all-'));
  const appLog = join(dir, 'app.log');
  writeFileSync(appLog, 'first line before start\n');
  const port = await freePort();
  const pharos = spawnPharos(['all'], {
    PHAROS_DATA_DIR: dir,
    PHAROS_NODE_NAME: 'e2e-host',
    PHAROS_DASHBOARD__LISTEN: `127.0.0.1:${port}`,
    PHAROS_COLLECTOR__LISTEN: `127.0.0.1:${await freePort()}`,
    PHAROS_COLLECTOR__FILES: `[{include: ["${appLog}"], service: e2e-app, start_at: beginning}]`,
    PHAROS_COLLECTOR__POLL_MS: '100',
    PHAROS_SELF_METRICS__INTERVAL_MS: '1000',
    ...busEnv,
  });
  return { pharos, appLog, base: `http://127.0.0.1:${port}` };
}

async function findLine(base: string, token: string): Promise<Array<{ body: string; serviceName: string; hostName: string }>> {
  const res = await fetch(`${base}/api/logs?q=${encodeURIComponent(token)}&from=now-1h`);
  if (!res.ok) throw new Error(`GET /api/logs: ${res.status} ${await res.text()}`);
  const json = (await res.json()) as { data: { rows: Array<{ body: string; serviceName: string; hostName: string }> } };
  return json.data.rows;
}

describe('pharos all', () => {
  const running: PharosProcess[] = [];
  afterAll(async () => {
    for (const p of running) await p.stop();
  });

  test('on Kafka: a line appended to a tailed file shows in the dashboard, and the log says which bus was chosen', async () => {
    const brokers = testBrokers();
    const { pharos, appLog, base } = await startAll(isolatedKafkaEnv('all-in-one', brokers));
    running.push(pharos);
    const [busLine] = await pharos.waitForOutput(/"msg":"bus: [^"]*"/);
    expect(busLine).toContain(`bus: kafka at ${brokers.join(',')} (kafka.brokers is configured)`);
    await pharos.waitForOutput(/pharos is running/);

    const token = `e2e_${Date.now().toString(36)}`;
    const appendedAt = Date.now();
    appendFileSync(appLog, `ERROR payment failed ${token}\n`);
    const rows = await waitFor('the appended line in /api/logs', async () => ((await findLine(base, token)).length ? findLine(base, token) : null));
    const latencyMs = Date.now() - appendedAt;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ body: `ERROR payment failed ${token}`, serviceName: 'e2e-app', hostName: 'e2e-host' });
    console.log(`file append → /api/logs: ${latencyMs} ms`);

    // The line that was in the file before start was read too (start_at: beginning).
    expect((await findLine(base, 'before start')).map((r) => r.body)).toEqual(['first line before start']);

    const context = await launchBrowser();
    try {
      const page = await context.newPage();
      await page.goto(base);
      await page.getByText(`ERROR payment failed ${token}`).waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'dashboard-recent-logs.png'), fullPage: false });
      const fresh = `e2e_live_${Date.now().toString(36)}`;
      appendFileSync(appLog, `WARN disk almost full ${fresh}\n`);
      // The page follows live: the new line appears without a reload.
      await page.getByText(`WARN disk almost full ${fresh}`).waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'dashboard-live.png'), fullPage: false });
    } finally {
      await context.close();
    }

    // Delivery accounting: the tailed file's three lines, no gap, no duplicate.
    const delivery = (await (await fetch(`${base}/api/delivery?from=now-1h&host=e2e-host&source=${encodeURIComponent(`file:${appLog}`)}`)).json()) as {
      data: { rows: Array<{ received: number; missing: number; duplicates: number }> };
    };
    expect(delivery.data.rows).toEqual([expect.objectContaining({ received: 3, missing: 0, duplicates: 0 })]);

    // The stack ships its own log through itself.
    await waitFor('pharos’s own log in the warehouse', async () => (await findLine(base, 'pharos is running')).length > 0);

    // Host metrics travel collector → Kafka → real-time store, and PromQL reads them.
    type PromAnswer = { status: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    const answer = await waitFor('host metrics in the real-time store', async () => {
      const r = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent('sum by (instance) (node_memory_MemTotal_bytes)')}`)).json()) as PromAnswer;
      return r.status === 'success' && r.data.result.length > 0 ? r : null;
    });
    expect(answer.data.resultType).toBe('vector');
    expect(answer.data.result[0]!.metric).toEqual({ instance: 'e2e-host' });
    expect(Number(answer.data.result[0]!.value[1])).toBeGreaterThan(0);
    // Pharos publishes its own metrics through itself: the warehouse writer's counters are series too.
    const own = await waitFor('pharos’s own metrics in the real-time store', async () => {
      const r = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent('sum(pharos_warehouse_rows_inserted_total{job="pharos"})')}`)).json()) as PromAnswer;
      return r.status === 'success' && r.data.result.length > 0 ? r : null;
    });
    expect(Number(own.data.result[0]!.value[1])).toBeGreaterThan(0);
    const status = (await (await fetch(`${base}/api/v1/status/tsdb`)).json()) as { data: { headStats: { numSeries: number } } };
    expect(status.data.headStats.numSeries).toBeGreaterThan(10);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/pharos_warehouse_rows_inserted_total\{[^}]*\} [1-9]/);

    expect(await pharos.stop()).toBe(0);
  });

  test('without Kafka: the in-process bus is chosen and said, lines flow, and a firing rule pages a webhook once', async () => {
    const pages: Array<{ status: string; alerts: Array<{ labels: Record<string, string> }> }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        pages.push(JSON.parse(body) as (typeof pages)[number]);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookPort = (receiver.address() as AddressInfo).port;
    const rules = join(mkdtempSync(join(tmpdir(), 'pharos-rules-')), 'rules.yaml');
    writeFileSync(
      rules,
      'groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - alert: E2EAlwaysFiring\n        expr: vector(1) > 0\n        labels: { severity: page }\n' +
        // Evaluated once at start (no samples yet) and then only an hour later, unless the arrival of samples drives it.
        '  - name: e2e-on-arrival\n    interval: 1h\n    rules:\n      - alert: E2EOnArrival\n        expr: node_memory_MemTotal_bytes > 0\n',
    );
    const { pharos, appLog, base } = await startAll({
      PHAROS_KAFKA__LOCAL__ENABLED: 'never',
      PHAROS_ALERTS__RULE_FILES: `[${rules}]`,
      PHAROS_ALERTS__NOTIFY: JSON.stringify({
        // One group per alert name: E2EOnArrival firing later is its own page, not a change to this one.
        route: { receiver: 'hook', group_by: ['alertname'], group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
        receivers: [{ name: 'hook', webhook_configs: [{ url: `http://127.0.0.1:${hookPort}/` }] }],
      }),
    });
    running.push(pharos);
    const [busLine] = await pharos.waitForOutput(/"msg":"bus: [^"]*"/);
    expect(busLine).toContain('bus: in-process hand-off (no Kafka broker) (no kafka.brokers configured and kafka.local.enabled is never)');
    await pharos.waitForOutput(/pharos is running/);
    const token = `mem_${Date.now().toString(36)}`;
    appendFileSync(appLog, `INFO hello ${token}\n`);
    const rows = await waitFor('the appended line in /api/logs', async () => ((await findLine(base, token)).length ? findLine(base, token) : null));
    expect(rows.map((r) => r.body)).toEqual([`INFO hello ${token}`]);

    // The shipped default rules and ours are loaded; ours fires and pages the webhook once.
    const ruleGroups = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string }> } };
    expect(ruleGroups.data.groups.map((g) => g.name)).toContain('e2e');
    const first = await waitFor('a page at the webhook', () => pages.find((p) => p.alerts.some((a) => a.labels.alertname === 'E2EAlwaysFiring')));
    const pagedAt = Date.now();
    expect(first.status).toBe('firing');
    expect(first.alerts[0]!.labels).toMatchObject({ alertname: 'E2EAlwaysFiring', severity: 'page' });
    const active = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string> }>;
    expect(active.some((a) => a.labels.alertname === 'E2EAlwaysFiring')).toBe(true);
    await waitFor('several evaluations after the page', async () => {
      const r = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; lastEvaluation: string | null }> } };
      const g = r.data.groups.find((x) => x.name === 'e2e');
      // Two more 1 s evaluations (each re-sends the firing alert) must not page again.
      return g?.lastEvaluation && Date.parse(g.lastEvaluation) > pagedAt + 2000 ? true : null;
    });
    expect(pages.filter((p) => p.alerts.some((a) => a.labels.alertname === 'E2EAlwaysFiring'))).toHaveLength(1);

    // Sample-driven evaluation: the hourly group saw the host metrics as they arrived.
    await waitFor('the on-arrival alert', async () => {
      const r = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ rule: string; state: string }> } };
      return r.data.alerts.some((a) => a.rule === 'E2EOnArrival' && a.state === 'firing') ? true : null;
    });
    expect(await pharos.stop()).toBe(0);
    receiver.close();
  });
});
