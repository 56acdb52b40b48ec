import { describe, expect, test } from 'vitest';
import { decodeMetrics, encodeMetrics } from '../core/codec/codec.js';
import { counter, gauge, RegistryClass, type Registry } from '../core/telemetry/registry.js';
import { DROPPED_RECORDS_METRIC, dropSamples } from './drop-report.js';
import { countDrop, dropEvents } from './transforms/drop-events.js';
import type { LogRecord } from '../core/model/records.js';

const NOW = 1_763_892_000_000;

function droppedCounter(registry: Registry) {
  return counter(registry, DROPPED_RECORDS_METRIC, 'Records a filter dropped, by source and rule.', ['source', 'reason']);
}

describe('dropSamples', () => {
  test('nothing while the counter is not registered, nor before its first drop', async () => {
    const registry: Registry = new RegistryClass();
    expect(await dropSamples(registry, 'web-1', NOW)).toEqual([]);
    droppedCounter(registry);
    expect(await dropSamples(registry, 'web-1', NOW)).toEqual([]);
  });

  test('one counter sample per source and reason, labelled with the host', async () => {
    const registry: Registry = new RegistryClass();
    const dropped = droppedCounter(registry);
    dropped.inc({ source: 'file:/var/log/app.log', reason: 'debug' }, 7);
    dropped.inc({ source: 'file:/var/log/app.log', reason: 'healthcheck' }, 2);
    dropped.inc({ source: 'journald', reason: 'keep' });
    const samples = await dropSamples(registry, 'web-1', NOW);
    expect(samples.sort((a, b) => a.value - b.value)).toEqual([
      { name: DROPPED_RECORDS_METRIC, labels: { job: 'pharos', instance: 'web-1', host: 'web-1', source: 'journald', reason: 'keep' }, timestampMs: NOW, value: 1, type: 'counter' },
      { name: DROPPED_RECORDS_METRIC, labels: { job: 'pharos', instance: 'web-1', host: 'web-1', source: 'file:/var/log/app.log', reason: 'healthcheck' }, timestampMs: NOW, value: 2, type: 'counter' },
      { name: DROPPED_RECORDS_METRIC, labels: { job: 'pharos', instance: 'web-1', host: 'web-1', source: 'file:/var/log/app.log', reason: 'debug' }, timestampMs: NOW, value: 7, type: 'counter' },
    ]);
  });

  test("a record's own host: a push receiver's drops of another host's records go with that host", async () => {
    const registry: Registry = new RegistryClass();
    const events = dropEvents(registry);
    const record = (host: string | undefined, source: string): LogRecord => ({
      timeUnixNano: 0n,
      observedTimeUnixNano: 0n,
      severityNumber: 0,
      severityText: '',
      body: 'x',
      resource: host === undefined ? {} : { 'host.name': host },
      attributes: { 'pharos.source': source },
      traceId: '',
      spanId: '',
      flags: 0,
    });
    countDrop(events, record('web-1', 'file:/var/log/app.log'), 'debug');
    countDrop(events, record('app-7', 'otlp'), 'debug');
    countDrop(events, record('app-7', 'otlp'), 'debug');
    countDrop(events, record(undefined, 'otlp'), 'debug');
    const samples = await dropSamples(registry, 'web-1', NOW);
    expect(samples.map((s) => [s.labels.host, s.labels.source, s.value]).sort()).toEqual([
      ['app-7', 'otlp', 2],
      ['web-1', 'file:/var/log/app.log', 1],
      ['web-1', 'otlp', 1],
    ]);
    expect(samples.every((s) => s.labels.instance === 'web-1')).toBe(true);
  });

  test('the samples cross the wire codec unchanged', async () => {
    const registry: Registry = new RegistryClass();
    droppedCounter(registry).inc({ source: 'file:/var/log/app.log', reason: 'debug' }, 3);
    const samples = await dropSamples(registry, 'web-1', NOW);
    expect(decodeMetrics(encodeMetrics(samples))).toEqual(samples);
  });

  test('a metric of another type under that name is not reported', async () => {
    const registry: Registry = new RegistryClass();
    gauge(registry, DROPPED_RECORDS_METRIC, 'not a counter', ['source']).set({ source: 'x' }, 4);
    expect(await dropSamples(registry, 'web-1', NOW)).toEqual([]);
  });
});
