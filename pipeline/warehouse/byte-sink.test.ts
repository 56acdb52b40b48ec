import { describe, expect, test } from 'vitest';
import { BufferPool, ByteSink } from './byte-sink.js';

const lines = (n: number, prefix = 'row'): string[] => Array.from({ length: n }, (_, i) => `${prefix} ${i}\tvalue ${'x'.repeat(i % 50)}\n`);

describe('ByteSink', () => {
  test('the sealed bytes are every appended line, also across growth and with multi-byte text', () => {
    const sink = new ByteSink(64);
    const text = [...lines(1000), 'ünïcødé ✓ 日本語 \u{1F600}\n', ...lines(300, 'tail')];
    for (const l of text) sink.append(l);
    expect(sink.rows).toBe(text.length);
    expect(sink.seal().toString('utf8')).toBe(text.join(''));
  });

  test('a lone surrogate is written as U+FFFD, as the engine expects well-formed UTF-8', () => {
    const sink = new ByteSink(16);
    sink.append('a\uD800b\n');
    expect(sink.seal().toString('utf8')).toBe('a\uFFFDb\n');
  });
});

describe('BufferPool', () => {
  test('a released buffer is written into by the next sink, without a new allocation', () => {
    const pool = new BufferPool();
    const first = new ByteSink(1024, pool);
    for (const l of lines(2000)) first.append(l);
    const firstBytes = first.seal();
    const expected = firstBytes.toString('utf8');
    first.release();
    expect(pool.freeBytes).toBeGreaterThanOrEqual(firstBytes.length);

    const second = new ByteSink(1024, pool);
    for (const l of lines(10, 'next')) second.append(l);
    const secondBytes = second.seal();
    // Same memory as the first sink's buffer: reused, not allocated.
    expect(secondBytes.buffer).toBe(firstBytes.buffer);
    expect(secondBytes.toString('utf8')).toBe(lines(10, 'next').join(''));
    expect(expected).toBe(lines(2000).join(''));
  });

  test('a sink is not handed a buffer another sink still holds, and release is idempotent', () => {
    const pool = new BufferPool();
    const a = new ByteSink(4096, pool);
    a.append('a\n');
    a.release();
    a.release();
    const b = new ByteSink(4096, pool);
    const c = new ByteSink(4096, pool);
    b.append('b\n');
    c.append('c\n');
    expect(b.seal().buffer).not.toBe(c.seal().buffer);
    expect(b.seal().toString()).toBe('b\n');
    expect(c.seal().toString()).toBe('c\n');
  });

  test('keeps at most its limit of buffers, preferring the largest', () => {
    const pool = new BufferPool(2);
    pool.give(Buffer.alloc(10));
    pool.give(Buffer.alloc(1000));
    pool.give(Buffer.alloc(100));
    expect(pool.freeBytes).toBe(1100);
    expect(pool.take(500).length).toBe(1000);
    // Nothing large enough left: a new buffer of the size asked for.
    expect(pool.take(5000).length).toBe(5000);
  });
});
