/**
 * Standby takeover: two `pharos alerts` processes on the real broker elect one active evaluator
 * through a Kafka consumer group. SIGKILL the active one mid-incident: the standby takes over
 * within 15 s, keeps the alert firing, and pages nothing a second time (it reads the alert
 * state, the notification log and the escalations back from their compacted topics).
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { alertsEnv, gauge, MetricProducer, pagesOf, startHookServer, type HookServer } from '../../alerts/testing/incident-harness.js';
import { createTopics, testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

const RULES = `groups:
  - name: disk
    interval: 1h
    rules:
      - alert: DiskFilling
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.10
        labels: { severity: warning }
`;

describe('pharos alerts: standby takeover', () => {
  const brokers = testBrokers();
  const running: PharosProcess[] = [];
  let hook: HookServer | undefined;
  let producer: MetricProducer | undefined;
  afterAll(async () => {
    for (const p of running) await p.stop();
    await producer?.close();
    await hook?.close();
  });

  test('killing the active evaluator: the standby takes over within 15 s, keeps the alert firing, and pages nothing twice', async () => {
    hook = await startHookServer();
    const prefix = uniqueTopic('e2e-takeover');
    const notify = {
      route: { receiver: 'hook', group_by: ['alertname', 'instance'], group_wait: '0s', group_interval: '1s', repeat_interval: '4h' },
      receivers: [{ name: 'hook', webhook_configs: [{ url: hook.url('/hook') }] }],
    };
    const listens = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const envs = listens.map((listen) => alertsEnv({ brokers, prefix, rules: RULES, listen, notify }));
    await createTopics(brokers, [envs[0]!.metricsTopic], 1);
    producer = await MetricProducer.connect(brokers, envs[0]!.metricsTopic);
    const disk = (freeRatio: number) =>
      producer!.send([
        gauge('node_filesystem_avail_bytes', { instance: 'h1', mountpoint: '/' }, freeRatio * 1e11),
        gauge('node_filesystem_size_bytes', { instance: 'h1', mountpoint: '/' }, 1e11),
      ]);

    const a = spawnPharos(['alerts'], envs[0]!.env);
    running.push(a);
    await a.waitForOutput(/alerts active/, 90_000);
    const b = spawnPharos(['alerts'], envs[1]!.env);
    running.push(b);
    await b.waitForOutput(/this evaluator is on standby/, 90_000);
    await b.waitForOutput(/real-time store caught up/, 60_000);
    // A standby answers the alerts API with 503; the active one serves it.
    expect((await fetch(`http://${listens[1]}/api/v2/alerts`)).status).toBe(503);
    expect(a.output()).not.toMatch(/now on standby/);

    await disk(0.05);
    await waitFor('the page from the active evaluator', () => pagesOf(hook!, '/hook', 'DiskFilling', 'h1').length > 0, 20_000);
    // The page is in the notification log on Kafka before the active one dies.
    const admin = new Kafka({ clientId: 'pharos-test', brokers, logLevel: logLevel.ERROR }).admin();
    await admin.connect();
    try {
      await waitFor('the notification log record', async () => {
        const offsets = await admin.fetchTopicOffsets(`${prefix}.alerts.state.nflog`).catch(() => []);
        return offsets.some((o) => Number(o.high) > 0) ? true : null;
      });
    } finally {
      await admin.disconnect();
    }

    a.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await b.waitForOutput(/alerts active/, 30_000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(15_000);

    // The alert is still firing on the new active evaluator, and more samples page nothing again.
    const firing = async () => {
      const res = await fetch(`http://${listens[1]}/api/v1/alerts`);
      if (!res.ok) return null;
      const body = (await res.json()) as { data: { alerts: Array<{ rule: string; state: string }> } };
      return body.data.alerts.some((x) => x.rule === 'DiskFilling' && x.state === 'firing') ? true : null;
    };
    await waitFor('DiskFilling firing on the standby turned active', firing, 20_000);
    for (let i = 0; i < 4; i++) {
      await disk(0.05);
      await new Promise((r) => setTimeout(r, 500));
    }
    await waitFor('the alert handed to notification on the new active one', async () => {
      const list = (await (await fetch(`http://${listens[1]}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string> }>;
      return list.some((x) => x.labels.alertname === 'DiskFilling') ? true : null;
    });
    expect(pagesOf(hook, '/hook', 'DiskFilling', 'h1')).toHaveLength(1);
    console.log(`takeover after SIGKILL: ${takeoverMs} ms`);
  });
});
