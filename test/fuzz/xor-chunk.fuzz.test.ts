/**
 * XOR chunks of the real-time store: any byte string is refused at reset (no header, another
 * version) or read as at most the sample count its header states — never an exception mid-read,
 * never more samples than 65,535, never an allocation per sample. Valid chunks round-trip.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { floatBits, XorChunk, XorIterator, XOR_MAX_SAMPLES } from '../../pipeline/realtime/chunk/xor-chunk.js';
import { allocatedBy, expectTyped, fuzz, mutatedBytes, randomBytes } from './kit.js';

/** Strictly increasing timestamps (any spacing, negative ones too) with values of every float shape. */
const samples = fc
  .tuple(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.array(fc.tuple(fc.oneof(fc.integer({ min: 1, max: 30_000 }), fc.integer({ min: 1, max: 2 ** 40 })), fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 2 ** 49, 5e-324)), fc.boolean()), { minLength: 1, maxLength: 200 }),
  )
  .map(([t0, steps]) => {
    let t = t0;
    return steps.map(([dt, v, stale]) => ({ t: (t += dt), v, stale: stale && Math.abs(dt) % 7 === 0 }));
  });

const encoded = samples.map((list) => {
  const c = new XorChunk();
  for (const s of list) c.append(s.t, s.v, s.stale);
  return c.seal();
});

/** Reads a whole chunk the way the querier does; returns how many samples came out. */
function readAll(bytes: Uint8Array): number {
  const it = new XorIterator();
  it.reset(bytes);
  let n = 0;
  while (it.next()) {
    n++;
    if (n > XOR_MAX_SAMPLES) throw new Error(`read ${n} samples, more than any header allows`);
  }
  expect(n).toBe(it.numSamples);
  it.reset(bytes);
  it.seek(Number.MAX_SAFE_INTEGER);
  return n;
}

describe('XOR chunk decode', () => {
  fuzz('random and mutated bytes: refused at reset or read to the stated count', fc.oneof(randomBytes(64), mutatedBytes(encoded, 6), encoded), (bytes) => {
    expectTyped('XorIterator', bytes, () => readAll(bytes), Error);
  }, 600);

  fuzz('valid chunks round-trip bit for bit (stale markers by their bits)', samples, (list) => {
    const c = new XorChunk();
    for (const s of list) c.append(s.t, s.v, s.stale);
    const it = new XorIterator(c.seal());
    for (const s of list) {
      expect(it.next()).toBe(true);
      expect(it.t).toBe(s.t);
      expect(it.stale).toBe(s.stale);
      if (!s.stale && !Number.isNaN(s.v)) expect(floatBits(it.v)).toEqual(floatBits(s.v));
    }
    expect(it.next()).toBe(false);
  }, 200);

  test('a header claiming 65,535 samples over 3 bytes reads zeros without allocating per sample', () => {
    const bytes = Uint8Array.from([1, 0xff, 0xff]);
    let n = 0;
    const allocated = allocatedBy(() => {
      n = readAll(bytes);
    });
    expect(n).toBe(XOR_MAX_SAMPLES);
    expect(allocated).toBeLessThan(4 * 1024 * 1024);
  });
});
