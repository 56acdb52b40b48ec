/**
 * An append-only bit stream, most significant bit first, over a byte buffer that grows by
 * doubling. Values wider than 32 bits are written as two 32-bit halves, so the hot path never
 * touches bigint (see FORMAT.md).
 */
export class BitWriter {
  private buf: Uint8Array;
  /** Bits written so far. */
  private pos = 0;

  constructor(initialBytes = 32, prefix?: Uint8Array) {
    this.buf = new Uint8Array(Math.max(initialBytes, prefix?.length ?? 0, 1));
    if (prefix) {
      this.buf.set(prefix);
      this.pos = prefix.length * 8;
    }
  }

  get bitLength(): number {
    return this.pos;
  }

  /** Bytes holding the stream (the last one may be partly filled). */
  get byteLength(): number {
    return (this.pos + 7) >>> 3;
  }

  /** Allocated bytes, for memory accounting. */
  get capacity(): number {
    return this.buf.length;
  }

  /**
   * A view of the written bytes. It is invalidated by the next write that grows the buffer, but
   * what it shows never changes afterwards: writes only set bits past the current position.
   */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.byteLength);
  }

  /** Overwrites one whole byte already written (the chunk header's sample count lives there). */
  setByte(index: number, value: number): void {
    this.buf[index] = value & 0xff;
  }

  writeBit(bit: number): void {
    this.ensure(1);
    if (bit !== 0) this.buf[this.pos >>> 3]! |= 0x80 >>> (this.pos & 7);
    this.pos++;
  }

  /** Writes the low `n` bits (0..32) of `value`, most significant first. */
  writeBits(value: number, n: number): void {
    if (n === 0) return;
    this.ensure(n);
    let left = n;
    while (left > 0) {
      const free = 8 - (this.pos & 7);
      const take = free < left ? free : left;
      const part = (value >>> (left - take)) & ((1 << take) - 1);
      this.buf[this.pos >>> 3]! |= part << (free - take);
      left -= take;
      this.pos += take;
    }
  }

  /** Writes the low `n` bits (0..64) of the 64-bit value hi:lo. */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi >>> 0, n - 32);
      this.writeBits(lo >>> 0, 32);
    } else {
      this.writeBits(lo >>> 0, n);
    }
  }

  /** Byte-wise unsigned varint (7 bits a byte, low groups first) of a non-negative integer < 2^56. */
  writeUvarint(value: number): void {
    let rest = value;
    while (rest >= 128) {
      this.writeBits((rest % 128) | 0x80, 8);
      rest = Math.floor(rest / 128);
    }
    this.writeBits(rest, 8);
  }

  private ensure(bits: number): void {
    const need = (this.pos + bits + 7) >>> 3;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.byteLength));
    this.buf = next;
  }
}
