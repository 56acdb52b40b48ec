import { describe, expect, it } from 'vitest';
import { Head } from './head.js';

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

describe('bytes per sample', () => {
  // The size is a deterministic function of the data, not a timing: safe to assert.
  it('stays at or under 1.37 bytes per sample on regular 10 s request counters over 2 h', () => {
    const head = new Head();
    const r = rng(42);
    const T0 = 1_700_000_000_000;
    const steps = 720; // 2 h at 10 s
    for (let s = 0; s < 100; s++) {
      // A request counter: a start value from an earlier life, then 0 to 10 requests per scrape.
      let v = Math.floor(r() * 1e6);
      const labels = { job: 'api', instance: `host-${s % 25}:8080`, method: s < 50 ? 'GET' : 'POST', code: Math.floor(s / 25) % 2 === 0 ? '200' : '500' };
      for (let i = 0; i < steps; i++) {
        expect(head.append({ name: 'http_requests_total', labels, timestampMs: T0 + i * 10_000, value: v, type: 'counter' }).ok).toBe(true);
        v += Math.floor(r() * 11);
      }
    }
    const m = head.memory();
    expect(m.numSamples).toBe(72_000);
    expect(m.bytesPerSample).toBeLessThanOrEqual(1.37);
    // Allocated chunk memory (open chunks keep spare capacity) stays close to the payload.
    expect(m.chunkBytes / m.numSamples).toBeLessThan(1.6);
  });
});
