import { describe, expect, test } from 'vitest';
import { MemoryBus } from '../../core/bus/memory-bus.js';
import { decodeMetrics } from '../../core/codec/codec.js';
import type { MetricSample } from '../../core/model/records.js';
import { Head, HeadQuerier } from '../../pipeline/realtime/tsdb/index.js';
import type { Alert, AlertSink } from '../model.js';
import { parseRuleFile } from '../rules/rule-file.js';
import { RuleEvaluator, type RuleEvaluatorOptions } from './evaluator.js';
import { evalTimestamp, groupOffsetMs, type AlertStateEvent } from './group.js';
import { recordedToBus } from './recorded.js';
import { compileRuleFile } from './rules.js';
import { AlertStateStore } from './state-store.js';
import { ManualClock } from './test-clock.js';

const T0 = 1_700_000_000_000;
const S = 1000;

const RULES = `groups:
  - name: disk
    interval: 10s
    rules:
      - record: instance:disk_used:ratio
        expr: 1 - node_filesystem_avail_bytes / node_filesystem_size_bytes
      - alert: DiskFull
        expr: instance:disk_used:ratio > 0.9
        for: 30s
        labels: { severity: page }
        annotations:
          summary: "{{ $labels.instance }} disk {{ humanizePercentage $value }} full"
`;

function groups(text = RULES) {
  const { rules, issues } = parseRuleFile('disk.yaml', text);
  expect(issues).toEqual([]);
  return compileRuleFile('disk.yaml', rules!);
}

class CollectingSink implements AlertSink {
  readonly puts: Array<{ at: number; alerts: readonly Alert[] }> = [];
  constructor(private readonly clock: ManualClock) {}
  async put(alerts: readonly Alert[]): Promise<void> {
    this.puts.push({ at: this.clock.now(), alerts });
  }
  get all(): Alert[] {
    return this.puts.flatMap((p) => p.alerts);
  }
}

/** A host whose disk fills: `usedAt(t)` gives the used fraction at time t. */
function appendDisk(head: Head, t: number, used: number): void {
  const labels = { job: 'node', instance: 'h1', mountpoint: '/', device: 'sda1' };
  const base: Omit<MetricSample, 'name' | 'value'> = { labels, timestampMs: t, type: 'gauge' };
  head.append({ ...base, name: 'node_filesystem_size_bytes', value: 100e9 });
  head.append({ ...base, name: 'node_filesystem_avail_bytes', value: (1 - used) * 100e9 });
}

function setup(extra: Partial<RuleEvaluatorOptions> = {}, clock = new ManualClock(T0), head = new Head()) {
  const sink = new CollectingSink(clock);
  const events: AlertStateEvent[] = [];
  const ev = new RuleEvaluator({
    groups: groups(),
    querier: new HeadQuerier(head),
    head,
    sink,
    clock,
    externalURL: 'http://pharos:8080',
    onStateChange: (e) => events.push(e),
    ...extra,
  });
  return { clock, head, sink, events, ev };
}

/** Steps time 10 s at a time, appending the host's sample at the start of each step. */
async function steps(s: ReturnType<typeof setup>, used: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    appendDisk(s.head, s.clock.now(), used);
    s.clock.advance(10 * S);
    await s.ev.idle();
  }
}

describe('RuleEvaluator', () => {
  test('evaluates at aligned times: a per-group offset within the interval', () => {
    const off = groupOffsetMs('disk.yaml', 'disk', 10 * S);
    expect(off).toBeGreaterThanOrEqual(0);
    expect(off).toBeLessThan(10 * S);
    expect(evalTimestamp(T0 + off + 12_345, 10 * S, off)).toBe(T0 + off + 10 * S);
    expect(evalTimestamp(T0 + off, 10 * S, off)).toBe(T0 + off);
  });

  test('a disk-filling host goes pending, fires, and resolves after recovery', async () => {
    const s = setup();
    await s.ev.start();
    await steps(s, 0.5, 3);
    expect(s.sink.all).toEqual([]);
    expect(s.events).toEqual([]);

    await steps(s, 0.95, 1);
    expect(s.events.map((e) => `${e.from}->${e.to}`)).toEqual(['inactive->pending']);
    expect(s.sink.all).toEqual([]); // pending alerts are not sent
    const activeAt = s.events[0]!.activeAt;

    await steps(s, 0.95, 3);
    expect(s.events.map((e) => `${e.from}->${e.to}`)).toEqual(['inactive->pending', 'pending->firing']);
    const firing = s.events[1]!;
    expect(firing).toMatchObject({ group: 'disk', rule: 'DiskFull', activeAt, labels: { alertname: 'DiskFull', instance: 'h1', mountpoint: '/', severity: 'page' } });
    expect(firing.firedAt! - activeAt).toBe(30 * S);
    const sent = s.sink.all[0]!;
    expect(sent.labels).toEqual({ alertname: 'DiskFull', job: 'node', instance: 'h1', mountpoint: '/', device: 'sda1', severity: 'page' });
    expect(sent.annotations.summary).toBe('h1 disk 95% full');
    expect(sent.startsAt).toBe(firing.firedAt);
    expect(sent.endsAt).toBe(firing.firedAt! + 4 * 60 * S); // validUntil: 4 × max(10 s, 1 m resend)
    expect(sent.generatorURL).toContain('http://pharos:8080/graph?g0.expr=');
    expect(sent.fingerprint).toBe(firing.fingerprint);

    // Resent once per resend delay (1 m) while firing, not at every evaluation.
    const putsBefore = s.sink.puts.length;
    await steps(s, 0.95, 3);
    expect(s.sink.puts.length).toBe(putsBefore);

    await steps(s, 0.5, 1);
    expect(s.events.at(-1)).toMatchObject({ from: 'firing', to: 'inactive', activeAt });
    const resolved = s.sink.all.at(-1)!;
    expect(resolved.endsAt).toBe(s.events.at(-1)!.resolvedAt);
    expect(resolved.endsAt).toBeLessThanOrEqual(s.clock.now());
    await s.ev.stop();
  });

  test('recording rules are appended to the head at the evaluation time and readable at once', async () => {
    const s = setup();
    await s.ev.start();
    await steps(s, 0.25, 2);
    const series = new HeadQuerier(s.head).select([{ name: '__name__', type: '=', value: 'instance:disk_used:ratio' }], 0, Infinity);
    expect(series).toHaveLength(1);
    expect(series[0]!.labels).toEqual({ __name__: 'instance:disk_used:ratio', job: 'node', instance: 'h1', mountpoint: '/', device: 'sda1' });
    expect([...series[0]!.values]).toEqual([0.25, 0.25]);
    await s.ev.stop();
  });

  test('recorded samples that flow back through the topic are read from an overlay, and reach the head once, without duplicates', async () => {
    const published: MetricSample[] = [];
    const s = setup({ publishRecorded: async (samples) => void published.push(...samples), recordedFlowsBack: true });
    await s.ev.start();
    // The round trip through the topic, as the real-time ingest does it: every published sample appended once.
    const roundTrip = () => published.splice(0).map((p) => s.head.append(p));
    for (let i = 0; i < 5; i++) {
      appendDisk(s.head, s.clock.now(), 0.95);
      s.clock.advance(10 * S);
      await s.ev.idle();
      // Before any round trip, the first evaluation's alerting rule already saw the recorded value.
      if (i === 0) expect(s.events.map((e) => e.to)).toEqual(['pending']);
      expect(roundTrip().every((r) => r.ok)).toBe(true);
    }
    const series = new HeadQuerier(s.head).select([{ name: '__name__', type: '=', value: 'instance:disk_used:ratio' }], 0, Infinity);
    expect([...series[0]!.values].map((v) => Math.round(v * 100) / 100)).toEqual([0.95, 0.95, 0.95, 0.95, 0.95]);
    // The alerting rule read the recording rule's output within each evaluation: pending, then firing after 30 s.
    expect(s.events.map((e) => e.to)).toEqual(['pending', 'firing']);
    await s.ev.stop();
  });

  test('recording rules can also be published to the metrics topic', async () => {
    const bus = new MemoryBus();
    const producer = await bus.producer();
    const s = setup({ publishRecorded: recordedToBus(producer, 'pharos.metrics') });
    const got: MetricSample[] = [];
    const consumer = await bus.consumer({ groupId: 't', topics: ['pharos.metrics'], fromBeginning: true, eachBatch: async (b) => void got.push(...b.messages.flatMap((m) => decodeMetrics(m.value))) });
    await s.ev.start();
    await steps(s, 0.25, 1);
    await consumer.stop();
    expect(got.map((m) => [m.name, m.value, m.labels.instance])).toEqual([['instance:disk_used:ratio', 0.25, 'h1']]);
    await s.ev.stop();
  });

  test('evaluateNow evaluates at once, then at most once per 100 ms per group', async () => {
    const s = setup();
    await s.ev.start();
    appendDisk(s.head, s.clock.now(), 0.95);
    await s.ev.evaluateNow('disk');
    expect(s.events.map((e) => e.to)).toEqual(['pending']);
    const first = s.ev.groups()[0]!.lastEvalMs;
    expect(first).toBe(T0);

    s.clock.advance(10);
    const a = s.ev.evaluateNow('disk');
    s.clock.advance(10);
    const b = s.ev.evaluateNow();
    expect(s.ev.groups()[0]!.lastEvalMs).toBe(first); // coalesced, waiting
    s.clock.advance(80);
    await Promise.all([a, b]);
    expect(s.ev.groups()[0]!.lastEvalMs).toBe(T0 + 100);
    await s.ev.stop();
  });

  test('stop settles a debounced evaluation that had not run yet', async () => {
    const s = setup();
    await s.ev.start();
    await s.ev.evaluateNow();
    const pending = s.ev.evaluateNow();
    await s.ev.stop();
    await pending;
    expect(s.ev.groups()[0]!.lastEvalMs).toBe(T0);
  });

  test('a sample-driven evaluation with for: 0 fires without waiting for the interval', async () => {
    const text = RULES.replace('for: 30s', 'for: 0s');
    const s = setup({ groups: groups(text) });
    await s.ev.start();
    s.clock.advance(1234);
    appendDisk(s.head, s.clock.now(), 0.97);
    await s.ev.evaluateNow();
    expect(s.sink.all).toHaveLength(1);
    expect(s.sink.all[0]!.startsAt).toBe(T0 + 1234);
    await s.ev.stop();
  });

  test('a failing rule is reported in health and does not stop the group', async () => {
    const text = RULES.replace('      - alert: DiskFull', `      - alert: Broken
        expr: '"a string, not a vector"'
      - alert: DiskFull`);
    const s = setup({ groups: groups(text) });
    await s.ev.start();
    await steps(s, 0.95, 5);
    expect(s.ev.groups()[0]!.rules.find((r) => r.rule === 'Broken')?.lastError).toContain('not an instant vector');
    expect(s.events.some((e) => e.to === 'firing' && e.rule === 'DiskFull')).toBe(true);
    await s.ev.stop();
  });

  test('a rule whose series collapse into one label set fails, as in Prometheus', async () => {
    const text = RULES.replace('expr: instance:disk_used:ratio > 0.9', 'expr: \'{__name__=~"node_filesystem_.*"}\'');
    const s = setup({ groups: groups(text) });
    await s.ev.start();
    await steps(s, 0.5, 1);
    expect(s.ev.groups()[0]!.rules.find((r) => r.rule === 'DiskFull')?.lastError).toContain('same labelset');
    expect(s.events).toEqual([]);
    await s.ev.stop();
  });

  test('restarted from the state store, a firing alert stays firing with its activeAt and is not new', async () => {
    const bus = new MemoryBus();
    const clock = new ManualClock(T0);
    const head = new Head();
    const store1 = new AlertStateStore({ bus });
    await store1.ensureTopic();
    const first = setup({ stateStore: store1 }, clock, head);
    await first.ev.start();
    await steps(first, 0.95, 6);
    const fired = first.events.find((e) => e.to === 'firing')!;
    expect(fired).toBeDefined();
    await first.ev.stop();
    await store1.close();

    // Down for 20 s, samples still arriving; a new evaluator (a restart or a standby) takes over.
    appendDisk(head, clock.now(), 0.95);
    clock.advance(10 * S);
    const second = setup({ stateStore: new AlertStateStore({ bus }) }, clock, head);
    await second.ev.start();
    expect(second.ev.alerts()).toEqual([expect.objectContaining({ rule: 'DiskFull', alert: expect.objectContaining({ state: 'firing', activeAt: fired.activeAt, firedAt: fired.firedAt }) })]);
    await steps(second, 0.95, 3);
    expect(second.events).toEqual([]); // no inactive->pending, no pending->firing: not a new alert
    expect(second.ev.alerts()[0]!.alert).toMatchObject({ state: 'firing', activeAt: fired.activeAt, firedAt: fired.firedAt });
    // Re-sent at its first evaluation (notification may have restarted too), as the same alert.
    expect(second.sink.puts[0]?.alerts.map((a) => a.fingerprint)).toEqual([fired.fingerprint]);
    for (const a of second.sink.all) expect(a.startsAt).toBe(fired.firedAt);

    // Resolution after the restart is persisted too: a third start finds it resolved.
    await steps(second, 0.5, 1);
    expect(second.events.map((e) => `${e.from}->${e.to}`)).toEqual(['firing->inactive']);
    await second.ev.stop();
    const third = setup({ stateStore: new AlertStateStore({ bus }) }, clock, head);
    await third.ev.start();
    expect(third.ev.alerts()[0]!.alert).toMatchObject({ state: 'inactive', activeAt: fired.activeAt });
    await third.ev.stop();
  });
});
