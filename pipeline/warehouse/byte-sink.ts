/**
 * A growable UTF-8 buffer that rows are written into as they are made, a few hundred at a time.
 *
 * Why not lines in an array and one join at the end: 50,000 live lines got promoted to the old
 * generation and garbage collection then cost more than building them (profiled). Why not one
 * write per line: each `buf.write` flattens its (concatenated) string and crosses into C++, about
 * 3 µs a line (profiled). A join of a few hundred lines and one write amortises both.
 *
 * Why a pool: a fresh multi-megabyte buffer per insert, grown by doubling, cost the writer 270 ms
 * of a 10 s drain of 500,000 rows in first-touch page faults and copies (profiled), and as much
 * again in garbage collection of the old ones. A sealed buffer goes back to its pool once
 * ClickHouse has answered its insert, and the next chunk is written into it.
 */
const ROWS_PER_WRITE = 256;

/** Free buffers for sinks; see the file comment. Not thread-shared: one per table handler. */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    /** Buffers kept at most; more are left to the garbage collector. */
    private readonly maxBuffers = 4,
  ) {}

  /** The largest free buffer if it holds `minBytes`, else a new one of `minBytes`. */
  take(minBytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) if (best < 0 || this.free[i]!.length > this.free[best]!.length) best = i;
    if (best >= 0 && this.free[best]!.length >= minBytes) return this.free.splice(best, 1)[0]!;
    return Buffer.allocUnsafe(minBytes);
  }

  /** Hands a buffer back; nothing may read or write it afterwards. */
  give(buf: Buffer): void {
    if (this.free.length < this.maxBuffers) {
      this.free.push(buf);
      return;
    }
    // Full: keep the larger ones, they are the ones a busy writer needs.
    let smallest = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
    if (this.free[smallest]!.length < buf.length) this.free[smallest] = buf;
  }

  /** Bytes held by free buffers (tests). */
  get freeBytes(): number {
    return this.free.reduce((n, b) => n + b.length, 0);
  }
}

export class ByteSink {
  private buf: Buffer;
  private used = 0;
  private pending: string[] = [];
  private pendingChars = 0;
  private released = false;
  /** Rows appended, written or not. */
  rows = 0;

  constructor(
    initialBytes = 256 * 1024,
    private readonly pool?: BufferPool,
  ) {
    this.buf = pool ? pool.take(initialBytes) : Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes so far, pending rows counted by UTF-16 length (exact for ASCII; only ever compared, never used as an offset). */
  get bytes(): number {
    return this.used + this.pendingChars;
  }

  /** Appends one row's text (its newline included). */
  append(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length;
    this.rows++;
    if (this.pending.length >= ROWS_PER_WRITE) this.flush();
  }

  /** The bytes of every row appended (a view, not a copy: the sink must not be written to afterwards). */
  seal(): Buffer {
    this.flush();
    return this.buf.subarray(0, this.used);
  }

  /**
   * Returns the buffer to the pool. Only once nothing reads the sealed view any more: for an
   * insert, after its promise settled (the engine holds the bytes until then).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool?.give(this.buf);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    // A UTF-16 unit is at most 3 UTF-8 bytes; only near the end is the exact length worth a scan.
    if (this.used + text.length * 3 > this.buf.length) {
      const need = this.used + Buffer.byteLength(text, 'utf8');
      if (need > this.buf.length) {
        const next = this.pool ? this.pool.take(Math.max(need, this.buf.length * 2)) : Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
        this.buf.copy(next, 0, 0, this.used);
        this.pool?.give(this.buf);
        this.buf = next;
      }
    }
    this.used += this.buf.write(text, this.used, 'utf8');
  }
}
