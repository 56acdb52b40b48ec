/**
 * The collector's disk spool: encoded batches Kafka did not take, kept in order until it does.
 *
 * - Append-only segment files `<first seq, 20 digits>.seg` of checksummed blocks (block-format.ts),
 *   a new segment once the active one passes `segment_bytes`.
 * - fsync policy: every append is fsynced (fdatasync) before it resolves, because resolving lets
 *   the file sources move their checkpoints past the batch. A new segment also fsyncs the directory.
 * - Bounded: an append that would take the live segments past `max_bytes` is refused (`false`),
 *   and the caller stops taking data: the files are the buffer, push endpoints answer 503.
 * - Replay: `peek()` gives the oldest batch not yet acknowledged, `ack(seq)` retires it. A segment
 *   whose every batch is acknowledged is deleted. The last acknowledged sequence number is kept in
 *   `head.json` (written on every ack, not fsynced: a stale head costs duplicates, never loss).
 * - Damage (a torn write at a crash, garbage, a bit flip) never stops the collector: a segment that
 *   fails a checksum is renamed `<name>.quarantined`, counted, and its valid blocks are still
 *   delivered; at most MAX_QUARANTINED such files are kept as evidence.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { spoolFull, spoolQuarantined, type SpoolTelemetry } from '../events.js';
import { encodeBlock, scanBlocks, type SpoolBatch, type SpooledBatch } from './block-format.js';

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  telemetry: SpoolTelemetry;
}

export type SegmentState = 'active' | 'sealed' | 'quarantined';

interface Segment {
  name: string;
  path: string;
  state: SegmentState;
  /** Bytes known to be whole on disk (appends completed); a reader never looks past this. */
  bytes: number;
  /** Valid, unacknowledged batches, for the gauges. */
  batches: number;
  firstSeq: number;
  lastSeq: number;
}

const SEGMENT_SUFFIX = '.seg';
const QUARANTINE_SUFFIX = '.quarantined';
const HEAD_FILE = 'head.json';
const MAX_QUARANTINED = 8;

export class DiskSpool {
  private readonly segments: Segment[] = [];
  private active: { segment: Segment; fh: FileHandle } | undefined;
  private nextSeq: number;
  private ackedSeq: number;
  /** Parsed, unacknowledged batches of the head segment, oldest first. */
  private readQueue: SpooledBatch[] = [];
  /** The head segment and how far into it `readQueue` was loaded. */
  private readFrom: { segment: Segment; offset: number } | undefined;
  private wasFull = false;
  /** Appends, reads and acks in call order (see `serial`). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly opts: SpoolOptions,
    ackedSeq: number,
  ) {
    this.ackedSeq = ackedSeq;
    this.nextSeq = ackedSeq + 1;
  }

  /** Opens `dir`, checking every segment: damaged ones are quarantined here, never a reason not to start. */
  static async open(opts: SpoolOptions): Promise<DiskSpool> {
    await mkdir(opts.dir, { recursive: true });
    const spool = new DiskSpool(opts, await readHead(opts.dir));
    await spool.load();
    return spool;
  }

  /** Bytes of the live segments (quarantined ones excluded), what `max_bytes` bounds. */
  get bytes(): number {
    return this.segments.reduce((n, s) => n + (s.state === 'quarantined' ? 0 : s.bytes), 0);
  }

  /** Batches spooled and not yet acknowledged. */
  get batches(): number {
    return this.segments.reduce((n, s) => n + s.batches, 0);
  }

  isEmpty(): boolean {
    return this.batches === 0;
  }

  /** False once an append was refused for room, until acknowledgements free some. */
  full(): boolean {
    return this.wasFull;
  }

  /**
   * Appends a batch and fsyncs it. Resolves true once it is durable, false when it does not fit
   * (nothing written). Appends are serialised, so they keep their call order.
   */
  append(batch: SpoolBatch): Promise<boolean> {
    return this.serial(() => this.appendNow(batch));
  }

  /** The oldest unacknowledged batch, or undefined when the spool is empty. */
  peek(): Promise<SpooledBatch | undefined> {
    return this.serial(async () => {
      for (;;) {
        const next = this.readQueue[0];
        if (next) return next;
        if (!(await this.loadMore())) return undefined;
      }
    });
  }

  /** Kafka acknowledged the batch `seq` (the one `peek` returned): it leaves the spool. */
  ack(seq: number): Promise<void> {
    return this.serial(() => this.ackNow(seq));
  }

  /** Appends, reads and acks touch the same files (a retired segment may be the one being appended to): one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async ackNow(seq: number): Promise<void> {
    const head = this.readQueue[0];
    if (!head || head.seq !== seq) throw new Error(`spool ack out of order: expected ${head?.seq ?? 'none'}, got ${seq}`);
    this.readQueue.shift();
    this.ackedSeq = seq;
    this.opts.telemetry.replayed.inc();
    const segment = this.readFrom!.segment;
    segment.batches--;
    if (segment.batches === 0 && this.readQueue.length === 0 && this.readFrom!.offset >= segment.bytes) await this.retire(segment);
    await writeHead(this.opts.dir, this.ackedSeq);
    if (this.wasFull && this.bytes < this.opts.maxBytes / 2) this.wasFull = false;
    this.publish();
  }

  async close(): Promise<void> {
    await this.queue;
    await this.active?.fh.close().catch(() => {});
    this.active = undefined;
  }

  // --- appending -----------------------------------------------------------------------------

  private async appendNow(batch: SpoolBatch): Promise<boolean> {
    const seq = this.nextSeq;
    const block = encodeBlock(seq, batch);
    // One batch always fits an empty spool, or a batch larger than max_bytes would stall the collector for good.
    if (this.wasFull || (this.bytes + block.length > this.opts.maxBytes && !this.isEmpty())) {
      if (!this.wasFull) spoolFull(this.opts.telemetry, { bytes: this.bytes, max_bytes: this.opts.maxBytes });
      this.wasFull = true;
      return false;
    }
    if (this.active && this.active.segment.bytes > 0 && this.active.segment.bytes + block.length > this.opts.segmentBytes) await this.seal();
    const { segment, fh } = this.active ?? (await this.startSegment(seq));
    await fh.write(block, 0, block.length, segment.bytes);
    await fh.datasync();
    this.nextSeq = seq + 1;
    if (segment.batches === 0) segment.firstSeq = seq;
    segment.bytes += block.length;
    segment.batches++;
    segment.lastSeq = seq;
    this.opts.telemetry.written.inc();
    this.publish();
    return true;
  }

  private async startSegment(seq: number): Promise<{ segment: Segment; fh: FileHandle }> {
    const name = `${String(seq).padStart(20, '0')}${SEGMENT_SUFFIX}`;
    const path = join(this.opts.dir, name);
    const fh = await open(path, 'w');
    await syncDir(this.opts.dir);
    const segment: Segment = { name, path, state: 'active', bytes: 0, batches: 0, firstSeq: seq, lastSeq: seq - 1 };
    this.segments.push(segment);
    this.active = { segment, fh };
    return this.active;
  }

  private async seal(): Promise<void> {
    const a = this.active;
    if (!a) return;
    this.active = undefined;
    a.segment.state = 'sealed';
    await a.fh.close();
  }

  // --- reading -------------------------------------------------------------------------------

  /** Loads the next unread blocks of the head segment; false when there are none. */
  private async loadMore(): Promise<boolean> {
    for (;;) {
      const segment = this.segments.find((s) => s.batches > 0);
      if (!segment) return false;
      const from = this.readFrom?.segment === segment ? this.readFrom.offset : 0;
      if (from >= segment.bytes) {
        // Every block was read and some are unaccounted for: the counts drifted (damage found late). Settle them.
        segment.batches = 0;
        await this.retire(segment);
        continue;
      }
      const buf = (await readFile(segment.path)).subarray(0, segment.bytes);
      const scan = scanBlocks(buf.subarray(from));
      if (scan.damagedBytes > 0 && segment.state !== 'quarantined') await this.quarantine(segment, scan.damagedBytes, scan.blocks.length);
      const fresh = scan.blocks.filter((b) => b.batch.seq > this.ackedSeq).map((b) => b.batch);
      this.readFrom = { segment, offset: segment.bytes };
      if (fresh.length === 0) {
        segment.batches = 0;
        await this.retire(segment);
        continue;
      }
      segment.batches = fresh.length;
      this.readQueue = fresh;
      return true;
    }
  }

  /** Deletes a segment whose batches are all acknowledged (a quarantined one stays as evidence). */
  private async retire(segment: Segment): Promise<void> {
    if (this.active?.segment === segment) await this.seal();
    const i = this.segments.indexOf(segment);
    if (i >= 0) this.segments.splice(i, 1);
    if (this.readFrom?.segment === segment) this.readFrom = undefined;
    if (segment.state !== 'quarantined') await unlink(segment.path).catch(() => {});
    this.publish();
  }

  private async quarantine(segment: Segment, damagedBytes: number, validBatches: number): Promise<void> {
    if (this.active?.segment === segment) await this.seal();
    const aside = `${segment.path}${QUARANTINE_SUFFIX}`;
    await rename(segment.path, aside);
    spoolQuarantined(this.opts.telemetry, { segment: segment.name, aside, damaged_bytes: damagedBytes, valid_batches: validBatches });
    segment.state = 'quarantined';
    segment.path = aside;
    await this.pruneQuarantined();
  }

  private async pruneQuarantined(): Promise<void> {
    const names = (await readdir(this.opts.dir)).filter((n) => n.endsWith(QUARANTINE_SUFFIX)).sort();
    const inUse = new Set(this.segments.filter((s) => s.state === 'quarantined').map((s) => s.path));
    for (const name of names.slice(0, Math.max(0, names.length - MAX_QUARANTINED))) {
      const path = join(this.opts.dir, name);
      if (!inUse.has(path)) await unlink(path).catch(() => {});
    }
  }

  // --- opening -------------------------------------------------------------------------------

  private async load(): Promise<void> {
    // Quarantined segments too: one set aside before a crash may still hold valid batches nobody delivered.
    const names = (await readdir(this.opts.dir)).filter((n) => n.endsWith(SEGMENT_SUFFIX) || n.endsWith(SEGMENT_SUFFIX + QUARANTINE_SUFFIX)).sort();
    for (const file of names) {
      const quarantined = file.endsWith(QUARANTINE_SUFFIX);
      const name = quarantined ? file.slice(0, -QUARANTINE_SUFFIX.length) : file;
      const path = join(this.opts.dir, file);
      const buf = await readFile(path);
      const scan = scanBlocks(buf);
      const fresh = scan.blocks.filter((b) => b.batch.seq > this.ackedSeq);
      const segment: Segment = {
        name,
        path,
        state: quarantined ? 'quarantined' : 'sealed',
        bytes: buf.length,
        batches: fresh.length,
        firstSeq: fresh[0]?.batch.seq ?? 0,
        lastSeq: fresh.at(-1)?.batch.seq ?? 0,
      };
      for (const b of scan.blocks) this.nextSeq = Math.max(this.nextSeq, b.batch.seq + 1);
      this.segments.push(segment);
      if (scan.damagedBytes > 0 && !quarantined) await this.quarantine(segment, scan.damagedBytes, scan.blocks.length);
      if (fresh.length === 0) await this.retire(segment);
    }
    if (this.batches > 0) this.opts.telemetry.log.info({ dir: this.opts.dir, batches: this.batches, bytes: this.bytes }, `spool holds ${this.batches} batch(es) from before the restart: delivering them first`);
    this.publish();
  }

  private publish(): void {
    const t = this.opts.telemetry;
    t.bytes.set(this.bytes);
    t.segments.set(this.segments.filter((s) => s.state !== 'quarantined').length);
    t.batches.set(this.batches);
  }
}

async function readHead(dir: string): Promise<number> {
  try {
    const head = JSON.parse(await readFile(join(dir, HEAD_FILE), 'utf8')) as { acked_seq?: unknown };
    return Number.isSafeInteger(head.acked_seq) ? (head.acked_seq as number) : 0;
  } catch {
    // Missing or damaged: every spooled batch is delivered again (duplicates, never loss).
    return 0;
  }
}

async function writeHead(dir: string, ackedSeq: number): Promise<void> {
  const tmp = join(dir, `${HEAD_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify({ acked_seq: ackedSeq }));
  await rename(tmp, join(dir, HEAD_FILE));
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the segment's own fsync still holds its data.
  } finally {
    await fh.close();
  }
}

/** What `pharos spool inspect` shows of one segment file. */
export interface SegmentSummary {
  name: string;
  state: SegmentState;
  bytes: number;
  batches: number;
  records: number;
  /** Batches at or below head.json's acknowledged sequence (delivered, not yet deleted). */
  acknowledgedBatches: number;
  oldestSeq: number | undefined;
  newestSeq: number | undefined;
  damagedBytes: number;
}

/**
 * Reads a spool directory without changing it (safe while a collector runs). The newest live
 * segment is reported `active`: it is the one a running collector appends to.
 */
export async function inspectSpool(dir: string): Promise<{ dir: string; ackedSeq: number; segments: SegmentSummary[] }> {
  await stat(dir);
  const ackedSeq = await readHead(dir);
  const names = (await readdir(dir)).filter((n) => n.endsWith(SEGMENT_SUFFIX) || n.endsWith(SEGMENT_SUFFIX + QUARANTINE_SUFFIX)).sort();
  const lastLive = names.filter((n) => n.endsWith(SEGMENT_SUFFIX)).at(-1);
  const segments: SegmentSummary[] = [];
  for (const name of names) {
    const scan = scanBlocks(await readFile(join(dir, name)));
    const state: SegmentState = name.endsWith(QUARANTINE_SUFFIX) ? 'quarantined' : name === lastLive ? 'active' : 'sealed';
    segments.push({
      name,
      state,
      bytes: (await stat(join(dir, name))).size,
      batches: scan.blocks.length,
      records: scan.blocks.reduce((n, b) => n + b.batch.records, 0),
      acknowledgedBatches: scan.blocks.filter((b) => b.batch.seq <= ackedSeq).length,
      oldestSeq: scan.blocks[0]?.batch.seq,
      newestSeq: scan.blocks.at(-1)?.batch.seq,
      damagedBytes: scan.damagedBytes,
    });
  }
  return { dir, ackedSeq, segments };
}
