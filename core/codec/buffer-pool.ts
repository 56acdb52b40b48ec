/**
 * Write buffers kept for reuse, by power-of-two size: what the collector's file sources encode
 * each read's records into (encoded-logs.ts), given back once the sink is done with them.
 *
 * Why: a fresh buffer per read is memory the kernel must fault in and zero, and the garbage
 * collector must find dead again. Copying 195 MB of records (one `npm run bench:collector`
 * round) into fresh 128 KiB buffers cost 17–75 ms against 7 ms into a reused set of them; in
 * the bench's profile that copy was ~60 ms of the collector's ~480 ms main thread.
 *
 * A buffer must be given back only when nothing reads it any more: one given back twice would
 * be written by two writers at once. The pool refuses a buffer it already holds, and anything
 * that is not a whole pooled allocation.
 */

/** Smallest size class: a smaller buffer is cheap to allocate and not worth keeping. */
const MIN_BYTES = 4096;

/** The size class holding `bytes`: the next power of two, at least MIN_BYTES. */
export function sizeClass(bytes: number): number {
  return bytes <= MIN_BYTES ? MIN_BYTES : 2 ** Math.ceil(Math.log2(bytes));
}

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  /** `maxBytes`: most bytes kept while unused; past it, given-back buffers are left to the garbage collector. */
  constructor(readonly maxBytes: number) {}

  /** Bytes held while unused. */
  get idleBytes(): number {
    return this.pooledBytes;
  }

  /** A buffer of at least `bytes` (its size class), reused when one is free; its contents are arbitrary. */
  take(bytes: number): Buffer {
    const size = sizeClass(bytes);
    const b = this.free.get(size)?.pop();
    if (b !== undefined) {
      this.pooledBytes -= size;
      return b;
    }
    // Slow: a buffer of its own (not a slice of Node's shared pool), so it can be given back whole.
    return Buffer.allocUnsafeSlow(size);
  }

  /** Keeps `b` for a later `take`; the caller must not touch it again. */
  give(b: Buffer): void {
    const size = b.length;
    if (size !== sizeClass(size) || b.byteOffset !== 0 || b.buffer.byteLength !== size) return;
    if (this.pooledBytes + size > this.maxBytes) return;
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    if (list.includes(b)) return;
    list.push(b);
    this.pooledBytes += size;
  }
}
