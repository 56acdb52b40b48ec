import { describe, expect, test } from 'vitest';
import { validateConfig } from '../../core/config/load.js';
import type { LogRecord } from '../../core/model/records.js';
import { RegistryClass, type Registry } from '../../core/telemetry/registry.js';
import { LogIntake } from '../receivers/log-intake.js';
import { compileFilter } from './filter.js';
import { createRecordGate } from './record-gate.js';

const record = (body: string, resource: LogRecord['resource'], severityNumber = 9): LogRecord => ({
  timeUnixNano: 0n,
  observedTimeUnixNano: 1n,
  severityNumber,
  severityText: '',
  body,
  resource,
  attributes: {},
  traceId: '',
  spanId: '',
  flags: 0,
});

async function drops(registry: Registry): Promise<Array<[string | number | undefined, string | number | undefined, number]>> {
  const m = registry.getSingleMetric('pharos_collector_records_dropped_total');
  return m ? (await m.get()).values.map((v) => [v.labels.source, v.labels.reason, v.value]) : [];
}

const collector = validateConfig({
  collector: {
    resource: { 'deployment.environment': 'prod' },
    filters: { drop: [{ name: 'debug_chatter', max_severity: 'debug' }, { field: 'resource.deployment.environment', equals: 'staging' }] },
  },
}).collector;

describe('record gate', () => {
  test('adds resource defaults on a copy (resources may be shared and frozen), keeping what the record says', () => {
    const gate = createRecordGate(collector, new RegistryClass());
    const shared = Object.freeze({ 'service.name': 'api' });
    const stamped = gate.resource(shared);
    expect(stamped).toEqual({ 'service.name': 'api', 'deployment.environment': 'prod' });
    expect(gate.resource(shared)).toBe(stamped); // one copy per resource: records keep sharing it
    expect(gate.resource({ 'deployment.environment': 'staging' })).toEqual({ 'deployment.environment': 'staging' });
  });

  test("the input's filter, then the collector's; drops counted by pharos.source and reason", async () => {
    const registry = new RegistryClass();
    const gate = createRecordGate(collector, registry);
    const input = compileFilter(validateConfig({ collector: { files: [{ include: ['/x'], filters: { keep: [{ field: 'body', regex: 'order' }] } }] } }).collector.files[0]!.filters);
    const at = (r: LogRecord) => ((r.attributes['pharos.source'] = 'file:/x'), r);
    const prod = gate.resource({});
    expect(gate.admit(at(record('order 1 placed', prod)), input)).toBe(true);
    expect(gate.admit(at(record('health ok', prod)), input)).toBe(false);
    expect(gate.admit(at(record('order 2 debug', prod, 5)), input)).toBe(false);
    expect(gate.admit(at(record('order 3', gate.resource({ 'deployment.environment': 'staging' }))), input)).toBe(false);
    expect(gate.filtering).toBe(true);
    expect(await drops(registry)).toEqual([
      ['file:/x', 'keep', 1],
      ['file:/x', 'debug_chatter', 1],
      ['file:/x', 'collector.drop[1]', 1],
    ]);
  });

  test('no filter configured: nothing is dropped and no drop counter is registered', async () => {
    const registry = new RegistryClass();
    const gate = createRecordGate(validateConfig({}).collector, registry);
    expect(gate.filtering).toBe(false);
    expect(gate.admit(record('anything', {}, 1))).toBe(true);
    expect(registry.getSingleMetric('pharos_collector_records_dropped_total')).toBeUndefined();
  });

  test('push receivers: dropped records take no sequence number, the kept ones stay contiguous', async () => {
    const registry = new RegistryClass();
    const gate = createRecordGate(collector, registry);
    const submitted: LogRecord[][] = [];
    const intake = new LogIntake('otlp_http', async (records) => {
      submitted.push(records);
      return { acked: Promise.resolve() };
    }, gate);
    const host = { 'host.name': 'h1' };
    await intake.push([record('a', host), record('debug', host, 5), record('b', host)], 30, new AbortController().signal);
    await intake.push([record('debug', host, 5)], 10, new AbortController().signal);
    await intake.push([record('c', host)], 10, new AbortController().signal);
    expect(submitted.map((batch) => batch.map((r) => [r.body, r.attributes['pharos.seq'], r.resource['deployment.environment']]))).toEqual([
      [
        ['a', 0, 'prod'],
        ['b', 1, 'prod'],
      ],
      [],
      [['c', 2, 'prod']],
    ]);
    expect(await drops(registry)).toEqual([[intake.source, 'debug_chatter', 2]]);
  });
});
