/**
 * Alerting's done-when, end to end: a spawned `pharos alerts` on the real broker, disk samples
 * produced to the metrics topic in the wire format, pages arriving at a loopback webhook. A disk
 * filling up pages once, an inhibit rule and a silence keep quiet what they should, a resolve
 * follows, a SIGKILL mid-incident neither re-pages nor forgets the alert, and an unacknowledged
 * page escalates while an acknowledged one does not.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { alertsEnv, gauge, MetricProducer, pagesOf, startHookServer, type HookServer } from '../../alerts/testing/incident-harness.js';
import { createTopics, testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

const TOKEN = 'e2e-operator-token-0123456789';
const RULES = `groups:
  - name: disk
    interval: 1h
    rules:
      - alert: DiskAlmostFull
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.05
        labels: { severity: critical }
        annotations: { summary: "{{ $labels.instance }} has {{ $value | humanizePercentage }} free" }
      - alert: DiskFilling
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.10
        labels: { severity: warning }
  - name: recorded
    interval: 1h
    rules:
      - record: instance:disk_free:ratio
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes
  - name: services
    interval: 1h
    rules:
      - alert: ServiceDown
        expr: probe_success == 0
        labels: { team: oncall }
`;

describe('pharos alerts: an incident from sample to page', () => {
  const brokers = testBrokers();
  const prefix = uniqueTopic('e2e-alerts');
  let hook: HookServer;
  let producer: MetricProducer;
  let env: ReturnType<typeof alertsEnv>;
  let proc: PharosProcess;
  let base: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<unknown>;
  };
  const disk = (instance: string, freeRatio: number) =>
    producer.send([
      gauge('node_filesystem_avail_bytes', { instance, mountpoint: '/' }, freeRatio * 1e11),
      gauge('node_filesystem_size_bytes', { instance, mountpoint: '/' }, 1e11),
    ]);
  const firingAlerts = async () =>
    ((await api('GET', '/api/v1/alerts')) as { data: { alerts: Array<{ rule: string; state: string; labels: Record<string, string> }> } }).data.alerts.filter((a) => a.state === 'firing');
  const start = async () => {
    const p = spawnPharos(['alerts'], env.env);
    await p.waitForOutput(/alerts active/, 90_000);
    await p.waitForOutput(/real-time store caught up/, 60_000);
    return p;
  };

  beforeAll(async () => {
    hook = await startHookServer();
    const listen = `127.0.0.1:${await freePort()}`;
    base = `http://${listen}`;
    env = alertsEnv({
      brokers,
      prefix,
      rules: RULES,
      listen,
      notify: {
        route: {
          receiver: 'hook',
          group_by: ['alertname', 'instance'],
          group_wait: '0s',
          group_interval: '1s',
          repeat_interval: '4h',
          routes: [{ matchers: ['team="oncall"'], receiver: 'none', escalation_policy: 'services' }],
        },
        receivers: [
          { name: 'hook', webhook_configs: [{ url: hook.url('/hook') }] },
          { name: 'none' },
          { name: 'first', webhook_configs: [{ url: hook.url('/first') }] },
          { name: 'second', webhook_configs: [{ url: hook.url('/second') }] },
        ],
        inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['instance', 'mountpoint'] }],
        oncall: {
          schedules: [{ name: 'primary', layers: [{ name: 'daily', members: ['first'], start: '2026-01-01T09:00:00Z', rotation: 'daily' }] }],
          escalation_policies: [{ name: 'services', levels: [{ targets: [{ schedule: 'primary' }], escalate_after: '2s' }, { targets: [{ receiver: 'second' }], escalate_after: '1h' }] }],
        },
      },
      extra: { PHAROS_AUTH__TOKENS: JSON.stringify([{ name: 'e2e-op', role: 'operator', token: TOKEN }]) },
    });
    await createTopics(brokers, [env.metricsTopic], 1);
    producer = await MetricProducer.connect(brokers, env.metricsTopic);
    proc = await start();
  }, 180_000);

  afterAll(async () => {
    await proc?.stop();
    await producer?.close();
    await hook?.close();
  });

  test('a disk filling up pages once; the inhibited lesser alert and a silenced host do not page; clearing sends a resolve', async () => {
    await disk('h1', 0.08);
    await waitFor('the DiskFilling page for h1', () => pagesOf(hook, '/hook', 'DiskFilling', 'h1').length > 0, 20_000);
    expect(pagesOf(hook, '/hook', 'DiskFilling', 'h1')[0]!.status).toBe('firing');

    // h2 crosses both thresholds: the critical alert pages, the warning one is inhibited by it.
    await disk('h2', 0.03);
    await waitFor('the DiskAlmostFull page for h2', () => pagesOf(hook, '/hook', 'DiskAlmostFull', 'h2').length > 0, 20_000);
    const h2 = (await api('GET', '/api/v2/alerts')) as Array<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }>;
    expect(h2.find((a) => a.labels.alertname === 'DiskFilling' && a.labels.instance === 'h2')?.status.state).toBe('suppressed');

    // A silence created through the API keeps h3 quiet while its alert fires.
    const { silenceID } = (await api('POST', '/api/v2/silences', {
      matchers: [{ name: 'instance', value: 'h3', isRegex: false, isEqual: true }],
      createdBy: 'e2e',
      comment: 'disk replacement on h3',
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
    })) as { silenceID: string };
    await disk('h3', 0.08);
    await waitFor('h3 firing (and silenced)', async () => ((await firingAlerts()).some((a) => a.labels.instance === 'h3') ? true : null), 20_000);
    const h3 = (await api('GET', '/api/v2/alerts')) as Array<{ labels: Record<string, string>; status: { silencedBy: string[] } }>;
    await waitFor('h3 listed as silenced', async () => {
      const list = (await api('GET', '/api/v2/alerts')) as typeof h3;
      return list.find((a) => a.labels.instance === 'h3')?.status.silencedBy.includes(silenceID) ? true : null;
    });

    // Several more samples (each one evaluates the rules) page nothing again.
    for (let i = 0; i < 3; i++) {
      await disk('h1', 0.08);
      await disk('h2', 0.03);
      await disk('h3', 0.08);
      await new Promise((r) => setTimeout(r, 400));
    }
    await disk('h1', 0.5);
    await waitFor('the resolve for h1', () => pagesOf(hook, '/hook', 'DiskFilling', 'h1').some((p) => p.status === 'resolved'), 20_000);
    expect(pagesOf(hook, '/hook', 'DiskFilling', 'h1').map((p) => p.status)).toEqual(['firing', 'resolved']);
    expect(pagesOf(hook, '/hook', 'DiskAlmostFull', 'h2').map((p) => p.status)).toEqual(['firing']);
    expect(pagesOf(hook, '/hook', 'DiskFilling', 'h2')).toEqual([]);
    expect(pagesOf(hook, '/hook', 'DiskFilling', 'h3')).toEqual([]);

    // The recording rule's output went through the metrics topic into the store once: queryable, no duplicates.
    await waitFor('the recorded series', async () => {
      const r = (await api('GET', `/api/v1/query?query=${encodeURIComponent('instance:disk_free:ratio{instance="h1"}')}`)) as { data: { result: Array<{ value: [number, string] }> } };
      return r.data.result[0]?.value[1] === '0.5' ? true : null;
    });
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const duplicates = metrics.split('\n').find((l) => l.startsWith('pharos_realtime_samples_rejected_total{reason="duplicate"'));
    expect(duplicates).toMatch(/ 0$/);
  });

  test('SIGKILL mid-incident and a restart: no second page, the alert still firing', async () => {
    expect((await firingAlerts()).some((a) => a.rule === 'DiskAlmostFull' && a.labels.instance === 'h2')).toBe(true);
    const before = hook.pages.length;
    proc.proc.kill('SIGKILL');
    await waitFor('the process to die', () => proc.proc.exitCode !== null || proc.proc.signalCode !== null);
    proc = await start();
    expect(proc.output()).toMatch(/"alerts":[1-9]\d*,"msg":"restored alert state"/);
    await waitFor('DiskAlmostFull still firing for h2 after the restart', async () => ((await firingAlerts()).some((a) => a.rule === 'DiskAlmostFull' && a.labels.instance === 'h2') ? true : null), 20_000);
    // Samples keep coming: each evaluation re-sends the firing alert, and the notification log holds the page back.
    for (let i = 0; i < 4; i++) {
      await disk('h2', 0.03);
      await new Promise((r) => setTimeout(r, 400));
    }
    await waitFor('the restored alert handed to notification', async () => {
      const list = (await api('GET', '/api/v2/alerts')) as Array<{ labels: Record<string, string> }>;
      return list.some((a) => a.labels.alertname === 'DiskAlmostFull' && a.labels.instance === 'h2') ? true : null;
    });
    expect(hook.pages.slice(before)).toEqual([]);
    expect(pagesOf(hook, '/hook', 'DiskAlmostFull', 'h2')).toHaveLength(1);
  });

  test('an unacknowledged page escalates to the next level after 2 s; an acknowledged one does not', async () => {
    await producer.send([gauge('probe_success', { instance: 'svc-a' }, 0), gauge('probe_success', { instance: 'svc-b' }, 0)]);
    await waitFor('both first-level pages', () => pagesOf(hook, '/first', 'ServiceDown', 'svc-a').length > 0 && pagesOf(hook, '/first', 'ServiceDown', 'svc-b').length > 0, 20_000);
    const firstAt = pagesOf(hook, '/first', 'ServiceDown', 'svc-b')[0]!.at;
    const alerts = (await api('GET', '/api/v2/alerts')) as Array<{ fingerprint: string; labels: Record<string, string> }>;
    const b = alerts.find((a) => a.labels.instance === 'svc-b')!;
    const ack = (await api('POST', `/api/v2/alerts/${b.fingerprint}/ack`)) as { acknowledgedBy: string };
    expect(ack.acknowledgedBy).toBe('e2e-op');

    await waitFor('svc-a escalated to the second level', () => pagesOf(hook, '/second', 'ServiceDown', 'svc-a').length > 0, 20_000);
    // The escalation record says when each level was paged: the second 2 s after the first.
    const oncallNow = (await api('GET', '/api/v2/oncall')) as { escalations: Array<{ labels: Record<string, string>; pages: Array<{ level: number; at: string; receivers: string[] }> }> };
    const aPages = oncallNow.escalations.find((e) => e.labels.instance === 'svc-a')!.pages;
    expect(aPages.map((p) => [p.level, p.receivers])).toEqual([
      [0, ['first']],
      [1, ['second']],
    ]);
    expect(Date.parse(aPages[1]!.at) - Date.parse(aPages[0]!.at)).toBeGreaterThanOrEqual(2000);
    // svc-b was acknowledged: well past its 2 s, its second level has still not been paged.
    await waitFor('4 s after svc-b was first paged', () => performance.now() - firstAt > 4000);
    expect(pagesOf(hook, '/second', 'ServiceDown', 'svc-b')).toEqual([]);
    const oncall = (await api('GET', '/api/v2/oncall')) as { schedules: Array<{ name: string; onCall: { receiver: string } }> };
    expect(oncall.schedules).toEqual([expect.objectContaining({ name: 'primary', onCall: expect.objectContaining({ receiver: 'first' }) })]);
  });
});
