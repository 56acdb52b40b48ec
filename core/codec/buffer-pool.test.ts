import { describe, expect, test } from 'vitest';
import { BufferPool, sizeClass } from './buffer-pool.js';
import { EncodedLogsBuilder, encodeAttributeFields } from './encoded-logs.js';

describe('BufferPool', () => {
  test('sizes are powers of two from 4 KiB', () => {
    expect(sizeClass(1)).toBe(4096);
    expect(sizeClass(4096)).toBe(4096);
    expect(sizeClass(4097)).toBe(8192);
    expect(sizeClass(131_072)).toBe(131_072);
    expect(sizeClass(131_073)).toBe(262_144);
  });

  test('a buffer given back is the next one taken of its size', () => {
    const pool = new BufferPool(1024 * 1024);
    const a = pool.take(100_000);
    expect(a.length).toBe(131_072);
    pool.give(a);
    expect(pool.idleBytes).toBe(131_072);
    expect(pool.take(131_072)).toBe(a);
    expect(pool.idleBytes).toBe(0);
    expect(pool.take(131_072)).not.toBe(a);
  });

  test('keeps no more than its bound, and refuses what it cannot hand out whole', () => {
    const pool = new BufferPool(2 * 8192);
    const [a, b, c] = [pool.take(8192), pool.take(8192), pool.take(8192)];
    pool.give(a);
    pool.give(a); // twice: kept once
    expect(pool.idleBytes).toBe(8192);
    pool.give(b);
    pool.give(c); // past the bound
    expect(pool.idleBytes).toBe(16_384);
    const shared = new BufferPool(1024 * 1024);
    shared.give(Buffer.allocUnsafeSlow(16_384).subarray(0, 8192)); // a view of a larger buffer
    shared.give(Buffer.allocUnsafeSlow(5000)); // not a size class
    expect(shared.idleBytes).toBe(0);
  });
});

describe('EncodedLogsBuilder with a pool', () => {
  const attributes = encodeAttributeFields({ 'log.file.path': '/var/log/app.log' });
  const line = Buffer.from('x'.repeat(150));

  test('release gives the records buffer back once, and a builder that grew gives back what it outgrew', () => {
    const pool = new BufferPool(1024 * 1024);
    const builder = new EncodedLogsBuilder({ 'host.name': 'h' }, 4096, pool);
    // ~200 bytes a record: past 4 KiB, then 8 KiB, the writer grows twice.
    for (let i = 0; i < 60; i++) builder.addPlain(line, 0, line.length, { number: 9, text: 'INFO' }, attributes, i, 1n);
    expect(pool.idleBytes).toBe(4096 + 8192);
    const encoded = builder.finish();
    expect(encoded.bytes.length).toBeGreaterThan(8192);
    encoded.release!();
    encoded.release!();
    expect(pool.idleBytes).toBe(4096 + 8192 + 16_384);
    // The next builder writes into a buffer given back, not a new one.
    new EncodedLogsBuilder({ 'host.name': 'h' }, 4096, pool);
    expect(pool.idleBytes).toBe(8192 + 16_384);
  });

  test('without a pool there is nothing to release', () => {
    expect(new EncodedLogsBuilder({}).finish().release).toBeUndefined();
  });
});
