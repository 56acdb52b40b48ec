/**
 * A protobuf wire writer into one growing Buffer, for the hand-written OTLP log encoder
 * (otlp-logs-writer.ts). Length-delimited fields reserve a guessed number of length bytes,
 * write their content in place and close the gap with one copyWithin when the guess was wrong,
 * so no field is measured or copied twice in the common case.
 */
import type { BufferPool } from './buffer-pool.js';
import { TWO_64 } from './otlp-values.js';

/** Bytes a varint of `n` (0 ≤ n < 2^53) takes. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (let v = Math.floor(n / 0x800000000); v > 0; v = Math.floor(v / 0x80)) size++;
  return size;
}

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  /** With a `pool`, buffers come from it, and one outgrown goes back to it at once (its bytes were copied). */
  constructor(
    initialBytes = 64 * 1024,
    private readonly pool?: BufferPool,
  ) {
    this.buf = pool ? pool.take(initialBytes) : Buffer.allocUnsafe(initialBytes);
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const bytes = Math.max(this.buf.length * 2, this.pos + n + 1024);
    const next = this.pool ? this.pool.take(bytes) : Buffer.allocUnsafe(bytes);
    this.buf.copy(next, 0, 0, this.pos);
    this.pool?.give(this.buf);
    this.buf = next;
  }

  /** One byte: every tag Pharos writes is a field number under 16, so tags are single bytes. */
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint of 0 ≤ n < 2^53. */
  varint(n: number): void {
    this.ensure(10);
    this.pos = writeVarintAt(this.buf, this.pos, n);
  }

  /** int64 varint (two's complement, 10 bytes when negative), as protobuf's int64 and int32 encode. */
  int64(v: bigint): void {
    let u = v < 0n ? (v + TWO_64) & (TWO_64 - 1n) : v;
    this.ensure(10);
    const buf = this.buf;
    while (u >= 0x80n) {
      buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    buf[this.pos++] = Number(u);
  }

  /** A signed integer of at most 53 bits, as an int64 varint. */
  intNumber(v: number): void {
    if (v >= 0) this.varint(v);
    else this.int64(BigInt(v));
  }

  fixed64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Length-prefixed UTF-8 of a well-formed string (lone surrogates already replaced). */
  string(s: string): void {
    const n = s.length;
    this.ensure(n * 3 + 5);
    const buf = this.buf;
    if (n < 64) {
      // Short strings: a JS loop beats the native call's overhead while the text is ASCII.
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    // Guess the length's size for ASCII text; a wider UTF-8 string moves over by a byte or two.
    const guess = varintSize(n);
    const start = this.pos + guess;
    const written = buf.write(s, start, n * 3, 'utf8');
    const need = varintSize(written);
    if (need !== guess) buf.copyWithin(this.pos + need, start, start + written);
    writeVarintAt(buf, this.pos, written);
    this.pos += need + written;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Copies bytes already in wire form (a cached field). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Starts a length-delimited field's content, reserving `reserve` bytes for its length. */
  begin(reserve: number): number {
    this.ensure(reserve);
    const start = this.pos;
    this.pos += reserve;
    return start;
  }

  /** Closes the field opened at `start` with `reserve` bytes for the length. */
  end(start: number, reserve: number): void {
    const len = this.pos - start - reserve;
    const need = varintSize(len);
    if (need !== reserve) {
      this.ensure(need - reserve);
      this.buf.copyWithin(start + need, start + reserve, this.pos);
      this.pos += need - reserve;
    }
    writeVarintAt(this.buf, start, len);
  }

  /** The bytes written, as a view of the writer's buffer: the writer must not be reused after. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Writes the unsigned varint of 0 ≤ n < 2^53 at `pos`; returns the position after it. */
export function writeVarintAt(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}
