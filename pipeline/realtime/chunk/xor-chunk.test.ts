import { describe, expect, it } from 'vitest';
import { BitReader } from './bit-reader.js';
import { BitWriter } from './bit-writer.js';
import { floatBits, XOR_CHUNK_VERSION, XOR_HEADER_BYTES, XorChunk, XorIterator } from './xor-chunk.js';

interface Sample {
  t: number;
  v: number;
  stale?: boolean;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function encode(samples: readonly Sample[]): Uint8Array {
  const c = new XorChunk(8);
  for (const s of samples) c.append(s.t, s.v, s.stale ?? false);
  return c.seal();
}

function decode(bytes: Uint8Array): Sample[] {
  return [...new XorIterator(bytes)].map((s) => ({ t: s.t, v: s.v, stale: s.stale }));
}

/** Bit-for-bit: every non-stale value keeps its exact bits (-0 included); NaNs stay NaN. */
function expectSame(got: readonly Sample[], want: readonly Sample[]): void {
  const view = (s: Sample) => `${s.t} ${s.stale === true ? 'stale' : Number.isNaN(s.v) ? 'NaN' : floatBits(s.v).map((x) => x.toString(16)).join(':')}`;
  // One comparison per series: an expect per sample made the property test slow.
  expect(got.map(view)).toEqual(want.map(view));
}

function series(n: number, t0: number, step: (i: number) => number, value: (i: number) => number): Sample[] {
  const out: Sample[] = [];
  let t = t0;
  for (let i = 0; i < n; i++) {
    out.push({ t, v: value(i) });
    t += step(i);
  }
  return out;
}

const T0 = 1_700_000_000_000;

describe('bit stream', () => {
  it('reads back every width from 0 to 32 bits and 64-bit halves', () => {
    const r = rng(1);
    const w = new BitWriter(1);
    const written: Array<[number, number]> = [];
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(r() * 33);
      const v = n === 0 ? 0 : Math.floor(r() * 2 ** n);
      written.push([v, n]);
      w.writeBits(v, n);
    }
    w.writeUvarint(2 ** 53 - 1);
    const rd = new BitReader();
    rd.reset(w.bytes());
    for (const [v, n] of written) expect(rd.readBits(n)).toBe(v);
    expect(rd.readUvarint()).toBe(2 ** 53 - 1);
  });
});

describe('xor chunk', () => {
  const adversarial: Record<string, Sample[]> = {
    'a constant series': series(120, T0, () => 10_000, () => 42),
    'a counter with resets': series(120, T0, () => 10_000, (i) => (i % 37) * 3.5),
    'NaN, ±Inf, −0 and extremes': [NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1, -0, NaN, 2 ** -1074, 5e-324, 1e308].map(
      (v, i) => ({ t: T0 + i * 1000, v }),
    ),
    'jittered timestamps': series(120, T0, (i) => 10_000 + ((i * 7919) % 201) - 100, (i) => i * 1.25),
    'huge gaps and every dod bucket': [0, 1, 2, 3, 8195, 8196, 8197, 80_000, 700_000, 1_000_000_000, 2 ** 45, 2 ** 52, 2 ** 53 - 1].map((t, i) => ({ t, v: i })),
    'negative timestamps': [-5_000_000, -4_000_000, -1, 0, 1].map((t, i) => ({ t, v: -i })),
    'a single sample': [{ t: T0, v: Math.PI }],
    'an integer counter that turns fractional': series(120, T0, () => 10_000, (i) => (i < 60 ? i * 7 : i * 7 + 0.5)),
    'integers at and past the integer mode limit': [2 ** 49, -(2 ** 49), 2 ** 49, 2 ** 49 - 1, -(2 ** 49), 2 ** 50, 2 ** 53, 0, 1].map((v, i) => ({ t: T0 + i, v })),
    'an integer series whose deltas need every bucket': [0, 0, 1, 100, 20_000, 2 ** 33, -(2 ** 49), 2 ** 49, 5, 5].map((v, i) => ({ t: T0 + i * 10, v })),
    'a series starting with −0 then integers': [-0, 0, 1, 2].map((v, i) => ({ t: T0 + i, v })),
    'stale markers between values': [
      { t: T0, v: 1 },
      { t: T0 + 15_000, v: NaN, stale: true },
      { t: T0 + 30_000, v: NaN },
      { t: T0 + 45_000, v: 2 },
      { t: T0 + 60_000, v: NaN, stale: true },
    ],
    'values whose XOR spans all 64 bits': [1, -1, 1, -Number.MAX_VALUE, Number.MIN_VALUE, -0].map((v, i) => ({ t: T0 + i, v })),
  };
  for (const [name, samples] of Object.entries(adversarial)) {
    it(`round-trips ${name} bit for bit`, () => expectSame(decode(encode(samples)), samples));
  }

  it('round-trips random series bit for bit (property)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 300);
      const kinds = [
        () => r() * 1e6,
        () => Math.floor(r() * 100),
        () => (r() - 0.5) * 1e-300,
        () => [NaN, Infinity, -Infinity, -0, 0][Math.floor(r() * 5)]!,
        () => (r() < 0.5 ? 1 : 1 + Number.EPSILON),
      ];
      let t = Math.floor(r() * 2 ** 42);
      const out: Sample[] = [];
      for (let i = 0; i < n; i++) {
        const stale = r() < 0.05;
        out.push({ t, v: stale ? NaN : kinds[Math.floor(r() * kinds.length)]!(), stale });
        const gap = r();
        t += gap < 0.7 ? 15_000 : gap < 0.9 ? 1 + Math.floor(r() * 100_000) : 1 + Math.floor(r() * 2 ** 40);
      }
      expectSame(decode(encode(out)), out);
    }
  });

  it('round-trips random integer walks, with the odd float or stale marker, bit for bit (property)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed * 7919);
      const scale = 2 ** Math.floor(r() * 52);
      let v = Math.floor((r() - 0.5) * scale);
      const out: Sample[] = [];
      for (let i = 0; i < 240; i++) {
        const odd = r();
        if (odd < 0.01) out.push({ t: T0 + i * 10_000, v: NaN, stale: true });
        else if (odd < 0.02) out.push({ t: T0 + i * 10_000, v: v + 0.25 });
        else out.push({ t: T0 + i * 10_000, v });
        v += Math.floor(r() * scale);
      }
      expectSame(decode(encode(out)), out);
    }
  });

  it('never mistakes a NaN with the stale payload for a stale marker unless flagged', () => {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setUint32(0, 0x7ff00000);
    dv.setUint32(4, 2);
    const staleBitsNaN = dv.getFloat64(0);
    const got = decode(encode([{ t: 1, v: staleBitsNaN }]));
    expect(got[0]!.stale).toBe(false);
    expect(Number.isNaN(got[0]!.v)).toBe(true);
  });

  it('seeks to the first sample at or after a time and stays put when already there', () => {
    const samples = series(120, T0, () => 10_000, (i) => i);
    const it = new XorIterator(encode(samples));
    expect(it.seek(T0 + 55_000)).toBe(true);
    expect(it.t).toBe(T0 + 60_000);
    expect(it.seek(T0 + 1)).toBe(true);
    expect(it.t).toBe(T0 + 60_000);
    expect(it.seek(T0 + 10_000_000)).toBe(false);
  });

  it('is read again after reset onto other bytes, and reads a growing chunk up to its count at reset', () => {
    const c = new XorChunk(4);
    const it = new XorIterator();
    c.append(T0, 1);
    c.append(T0 + 10, 2);
    it.reset(c.bytes());
    c.append(T0 + 20, 3);
    expect([...it].map((s) => s.v)).toEqual([1, 2]);
    it.reset(c.bytes());
    expect([...it].map((s) => s.v)).toEqual([1, 2, 3]);
  });

  it('refuses appends out of order (the caller orders samples)', () => {
    const c = new XorChunk();
    c.append(T0, 1);
    expect(() => c.append(T0, 2)).toThrow(/out of order/);
  });

  it('keeps its byte format (golden bytes)', () => {
    const bytes = encode([
      { t: T0, v: 1 },
      { t: T0 + 10_000, v: 2 },
      { t: T0 + 20_000, v: 2 },
      { t: T0 + 30_001, v: 3.5 },
      { t: T0 + 40_001, v: NaN, stale: true },
      { t: T0 + 50_001, v: -0 },
    ]);
    expect(bytes[0]).toBe(XOR_CHUNK_VERSION);
    expect(bytes.length).toBeGreaterThan(XOR_HEADER_BYTES);
    expect(Buffer.from(bytes).toString('hex')).toBe('01000680a0abfef9623ff0000000000000c82744860007fd8177fff8bdfff000000000000b07fffe00000000000040');
  });
});
