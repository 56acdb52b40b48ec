import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { MetricSample } from '../../core/model/records.js';
import { Head, HeadQuerier } from '../../pipeline/realtime/tsdb/index.js';
import type { Alert } from '../model.js';
import { RuleEvaluator } from './evaluator.js';
import type { AlertStateEvent } from './group.js';
import { loadRuleFiles } from './rules.js';
import { ManualClock } from './test-clock.js';

const T0 = 1_700_000_000_000;
const S = 1000;
const dir = join(import.meta.dirname, '..', 'default-rules');

function hostRules() {
  const { groups, issues } = loadRuleFiles([join(dir, 'host.yaml'), join(dir, 'stack.yaml')]);
  expect(issues).toEqual([]);
  return groups;
}

/** Feeds hosts every 15 s for `ms`; `sample(host, t)` gives that host's samples (none = silent). */
async function feed(clock: ManualClock, head: Head, ev: RuleEvaluator, ms: number, sample: (host: string, t: number) => Omit<MetricSample, 'timestampMs' | 'type'>[]) {
  for (let end = clock.now() + ms; clock.now() < end; ) {
    for (const host of ['h1', 'h2']) for (const s of sample(host, clock.now())) head.append({ ...s, timestampMs: clock.now(), type: 'gauge' });
    clock.advance(15 * S);
    await ev.idle();
  }
}

function setup() {
  const clock = new ManualClock(T0);
  const head = new Head();
  const events: AlertStateEvent[] = [];
  const sent: Alert[] = [];
  const ev = new RuleEvaluator({
    groups: hostRules(),
    querier: new HeadQuerier(head),
    head,
    clock,
    sink: { put: async (a) => void sent.push(...a) },
    onStateChange: (e) => events.push(e),
  });
  return { clock, head, events, sent, ev };
}

const node = (host: string) => ({ job: 'node', instance: host });

describe('default host rules', () => {
  test('HostSilent fires for the one host that stopped sending, not for the others', async () => {
    const s = setup();
    await s.ev.start();
    const alive = (host: string, t: number) => [{ name: 'node_time_seconds', labels: node(host), value: t / 1000 }];
    await feed(s.clock, s.head, s.ev, 10 * 60 * S, alive);
    expect(s.events.filter((e) => e.rule === 'HostSilent')).toEqual([]);
    await feed(s.clock, s.head, s.ev, 3 * 60 * S, (host, t) => (host === 'h2' ? [] : alive(host, t)));
    const fired = s.events.filter((e) => e.rule === 'HostSilent' && e.to === 'firing');
    expect(fired.map((e) => e.labels)).toEqual([{ alertname: 'HostSilent', job: 'node', instance: 'h2', severity: 'page' }]);
    expect(s.sent.find((a) => a.labels.alertname === 'HostSilent')?.annotations.summary).toBe('h2 has sent no metrics for 2 minutes');
    // h2 comes back: resolved.
    await feed(s.clock, s.head, s.ev, 60 * S, alive);
    expect(s.events.filter((e) => e.rule === 'HostSilent').at(-1)).toMatchObject({ from: 'firing', to: 'inactive' });
    await s.ev.stop();
  });

  test('HostDiskFillingUp fires when predict_linear says the disk is full within 4 h, only for that host', async () => {
    const s = setup();
    await s.ev.start();
    const size = 100e9;
    // h1 loses 4 GB per 10 minutes from 45 GB free (full in under 2 h); h2 is steady at 45 GB.
    const disk = (host: string, t: number) => {
      const avail = host === 'h1' ? 45e9 - ((t - T0) / (10 * 60 * S)) * 4e9 : 45e9;
      const labels = { ...node(host), device: 'sda1', mountpoint: '/' };
      return [
        { name: 'node_filesystem_avail_bytes', labels, value: Math.max(avail, 0) },
        { name: 'node_filesystem_size_bytes', labels, value: size },
      ];
    };
    await feed(s.clock, s.head, s.ev, 30 * 60 * S, disk);
    const fired = s.events.filter((e) => e.rule === 'HostDiskFillingUp' && e.to === 'firing');
    expect(fired.map((e) => e.labels.instance)).toEqual(['h1']);
    expect(s.events.filter((e) => e.labels.instance === 'h2')).toEqual([]);
    await s.ev.stop();
  });

  test('HostCpuBusy fires after 10 minutes above 90 %', async () => {
    const s = setup();
    await s.ev.start();
    // h1 idle 5 % of each second across 2 CPUs, h2 idle 50 %.
    const cpu = (host: string, t: number) =>
      ['0', '1'].flatMap((c) => {
        const secs = (t - T0) / 1000;
        const idle = host === 'h1' ? 0.05 : 0.5;
        return [
          { name: 'node_cpu_seconds_total', labels: { ...node(host), cpu: c, mode: 'idle' }, value: secs * idle },
          { name: 'node_cpu_seconds_total', labels: { ...node(host), cpu: c, mode: 'user' }, value: secs * (1 - idle) },
        ];
      });
    await feed(s.clock, s.head, s.ev, 20 * 60 * S, cpu);
    // While a counter has less than 5 m of history, rate() under-estimates it (as in Prometheus),
    // so a new host looks busy for a moment: `for: 10m` is what keeps that from firing.
    const fired = s.events.filter((e) => e.rule === 'HostCpuBusy' && e.to === 'firing');
    expect(fired.map((e) => e.labels)).toEqual([{ alertname: 'HostCpuBusy', instance: 'h1', severity: 'warning' }]);
    expect(fired[0]!.firedAt! - fired[0]!.activeAt).toBeGreaterThanOrEqual(10 * 60 * S);
    await s.ev.stop();
  });
});

describe('default stack rules', () => {
  test('PharosWarehouseInsertsStalled fires when otel_logs inserts stop on one instance, not while they continue', async () => {
    const s = setup();
    await s.ev.start();
    // Both writers insert every 15 s; after 10 minutes h2's inserts stop (its gauge keeps the last time).
    let h2Last = 0;
    const writer = (host: string, t: number) => {
      if (host === 'h1' || t < T0 + 10 * 60 * S) {
        if (host === 'h2') h2Last = t / 1000;
        return [{ name: 'pharos_warehouse_last_insert_timestamp_seconds', labels: { job: 'pharos', instance: host, table: 'otel_logs' }, value: t / 1000 }];
      }
      return [{ name: 'pharos_warehouse_last_insert_timestamp_seconds', labels: { job: 'pharos', instance: host, table: 'otel_logs' }, value: h2Last }];
    };
    await feed(s.clock, s.head, s.ev, 10 * 60 * S, writer);
    expect(s.events.filter((e) => e.rule === 'PharosWarehouseInsertsStalled')).toEqual([]);
    await feed(s.clock, s.head, s.ev, 20 * 60 * S, writer);
    const fired = s.events.filter((e) => e.rule === 'PharosWarehouseInsertsStalled' && e.to === 'firing');
    expect(fired.map((e) => e.labels.instance)).toEqual(['h2']);
    await s.ev.stop();
  });

  test('PharosConsumerLagHigh fires for the group that stays behind, not for one that catches up', async () => {
    const s = setup();
    await s.ev.start();
    // h1's writer is 200,000 messages behind throughout; h2's was behind for 5 minutes, then caught up.
    const lag = (host: string, t: number) => [
      { name: 'pharos_kafka_consumer_lag', labels: { job: 'pharos', instance: host, group: 'pharos-warehouse', topic: 'pharos.logs', partition: '0' }, value: host === 'h1' || t < T0 + 5 * 60 * S ? 200_000 : 10 },
    ];
    await feed(s.clock, s.head, s.ev, 20 * 60 * S, lag);
    const fired = s.events.filter((e) => e.rule === 'PharosConsumerLagHigh' && e.to === 'firing');
    expect(fired.map((e) => e.labels.instance)).toEqual(['h1']);
    await s.ev.stop();
  });
});
