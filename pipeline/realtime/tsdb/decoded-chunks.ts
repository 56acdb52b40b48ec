/**
 * A bounded cache of decoded chunks. A query over the last hours reads the same sealed chunks again
 * and again, and decoding them (bit by bit) was the largest cost of a dashboard's range query; a
 * sealed chunk never changes, so its samples are decoded once into flat arrays and kept while
 * memory allows. The open chunk is cached too, keyed by its sample count: it is decoded again only
 * after it took an append.
 *
 * Series scraped together carry the same timestamps, so a decoded chunk shares its timestamp
 * array with an equal one decoded before: half the memory, and the querier and the rate kernel
 * recognise shared timestamps by identity and do the per-timestamp work once for all such series.
 *
 * Eviction is CLOCK (second chance) over insertion order: a hit only sets a flag, so the read path
 * stays a single map lookup. Sizes are the arrays' bytes plus a fixed per-entry overhead; a shared
 * timestamp array is counted for the entry that decoded it.
 */
import { XorChunk, XorIterator } from '../chunk/xor-chunk.js';

/** A sealed chunk (immutable bytes) or the open one (read through bytes()). */
export type ChunkSource = { readonly bytes: Uint8Array; readonly numSamples: number } | XorChunk;

export interface DecodedChunk {
  readonly t: Float64Array;
  readonly v: Float64Array;
  /** 1 where the sample is an explicit staleness marker; null when the chunk has none. */
  readonly stale: Uint8Array | null;
}

interface Entry {
  decoded: DecodedChunk;
  /** Samples the source had when decoded (an open chunk grows). */
  numSamples: number;
  bytes: number;
  referenced: boolean;
}

/** Object header, map slot and the three typed array objects, roughly, in V8. */
const ENTRY_OVERHEAD_BYTES = 320;

export const DEFAULT_DECODED_CACHE_BYTES = 64 * 2 ** 20;

export class DecodedChunkCache {
  private readonly entries = new Map<object, Entry>();
  private used = 0;
  /** The last timestamp array decoded per first timestamp, to share equal ones. */
  private readonly timestamps = new Map<number, WeakRef<Float64Array>>();
  private readonly slab = new Slab();
  private readonly iter = new XorIterator();
  private scratch = new Float64Array(0);
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes = DEFAULT_DECODED_CACHE_BYTES) {}

  /** Bytes held by the cached arrays (and their entries). */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The chunk's samples. The arrays are shared: callers copy out of them, never write. */
  get(key: ChunkSource): DecodedChunk {
    const numSamples = key.numSamples;
    const e = this.entries.get(key);
    if (e !== undefined && e.numSamples === numSamples) {
      e.referenced = true;
      this.hits++;
      return e.decoded;
    }
    this.misses++;
    // Timestamps go to a scratch array first: most match an array decoded before and are not kept.
    const open = key instanceof XorChunk;
    this.iter.reset(open ? key.bytes() : key.bytes);
    const n = Math.min(numSamples, this.iter.numSamples);
    if (this.scratch.length < n) this.scratch = new Float64Array(Math.max(n, 2 * this.scratch.length));
    const scratch = this.scratch.subarray(0, n);
    // An open chunk's arrays are replaced at its next append: kept out of the slabs, so they do
    // not keep a slab of long-lived sealed chunks' arrays company.
    const alloc = (len: number): Float64Array => (open ? new Float64Array(len) : this.slab.alloc(len));
    const v = alloc(n);
    const stale = decodeInto(this.iter, scratch, v);
    let t = this.shared(scratch);
    const owns = t === scratch;
    if (owns) this.remember((t = alloc(n)), scratch);
    const decoded: DecodedChunk = { t, v, stale };
    if (e !== undefined) this.delete(key);
    this.put(key, decoded, numSamples, owns);
    return decoded;
  }

  /** Re-keys an entry (an open chunk sealed into an immutable one with the same samples). */
  rekey(from: object, to: object, numSamples: number): void {
    const e = this.entries.get(from);
    if (e === undefined) return;
    this.entries.delete(from);
    if (e.numSamples === numSamples) this.entries.set(to, e);
    else this.used -= e.bytes;
  }

  delete(key: object): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.used -= e.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }

  /** An equal timestamp array decoded before, if one is still alive; else `t` itself. */
  private shared(t: Float64Array): Float64Array {
    const n = t.length;
    if (n === 0) return t;
    const prev = this.timestamps.get(t[0]!)?.deref();
    if (prev !== undefined && prev.length === n && prev[n - 1] === t[n - 1]) {
      let i = 0;
      while (i < n && prev[i] === t[i]) i++;
      if (i === n) return prev;
    }
    return t;
  }

  /** Fills `t` from `from` and offers it for sharing. */
  private remember(t: Float64Array, from: Float64Array): void {
    t.set(from);
    if (t.length === 0) return;
    // Dead references accumulate as chunks leave; sweep them once the map outgrows the cache.
    if (this.timestamps.size > 2 * this.entries.size + 1024) {
      for (const [key, ref] of this.timestamps) if (ref.deref() === undefined) this.timestamps.delete(key);
    }
    this.timestamps.set(t[0]!, new WeakRef(t));
  }

  private put(key: object, decoded: DecodedChunk, numSamples: number, ownsTimestamps: boolean): void {
    const bytes = (ownsTimestamps ? decoded.t.byteLength : 0) + decoded.v.byteLength + (decoded.stale?.byteLength ?? 0) + ENTRY_OVERHEAD_BYTES;
    // A chunk larger than the whole budget is handed out but not kept.
    if (bytes > this.maxBytes) return;
    this.used += bytes;
    this.entries.set(key, { decoded, numSamples, bytes, referenced: false });
    this.evict();
  }

  private evict(): void {
    // Bounded: each entry gets at most one second chance per pass.
    let budget = 2 * this.entries.size;
    while (this.used > this.maxBytes && budget-- > 0) {
      const first = this.entries.entries().next();
      if (first.done) return;
      const [key, e] = first.value;
      this.entries.delete(key);
      if (e.referenced) {
        e.referenced = false;
        this.entries.set(key, e);
      } else {
        this.used -= e.bytes;
      }
    }
  }
}

/**
 * Hands out arrays cut from larger buffers: a typed array of its own costs a backing-store
 * allocation (and GC bookkeeping) apiece, which dominated decoding thousands of small chunks. A
 * buffer lives while any array cut from it does, so the budget is approximate; sealed chunks
 * decoded together (one query's range) tend to be evicted or truncated together.
 */
class Slab {
  private buf = new Float64Array(0);
  private used = 0;

  alloc(n: number): Float64Array {
    if (n > SLAB_LENGTH / 8) return new Float64Array(n);
    if (this.used + n > this.buf.length) {
      this.buf = new Float64Array(SLAB_LENGTH);
      this.used = 0;
    }
    const out = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

/** 64 KiB of float64s. */
const SLAB_LENGTH = 8192;

/**
 * Decodes the first t.length samples of the chunk `it` was just reset onto into t and v; returns
 * flags marking staleness markers (1 at their index), or null when there are none.
 */
function decodeInto(it: XorIterator, t: Float64Array, v: Float64Array): Uint8Array | null {
  const n = t.length;
  let stale: Uint8Array | null = null;
  for (let i = 0; i < n && it.next(); i++) {
    t[i] = it.t;
    v[i] = it.v;
    if (it.stale) (stale ??= new Uint8Array(n))[i] = 1;
  }
  return stale;
}
