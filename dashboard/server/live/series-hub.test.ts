import { describe, expect, test } from 'vitest';
import { Head } from '../../../pipeline/realtime/tsdb/index.js';
import { waitFor } from '../../../test/harness/wait.js';
import type { SeriesPoints } from './protocol.js';
import { parseSelector, SeriesHub } from './series-hub.js';

describe('SeriesHub', () => {
  test('pushes only the samples appended after the subscription, once per viewer, from one shared upstream', async () => {
    const head = new Head({ windowMs: 3600_000 });
    const t0 = Date.now();
    head.append({ name: 'node_load1', labels: { instance: 'pi-1' }, timestampMs: t0 - 5000, value: 0.5, type: 'gauge' });
    const hub = new SeriesHub();
    hub.attach(head);
    const a: SeriesPoints[][] = [];
    const b: SeriesPoints[][] = [];
    hub.subscribe('node_load1{instance="pi-1"}', { deliver: (s) => a.push(s) });
    hub.subscribe(' node_load1{ instance = "pi-1" }', { deliver: (s) => b.push(s) });
    hub.subscribe('node_load1{instance="pi-2"}', { deliver: () => {} });
    expect(hub.upstreamCount).toBe(2);

    head.append({ name: 'node_load1', labels: { instance: 'pi-1' }, timestampMs: t0 + 1000, value: 1.5, type: 'gauge' });
    head.append({ name: 'node_load5', labels: { instance: 'pi-1' }, timestampMs: t0 + 1000, value: 9, type: 'gauge' });
    hub.appended();
    await waitFor('a push', () => a.length > 0);
    expect(a).toEqual([[{ labels: { __name__: 'node_load1', instance: 'pi-1' }, points: [[t0 + 1000, 1.5]] }]]);
    expect(b).toEqual(a);

    head.append({ name: 'node_load1', labels: { instance: 'pi-1' }, timestampMs: t0 + 2000, value: 2.5, type: 'gauge' });
    hub.appended();
    await waitFor('a second push', () => a.length > 1);
    expect(a[1]).toEqual([{ labels: { __name__: 'node_load1', instance: 'pi-1' }, points: [[t0 + 2000, 2.5]] }]);
    hub.stop();
  });

  test('takes vector selectors only, and says what is wrong', () => {
    expect(() => parseSelector('rate(x[5m])')).toThrow(/vector selector/);
    expect(() => parseSelector('up{')).toThrow(/invalid "query"/);
    expect(() => parseSelector('up offset 5m')).toThrow(/offset/);
  });
});
