/**
 * The decoded-chunk cache behind HeadQuerier: selects through it equal an independent in-memory
 * store while samples keep arriving (open chunks grow and get sealed, out-of-order inserts
 * re-encode chunks, truncation drops them), its memory stays within budget, and series scraped
 * together share one timestamps array.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemQuerier } from '../promql/test-querier.js';
import type { LabelMatcher, SeriesSamples } from '../storage.js';
import { Head } from './head.js';
import { HeadQuerier } from './querier.js';

const ALL: LabelMatcher[] = [{ name: '__name__', type: '=', value: 'm' }];

function plain(ss: SeriesSamples[]): unknown[] {
  return ss
    .map((s) => ({ labels: { ...s.labels }, t: Array.from(s.timestamps), v: Array.from(s.values), stale: [...(s.staleAt ?? [])].sort((a, b) => a - b) }))
    .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
}

describe('decoded chunk cache', () => {
  it('serves what was appended, through growth, sealing, out-of-order inserts and truncation', () => {
    const op = fc.oneof(
      { weight: 20, arbitrary: fc.record({ kind: fc.constant('append' as const), s: fc.integer({ min: 0, max: 3 }), dt: fc.integer({ min: -3000, max: 20_000 }), v: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.double({ noNaN: false })), stale: fc.boolean() }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('select' as const), from: fc.integer({ min: 0, max: 400_000 }), len: fc.integer({ min: 0, max: 400_000 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 200_000 }) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.constantFrom(0, 1500, 3000, 1 << 20), (ops, budget) => {
        const head = new Head({ samplesPerChunk: 7, outOfOrderToleranceMs: 5000, decodedCacheBytes: budget, windowMs: 300_000 });
        const q = new HeadQuerier(head);
        let ref = new MemQuerier();
        const last = [0, 0, 0, 0];
        const accepted: Array<{ s: number; t: number; v: number; stale: boolean }> = [];
        for (const o of ops) {
          if (o.kind === 'append') {
            const t = Math.max(1, last[o.s]! + o.dt);
            const stale = o.stale && o.dt % 5 === 0;
            const r = head.append({ name: 'm', labels: { s: String(o.s) }, timestampMs: t, value: stale ? NaN : o.v, type: 'gauge', ...(stale ? { stale: true } : {}) });
            if (r.ok) {
              last[o.s] = Math.max(last[o.s]!, t);
              accepted.push({ s: o.s, t, v: o.v, stale });
            }
          } else if (o.kind === 'truncate') {
            const now = Math.max(...last) + o.back - 200_000;
            head.truncate(now);
            // The reference drops whole chunks the same way: rebuild it from what the head still holds.
            ref = new MemQuerier();
            for (const s of q.select(ALL, -Infinity, Infinity)) {
              for (let i = 0; i < s.timestamps.length; i++) {
                const t = s.timestamps[i]!;
                if (s.staleAt?.has(t)) ref.addStale(s.labels, t);
                else ref.add(s.labels, t, s.values[i]!);
              }
            }
            accepted.length = 0;
            continue;
          } else {
            expect(plain(q.select(ALL, o.from, o.from + o.len))).toEqual(plain(refSelect(ref, accepted, o.from, o.from + o.len)));
          }
          expect(head.decoded.bytes).toBeLessThanOrEqual(Math.max(budget, 0));
          // Chunks replaced or dropped leave the cache with them.
          let chunks = 0;
          for (const s of head.allSeries()) chunks += s.numChunks;
          expect(head.decoded.size).toBeLessThanOrEqual(chunks);
        }
        expect(plain(q.select(ALL, -Infinity, Infinity))).toEqual(plain(refSelect(ref, accepted, -Infinity, Infinity)));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps decoded chunks (hits on repeat) and shares the timestamps of series scraped together', () => {
    const head = new Head();
    for (let i = 0; i < 300; i++) {
      for (const s of ['a', 'b', 'c']) {
        head.append({ name: 'm', labels: { s }, timestampMs: 1000 + i * 10_000 + (s === 'c' ? 1 : 0), value: i, type: 'counter' });
      }
    }
    const q = new HeadQuerier(head);
    const first = q.select(ALL, 0, Infinity);
    const misses = head.decoded.misses;
    const again = q.select(ALL, 0, Infinity);
    expect(head.decoded.misses).toBe(misses);
    expect(head.decoded.hits).toBeGreaterThan(0);
    expect(plain(again)).toEqual(plain(first));
    const [a, b, c] = again;
    expect(a!.timestamps).toBe(b!.timestamps);
    expect(c!.timestamps).not.toBe(a!.timestamps);
    expect(head.memory().decodedCacheBytes).toBe(head.decoded.bytes);
    expect(head.decoded.bytes).toBeGreaterThan(0);
    // Dropping chunks drops their decoded copies.
    head.truncate(1000 + 299 * 10_000 + head.windowMs);
    expect(head.decoded.size).toBeLessThanOrEqual(3);
  });
});

/** The reference's samples, merged in time order (out-of-order appends were accepted by the head). */
function refSelect(base: MemQuerier, extra: Array<{ s: number; t: number; v: number; stale: boolean }>, minT: number, maxT: number): SeriesSamples[] {
  const all = new Map<string, Array<{ t: number; v: number; stale: boolean }>>();
  for (const s of base.select(ALL, -Infinity, Infinity)) {
    const k = s.labels.s!;
    const list = all.get(k) ?? [];
    for (let i = 0; i < s.timestamps.length; i++) list.push({ t: s.timestamps[i]!, v: s.values[i]!, stale: s.staleAt?.has(s.timestamps[i]!) ?? false });
    all.set(k, list);
  }
  for (const e of extra) {
    const list = all.get(String(e.s)) ?? [];
    list.push({ t: e.t, v: e.stale ? NaN : e.v, stale: e.stale });
    all.set(String(e.s), list);
  }
  const out: SeriesSamples[] = [];
  for (const [s, list] of all) {
    const inRange = list.filter((x) => x.t >= minT && x.t <= maxT).sort((a, b) => a.t - b.t);
    if (inRange.length === 0) continue;
    const stale = new Set(inRange.filter((x) => x.stale).map((x) => x.t));
    out.push({
      labels: { __name__: 'm', s },
      timestamps: Float64Array.from(inRange, (x) => x.t),
      values: Float64Array.from(inRange, (x) => x.v),
      ...(stale.size ? { staleAt: stale } : {}),
    });
  }
  return out;
}
