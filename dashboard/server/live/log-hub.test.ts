import { describe, expect, test } from 'vitest';
import type { LogRow } from '../../../core/model/log-search.js';
import { compileLogFilter, hasToken } from './log-filter.js';
import { LogHub } from './log-hub.js';
import type { RingEntry } from './log-ring.js';
import { LogRing } from './log-ring.js';

function row(body: string, extra: Partial<LogRow> = {}): LogRow {
  return {
    timeUnixNano: '1700000000000000000',
    observedTimeUnixNano: '1700000000000000000',
    severityText: 'INFO',
    severityNumber: 9,
    serviceName: 'api',
    hostName: 'pi-1',
    body,
    traceId: '',
    spanId: '',
    resourceAttributes: {},
    logAttributes: {},
    ...extra,
  };
}

describe('compileLogFilter', () => {
  test('matches service, host, severity, words, phrases and attributes as the warehouse search does', () => {
    const f = compileLogFilter({ service: 'api', host: 'pi-1', minSeverity: 13, text: 'payment "card declined"', attributes: { region: 'eu' } });
    const good = row('ERROR payment failed: card declined', { severityNumber: 17, logAttributes: { region: 'eu' } });
    expect(f.matches(good)).toBe(true);
    expect(f.matches({ ...good, serviceName: 'web' })).toBe(false);
    expect(f.matches({ ...good, hostName: 'pi-2' })).toBe(false);
    expect(f.matches({ ...good, severityNumber: 9 })).toBe(false);
    expect(f.matches({ ...good, body: 'ERROR payments failed: card declined' })).toBe(false); // a token, not a substring
    expect(f.matches({ ...good, body: 'ERROR payment failed: card was declined' })).toBe(false);
    expect(f.matches({ ...good, logAttributes: { region: 'us' } })).toBe(false);
  });

  test('gives one key to filters that differ only in spelling', () => {
    const a = compileLogFilter({ service: ' api ', text: 'b  a', attributes: { y: '1', x: '2' } });
    const b = compileLogFilter({ service: 'api', text: 'a b', attributes: { x: '2', y: '1' }, host: '' });
    expect(a.key).toBe(b.key);
    expect(a.key).not.toBe(compileLogFilter({ service: 'api', text: 'a' }).key);
    expect(a.normalised).toEqual({ service: 'api', text: 'b a', attributes: { x: '2', y: '1' } });
  });

  test('a scope is part of the matcher and of its key, and a service outside it is refused', () => {
    const scope = { service: ['api'], environment: ['prod'] };
    const f = compileLogFilter({}, scope);
    expect(f.matches(row('x', { resourceAttributes: { 'deployment.environment': 'prod' } }))).toBe(true);
    expect(f.matches(row('x', { resourceAttributes: { 'deployment.environment': 'dev' } }))).toBe(false);
    expect(f.matches(row('x', { serviceName: 'web', resourceAttributes: { 'deployment.environment': 'prod' } }))).toBe(false);
    expect(f.key).not.toBe(compileLogFilter({}).key);
    expect(() => compileLogFilter({ service: 'web' }, scope)).toThrow(/outside what this token may see/);
  });

  test('hasToken needs separators (or the ends) around the token', () => {
    expect(hasToken('GET /api/users 200', 'api')).toBe(true);
    expect(hasToken('rapid', 'api')).toBe(false);
    expect(hasToken('api', 'api')).toBe(true);
    expect(hasToken('xapi api', 'api')).toBe(true);
  });
});

describe('LogRing', () => {
  test('hands back what follows an offset and counts what it no longer holds', () => {
    const ring = new LogRing(3);
    for (const b of ['a', 'b', 'c', 'd', 'e']) ring.append(row(b), 0);
    expect(ring.firstOffset).toBe(3);
    expect(ring.lastOffset).toBe(5);
    expect(ring.after(3).entries.map((e) => e.row.body)).toEqual(['d', 'e']);
    expect(ring.after(3).missed).toBe(0);
    const late = ring.after(0);
    expect(late.missed).toBe(2);
    expect(late.entries.map((e) => e.offset)).toEqual([3, 4, 5]);
    expect(JSON.parse(late.entries[0]!.json)).toMatchObject({ offset: 3, body: 'c' });
  });

  test('offsetBefore finds where a fresh tail starts', () => {
    const ring = new LogRing(10);
    ring.append(row('old'), 1000);
    ring.append(row('new'), 5000);
    expect(ring.offsetBefore(4000)).toBe(1);
    expect(ring.offsetBefore(0)).toBe(0);
    expect(ring.offsetBefore(9000)).toBe(2);
  });
});

describe('LogHub', () => {
  test('100 viewers of one filter share one upstream: one evaluation per record', () => {
    const hub = new LogHub(1000);
    const filter = compileLogFilter({ service: 'api' });
    let evaluations = 0;
    const counted = { ...filter, matches: (r: LogRow) => (evaluations++, filter.matches(r)) };
    const received: string[][] = Array.from({ length: 100 }, () => []);
    const subs = received.map((got) => hub.subscribe(counted, { deliver: (es: readonly RingEntry[]) => got.push(...es.map((e) => e.row.body)) }, hub.ring.lastOffset));
    const other = hub.subscribe(compileLogFilter({ service: 'web' }), { deliver: () => {} }, 0);
    expect(hub.upstreamCount).toBe(2);
    expect(hub.viewerCount).toBe(101);

    hub.publish([row('one'), row('two', { serviceName: 'web' }), row('three')]);
    expect(evaluations).toBe(3);
    for (const got of received) expect(got).toEqual(['one', 'three']);

    for (const s of subs) s.stop();
    expect(hub.upstreamCount).toBe(1);
    other.stop();
    expect(hub.upstreamCount).toBe(0);
  });

  test('a viewer that subscribes after an offset first gets the matching entries the ring holds', () => {
    const hub = new LogHub(1000);
    hub.publish([row('a'), row('b', { serviceName: 'web' }), row('c')]);
    const got: number[] = [];
    const sub = hub.subscribe(compileLogFilter({ service: 'api' }), { deliver: (es) => got.push(...es.map((e) => e.offset)) }, 1);
    expect(sub.catchUp.entries.map((e) => e.offset)).toEqual([3]);
    expect(sub.catchUp.missed).toBe(0);
    hub.publish([row('d')]);
    expect(got).toEqual([4]);
  });
});
