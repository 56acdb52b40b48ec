/**
 * Buffers of one size, taken and given back: the file source writes each read's records into
 * one, and the Kafka sink gives it back once the batch holding them is delivered or spooled.
 * A fresh buffer per read is memory the kernel must fault in and zero (about 150 MB for the
 * 100 MB of `npm run bench:collector`, the copy into it 2–3× slower than into a reused one).
 * A buffer never given back is simply collected.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    /** Most buffers kept for reuse. */
    private readonly maxFree: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** `b` must not be read or written by anyone after this. */
  give(b: Buffer): void {
    if (b.length === this.bufferBytes && this.free.length < this.maxFree) this.free.push(b);
  }
}
