/**
 * Gorilla/Prometheus XOR chunks: delta-of-delta timestamps and XOR-compressed float values,
 * appended one sample at a time and read back by a reusable iterator that allocates nothing per
 * sample. The byte layout and its invariants are in FORMAT.md beside this file.
 */
import { BitReader } from './bit-reader.js';
import { BitWriter } from './bit-writer.js';

export const XOR_CHUNK_VERSION = 1;
/** Version byte + big-endian uint16 sample count. */
export const XOR_HEADER_BYTES = 3;
export const XOR_MAX_SAMPLES = 0xffff;

/**
 * Prometheus's stale marker (value.StaleNaN). Written and recognised as raw bits only: V8 may
 * canonicalise a NaN's payload whenever it passes through a JS number, so the payload is never
 * trusted to survive outside the chunk.
 */
export const STALE_HI = 0x7ff00000;
export const STALE_LO = 0x00000002;
/** Every NaN that is not a stale marker is stored as this one quiet NaN. */
const NAN_HI = 0x7ff80000;

// One shared view turns a float into its two 32-bit halves without allocating.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

const TWO_32 = 4294967296;

/** Raw bits of a float64 as [hi, lo]; used by tests to compare bit for bit. */
export function floatBits(v: number): [number, number] {
  f64[0] = v;
  return [u32[HI]!, u32[LO]!];
}

function ctz32(x: number): number {
  // x & -x isolates the lowest set bit; x is never 0 here.
  return 31 - Math.clz32(x & -x);
}

export interface ChunkIterator {
  /** Moves to the next sample; false once the chunk is exhausted. */
  next(): boolean;
  /** Moves to the first sample at or after tMs (staying put if already there); false if none. */
  seek(tMs: number): boolean;
  readonly t: number;
  readonly v: number;
  /** The current sample is an explicit staleness marker (v is NaN then). */
  readonly stale: boolean;
  reset(bytes: Uint8Array): void;
}

/** An open chunk: appends samples in strictly increasing time order. */
export class XorChunk {
  private readonly w: BitWriter;
  private n = 0;
  private lastT = 0;
  private tDelta = 0;
  private vHi = 0;
  private vLo = 0;
  private leading = 0xff;
  private trailing = 0;
  /** Integer mode: values as delta-of-delta of integers, until a value that is not one. */
  private intMode = false;
  private vInt = 0;
  private vDelta = 0;
  minT = Number.NaN;
  maxT = Number.NaN;

  constructor(initialBytes = 32) {
    this.w = new BitWriter(initialBytes);
    this.w.writeBits(XOR_CHUNK_VERSION, 8);
    this.w.writeBits(0, 16);
  }

  get numSamples(): number {
    return this.n;
  }

  /** Encoded bytes so far (a view: copy it to keep it past the next append). */
  bytes(): Uint8Array {
    return this.w.bytes();
  }

  /** Encoded bytes so far, without making a view. */
  get byteLength(): number {
    return this.w.byteLength;
  }

  /** Bytes allocated, for memory accounting. */
  get capacity(): number {
    return this.w.capacity;
  }

  /** Exact-size copy of the encoded bytes, for a chunk that will take no more samples. */
  seal(): Uint8Array {
    return this.w.bytes().slice();
  }

  /**
   * Appends one sample. Throws on a timestamp not after the last one or a full chunk: the caller
   * orders samples and cuts chunks, so either is a broken invariant.
   */
  append(t: number, v: number, stale = false): void {
    if (this.n >= XOR_MAX_SAMPLES) throw new Error(`xor chunk full (${XOR_MAX_SAMPLES} samples)`);
    if (this.n > 0 && !(t > this.lastT)) throw new Error(`xor chunk append out of order: ${t} after ${this.lastT}`);
    if (!Number.isSafeInteger(t)) throw new Error(`xor chunk timestamp ${t} is not a safe integer`);
    let hi: number;
    let lo: number;
    if (stale) {
      hi = STALE_HI;
      lo = STALE_LO;
    } else if (v !== v) {
      hi = NAN_HI;
      lo = 0;
    } else {
      f64[0] = v;
      hi = u32[HI]!;
      lo = u32[LO]!;
    }
    const w = this.w;
    const int = !stale && isSmallInt(v);
    if (this.n === 0) {
      w.writeUvarint(t >= 0 ? t * 2 : -t * 2 - 1);
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
      w.writeBit(int ? 1 : 0);
      this.intMode = int;
      this.vInt = v;
      this.vDelta = 0;
      this.minT = t;
    } else {
      const delta = t - this.lastT;
      if (this.n === 1) w.writeUvarint(delta);
      else this.writeDod(delta - this.tDelta);
      this.tDelta = delta;
      if (this.intMode && int) {
        this.writeIntValue(v);
      } else {
        if (this.intMode) {
          // Escape: from here on the chunk is XOR-encoded, starting from the last integer's bits.
          this.w.writeBits(0b111111, 6);
          this.intMode = false;
        }
        this.writeValue(hi, lo);
      }
    }
    this.lastT = t;
    this.maxT = t;
    this.vHi = hi;
    this.vLo = lo;
    this.n++;
    w.setByte(1, this.n >>> 8);
    w.setByte(2, this.n);
  }

  private writeDod(dod: number): void {
    const w = this.w;
    if (dod === 0) {
      w.writeBit(0);
    } else if (dod >= -8191 && dod <= 8192) {
      w.writeBits(0b10, 2);
      w.writeBits(dod < 0 ? dod + 16384 : dod, 14);
    } else if (dod >= -65535 && dod <= 65536) {
      w.writeBits(0b110, 3);
      w.writeBits(dod < 0 ? dod + 131072 : dod, 17);
    } else if (dod >= -524287 && dod <= 524288) {
      w.writeBits(0b1110, 4);
      w.writeBits(dod < 0 ? dod + 1048576 : dod, 20);
    } else {
      w.writeBits(0b1111, 4);
      const hi = Math.floor(dod / TWO_32);
      w.writeBits(hi >>> 0, 32);
      w.writeBits((dod - hi * TWO_32) >>> 0, 32);
    }
  }

  private writeIntValue(v: number): void {
    const w = this.w;
    const delta = v - this.vInt;
    const dod = delta - this.vDelta;
    this.vInt = v;
    this.vDelta = delta;
    // Both values are within ±2^49, so dod is within ±2^51 and its zigzag at most 2^52: exact, 53 bits.
    const zz = dod >= 0 ? dod * 2 : -dod * 2 - 1;
    if (zz === 0) {
      w.writeBit(0);
    } else if (zz < 16) {
      w.writeBits(0b10, 2);
      w.writeBits(zz, 4);
    } else if (zz < 256) {
      w.writeBits(0b110, 3);
      w.writeBits(zz, 8);
    } else if (zz < 16384) {
      w.writeBits(0b1110, 4);
      w.writeBits(zz, 14);
    } else if (zz < TWO_32) {
      w.writeBits(0b11110, 5);
      w.writeBits(zz, 32);
    } else {
      w.writeBits(0b111110, 6);
      const hi = Math.floor(zz / TWO_32);
      w.writeBits(hi, 21);
      w.writeBits((zz - hi * TWO_32) >>> 0, 32);
    }
  }

  private writeValue(hi: number, lo: number): void {
    const w = this.w;
    const dHi = (hi ^ this.vHi) >>> 0;
    const dLo = (lo ^ this.vLo) >>> 0;
    if (dHi === 0 && dLo === 0) {
      w.writeBit(0);
      return;
    }
    w.writeBit(1);
    let leading = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    const trailing = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
    // The leading count has 5 bits on the wire; a smaller count only widens the window.
    if (leading > 31) leading = 31;
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      w.writeBit(0);
      writeWindow(w, dHi, dLo, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const sig = 64 - leading - trailing;
    w.writeBit(1);
    w.writeBits(leading, 5);
    // 64 significant bits do not fit in 6 bits; 0 stands for 64 (a window is never empty).
    w.writeBits(sig & 63, 6);
    writeWindow(w, dHi, dLo, trailing, sig);
  }
}

/** Writes bits [shift, shift + n) of the 64-bit value hi:lo. */
function writeWindow(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  let sHi: number;
  let sLo: number;
  if (shift === 0) {
    sHi = hi;
    sLo = lo;
  } else if (shift >= 32) {
    sHi = 0;
    sLo = hi >>> (shift - 32);
  } else {
    sHi = hi >>> shift;
    sLo = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
  }
  w.writeBits64(sHi, sLo, n);
}

/** Reads an XOR chunk. Reset it onto another chunk's bytes instead of making a new one. */
export class XorIterator implements ChunkIterator {
  private readonly r = new BitReader();
  private n = 0;
  private i = 0;
  private tDelta = 0;
  private vHi = 0;
  private vLo = 0;
  private leading = 0;
  private trailing = 0;
  private intMode = false;
  private vInt = 0;
  private vDelta = 0;
  t = Number.NaN;
  v = Number.NaN;
  stale = false;

  constructor(bytes?: Uint8Array) {
    if (bytes) this.reset(bytes);
  }

  reset(bytes: Uint8Array): void {
    if (bytes.length < XOR_HEADER_BYTES) throw new Error(`xor chunk of ${bytes.length} bytes has no header`);
    if (bytes[0] !== XOR_CHUNK_VERSION) throw new Error(`xor chunk version ${bytes[0]} is not ${XOR_CHUNK_VERSION}`);
    this.n = (bytes[1]! << 8) | bytes[2]!;
    this.r.reset(bytes, XOR_HEADER_BYTES);
    this.i = 0;
    this.t = Number.NaN;
    this.v = Number.NaN;
    this.stale = false;
  }

  /** Samples in the chunk, as its header says. */
  get numSamples(): number {
    return this.n;
  }

  next(): boolean {
    if (this.i >= this.n) return false;
    const r = this.r;
    if (this.i === 0) {
      const zz = r.readUvarint();
      this.t = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
      this.vHi = r.readBits(32);
      this.vLo = r.readBits(32);
      this.intMode = r.readBit() === 1;
      this.vDelta = 0;
      if (this.intMode) {
        u32[HI] = this.vHi;
        u32[LO] = this.vLo;
        this.vInt = f64[0]!;
      }
    } else {
      if (this.i === 1) this.tDelta = r.readUvarint();
      else this.tDelta += this.readDod();
      this.t += this.tDelta;
      if (this.intMode && this.readIntValue()) {
        this.i++;
        this.stale = false;
        this.v = this.vInt;
        return true;
      }
      this.readValue();
    }
    this.i++;
    if (this.intMode) {
      this.stale = false;
      this.v = this.vInt;
    } else if (this.vHi === STALE_HI && this.vLo === STALE_LO) {
      this.stale = true;
      this.v = Number.NaN;
    } else {
      this.stale = false;
      u32[HI] = this.vHi;
      u32[LO] = this.vLo;
      this.v = f64[0]!;
    }
    return true;
  }

  seek(tMs: number): boolean {
    if (this.i > 0 && this.t >= tMs) return true;
    while (this.next()) if (this.t >= tMs) return true;
    return false;
  }

  private readDod(): number {
    const r = this.r;
    if (r.readBit() === 0) return 0;
    if (r.readBit() === 0) return signed(r.readBits(14), 14);
    if (r.readBit() === 0) return signed(r.readBits(17), 17);
    if (r.readBit() === 0) return signed(r.readBits(20), 20);
    const hi = r.readBits(32) | 0;
    return hi * TWO_32 + r.readBits(32);
  }

  /** Reads an integer-mode value; false on the escape to XOR mode (the caller then reads XOR). */
  private readIntValue(): boolean {
    const r = this.r;
    let zz: number;
    if (r.readBit() === 0) zz = 0;
    else if (r.readBit() === 0) zz = r.readBits(4);
    else if (r.readBit() === 0) zz = r.readBits(8);
    else if (r.readBit() === 0) zz = r.readBits(14);
    else if (r.readBit() === 0) zz = r.readBits(32);
    else if (r.readBit() === 0) zz = r.readBits(21) * TWO_32 + r.readBits(32);
    else {
      this.intMode = false;
      f64[0] = this.vInt;
      this.vHi = u32[HI]!;
      this.vLo = u32[LO]!;
      return false;
    }
    const dod = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
    this.vDelta += dod;
    this.vInt += this.vDelta;
    return true;
  }

  private readValue(): void {
    const r = this.r;
    if (r.readBit() === 0) return;
    if (r.readBit() === 1) {
      this.leading = r.readBits(5);
      let sig = r.readBits(6);
      if (sig === 0) sig = 64;
      this.trailing = 64 - this.leading - sig;
    }
    const sig = 64 - this.leading - this.trailing;
    let hi = 0;
    let lo: number;
    if (sig > 32) {
      hi = r.readBits(sig - 32);
      lo = r.readBits(32);
    } else {
      lo = r.readBits(sig);
    }
    const s = this.trailing;
    if (s >= 32) {
      hi = lo << (s - 32);
      lo = 0;
    } else if (s > 0) {
      hi = (hi << s) | (lo >>> (32 - s));
      lo = lo << s;
    }
    this.vHi = (this.vHi ^ hi) >>> 0;
    this.vLo = (this.vLo ^ lo) >>> 0;
  }

  /** For tests only: the remaining samples as objects. */
  *[Symbol.iterator](): Generator<{ t: number; v: number; stale: boolean }> {
    while (this.next()) yield { t: this.t, v: this.v, stale: this.stale };
  }
}

/** Integers within ±2^49, so a delta-of-delta stays exact in a JS number; -0 goes through XOR to keep its sign bit. */
function isSmallInt(v: number): boolean {
  return Number.isInteger(v) && v <= 562949953421312 && v >= -562949953421312 && !Object.is(v, -0);
}

function signed(bits: number, n: number): number {
  const half = 2 ** (n - 1);
  return bits > half ? bits - 2 * half : bits;
}
