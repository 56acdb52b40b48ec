import { describe, expect, test } from 'vitest';
import { ConfigError, validateConfig } from '../../core/config/load.js';
import type { Attributes } from '../../core/model/records.js';
import { inputAttributeStamp, resourceDefaultsStamp } from './extra-attributes.js';

function problems(raw: unknown): string[] {
  try {
    validateConfig(raw);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.key}: ${i.message}`);
  }
}

describe('input attributes', () => {
  test('loaded as text; absent when not configured', () => {
    const c = validateConfig({ collector: { files: [{ include: ['/a'], attributes: { team: 'payments', tier: '2' } }, { include: ['/b'] }] } });
    expect(c.collector.files[0]!.attributes).toEqual({ team: 'payments', tier: '2' });
    expect(c.collector.files[1]!.attributes).toBeUndefined();
    expect(inputAttributeStamp(c.collector.files[1]!.attributes)).toBeUndefined();
    expect(inputAttributeStamp({})).toBeUndefined();
  });

  test('set over parsed fields of the same name; a __proto__ key is an attribute, not a prototype change', () => {
    const stamp = inputAttributeStamp({ team: 'payments', env: 'prod', __proto__x: 'y' })!;
    const parsed: Attributes = { team: 'from-the-line', user: 'bob' };
    stamp(parsed);
    expect(parsed).toEqual({ team: 'payments', user: 'bob', env: 'prod', __proto__x: 'y' });

    const hostile = inputAttributeStamp(JSON.parse('{"__proto__":"p"}') as Record<string, string>)!;
    const out: Attributes = {};
    hostile(out);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
  });

  test("keys Pharos stamps itself are refused, with the key named", () => {
    expect(problems({ collector: { files: [{ include: ['/a'], attributes: { 'pharos.seq': '1', 'log.file.path': '/x', ok: 'y' } }] } })).toEqual([
      'collector.files.0.attributes.pharos.seq: pharos.seq is set by Pharos on every record (pharos.*, log.file.*): choose another key',
      'collector.files.0.attributes.log.file.path: log.file.path is set by Pharos on every record (pharos.*, log.file.*): choose another key',
    ]);
    expect(problems({ collector: { files: [{ include: ['/a'], attributes: { tier: 2 } }] } })).toEqual(['collector.files.0.attributes.tier: expected string, got number']);
  });
});

describe('collector.resource', () => {
  test('added where the resource lacks the key; the record’s own value wins', () => {
    const c = validateConfig({ collector: { resource: { 'deployment.environment': 'prod', 'cloud.region': 'eu-west-1' } } });
    expect(validateConfig({}).collector.resource).toEqual({});
    expect(resourceDefaultsStamp(validateConfig({}).collector.resource)).toBeUndefined();
    const stamp = resourceDefaultsStamp(c.collector.resource)!;
    const fromApp: Attributes = { 'service.name': 'api', 'deployment.environment': 'staging' };
    stamp(fromApp);
    expect(fromApp).toEqual({ 'service.name': 'api', 'deployment.environment': 'staging', 'cloud.region': 'eu-west-1' });
  });

  test('service.name and host.name are refused: they have keys of their own', () => {
    expect(problems({ collector: { resource: { 'service.name': 'x', 'host.name': 'y' } } })).toEqual([
      'collector.resource.service.name: service.name is set by collector.files[].service',
      'collector.resource.host.name: host.name is set by node_name',
    ]);
  });
});
