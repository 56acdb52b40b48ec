import { describe, expect, test } from 'vitest';
import { formatterFor, legendOf, rangeIdOf, substitute } from './model.js';

describe('dashboard model helpers', () => {
  test('variables are substituted in both spellings, unknown ones left as typed', () => {
    expect(substitute('up{instance="$host",job="${job}"} $other', { host: 'web-1', job: 'node' })).toBe('up{instance="web-1",job="node"} $other');
    expect(substitute('rate(x[5m])', { host: 'a' })).toBe('rate(x[5m])');
  });
  test('legend templates take label values; no template falls back', () => {
    expect(legendOf('{{device}} in', { device: 'eth0' }, () => 'x')).toBe('eth0 in');
    expect(legendOf(undefined, { a: '1' }, () => 'fallback')).toBe('fallback');
  });
  test('units format values', () => {
    expect(formatterFor('percentunit')(0.5)).toBe('50%');
    expect(formatterFor('bytes')(2048)).toBe('2.0 KiB');
    expect(formatterFor('ops/s')(1500)).toBe('1.5k/s');
  });
  test('the model default range maps to a picker id', () => {
    expect(rangeIdOf('now-6h')).toBe('6h');
    expect(rangeIdOf('now-13m')).toBe('1h');
  });
});
