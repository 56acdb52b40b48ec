/**
 * The file tail source: follows the files its globs match, one record per line, read by the
 * input's parser (collector/transforms/parser.ts: plain, json, logfmt or regex).
 *
 * Guarantees, in the order they matter:
 * - At least once. A file's checkpoint (offset and sequence number) advances only when the sink
 *   reports the records before that offset acknowledged by Kafka or fsynced in the disk spool
 *   (`commit`), paired with the fingerprint of the content they were read from, so a crash or a stop re-reads
 *   at most what was not yet acknowledged — with the same `pharos.seq` values, so the warehouse
 *   can tell the duplicates.
 * - Bounded memory. A file is read only while the sink has room (`send` awaits it: the files are
 *   the buffer when the bus is slow or down); a held partial line never exceeds max_line_bytes.
 * - A file is its identity (device + inode), not its path. A rename inside the globs keeps
 *   tailing the same file; a new inode at a known path is a rotation: the old file is read to its
 *   end (and one more poll, for late writes) before the new one starts, from byte 0, continuing
 *   the path's sequence numbers. At start, a file rotated away while the collector was down is
 *   found again beside its path by its identity and read to its end first. A file shorter than
 *   the read offset was truncated: read again from 0. A fingerprint of the first KiB guards
 *   against inode reuse across restarts.
 *
 * Files present at start with no checkpoint begin where `start_at` says; files that appear while
 * running are new content and are read from their beginning (Vector's file source does the same).
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { fstatSync, readSync, type Dirent } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import picomatch from 'picomatch';
import type { FileInputConfig } from '../../core/config/schema.js';
import type { Logger } from '../../core/log.js';
import { BufferPool } from '../../core/codec/buffer-pool.js';
import { EncodedLogsBuilder, encodeAttributeFields, type EncodedLogs } from '../../core/codec/encoded-logs.js';
import { nowNano, type Attributes, type LogRecord } from '../../core/model/records.js';
import {
  componentError,
  declareErrors,
  eventsReceived,
  fileEvent,
  filesWatched,
  invalidUtf8,
  lineTruncated,
  type ComponentTelemetry,
} from '../events.js';
import type { LineParser } from '../transforms/parser.js';
import { CheckpointStore, type FileCheckpoint } from './checkpoint-store.js';
import { MultilineAggregator, type MultilineRecord } from './multiline.js';
import { inputAttributeStamp, type AttributeStamp } from '../transforms/extra-attributes.js';
import { compileFilter, type LogFilter } from '../transforms/filter.js';
import type { RecordGate } from '../transforms/record-gate.js';
import type { Redactor } from '../transforms/redact.js';
import { detectSeverity, type Severity } from '../transforms/severity.js';
import { LineScanner, MAX_SCAN_BYTES, STRING_PATH, type ScannedLines } from './line-scan.js';

/** Records of one file, ending at a line boundary: what the sink acknowledges as a unit. */
export interface FileTailBatch {
  /** `<device>:<inode>` of the file the records were read from. */
  fileId: string;
  /** The records, redacted and in wire form (core/codec/encoded-logs.ts). */
  encoded: EncodedLogs;
  /** Raw bytes of the lines, for the sink's byte limits. */
  bytes: number;
  /** Offset just past the batch's last line: where a restart resumes once the batch is acknowledged. */
  endOffset: number;
}

/** Hands a batch downstream; resolves once there is room for it (backpressure), rejects if `signal` aborts first. */
export type FileTailSend = (batch: FileTailBatch, signal: AbortSignal) => Promise<void>;

export interface FileTailOptions {
  input: FileInputConfig;
  /** `host.name` of the records. */
  nodeName: string;
  pollMs: number;
  /** At most this many records per batch (the sink's max_records). */
  maxBatchRecords: number;
  checkpoints: CheckpointStore;
  /** The input's parser (`createLineParser`), built with the source's telemetry so its errors count per source. */
  parser: LineParser;
  /** Applied to every record before it is encoded: nothing unredacted leaves the source. */
  redactor?: Redactor | undefined;
  /** The collector's resource defaults and filters (with the input's own `filters`); absent: every record passes. */
  gate?: RecordGate | undefined;
  send: FileTailSend;
  telemetry: ComponentTelemetry;
  /** Relative globs resolve against this (default: the process's working directory). */
  cwd?: string;
}

const FINGERPRINT_BYTES = 1024;
const READ_CHUNK_BYTES = 64 * 1024;
/**
 * Idle record buffers kept for the next reads (a read's records fill one 128 KiB buffer): 16, of
 * the ~100 that two 16,000-record batches hold. In `npm run bench:collector` a pool holding them
 * all (8 MiB) ran 1.02× as fast for a peak RSS past 150 MB; 4 MiB (with 4,000-record batches)
 * ran no faster and peaked 6–10 MB higher than 2 MiB.
 */
const RECORD_BUFFERS_BYTES = 2 * 1024 * 1024;
/** Per file per pass, so one busy file cannot starve the others. */
const READ_BUDGET_BYTES = 1024 * 1024;
/** A file that could not be opened (permissions, a race with its removal) is tried again after this. */
const OPEN_RETRY_MS = 10_000;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

interface InFlight {
  /** Offset just past the batch's last line. */
  offset: number;
  /** Sequence number of the record after the batch. */
  seq: number;
  /**
   * The file's fingerprint when the batch was read. A truncation while the batch is in flight
   * changes the file's; the checkpoint must pair the offset with the content it belongs to, or a
   * restart would resume the new content at the old content's offset and skip lines.
   */
  fingerprint: Fingerprint;
}

interface TailedFile {
  id: string;
  path: string;
  name: string;
  fh: FileHandle | undefined;
  /** Next byte to read. */
  readOffset: number;
  /** Where the line being assembled starts. */
  lineStart: number;
  /** The held start of an unfinished line, at most max_line_bytes + 1 (room for a trailing CR). */
  held: Buffer[];
  heldBytes: number;
  /** Bytes of the unfinished line beyond what is held (dropped, the line will be truncated). */
  overflow: number;
  lastByte: number;
  /** Sequence number of the next record read from this file. */
  nextSeq: number;
  /** Read but not yet handed to the sink. */
  pending: EncodedLogsBuilder | undefined;
  pendingBytes: number;
  pendingEnd: number;
  /** Handed to the sink, awaiting acknowledgement, oldest first. */
  inFlight: InFlight[];
  fingerprint: Fingerprint;
  /** Size at the previous poll: the head is checked again only when it changed. */
  lastSize: number;
  /** Set when a sweep no longer finds this file at any matching path (removed or rotated away). */
  orphanedAt: number | undefined;
  /** The file this one replaced at its path: read only once that one is closed. */
  predecessor: TailedFile | undefined;
  /** True when this file takes its first sequence number from its predecessor. */
  inheritsSeq: boolean;
  closed: boolean;
  resource: Attributes;
  source: string;
  /** The attributes every record of this file carries before its seq, encoded once (plain lines' fast path). */
  fileAttributes: Buffer | undefined;
  /** Joins lines into records by the input's `multiline.start_pattern`; absent without one. */
  multiline: MultilineAggregator | undefined;
  /** Lines dropped by a filter since the last batch: a batch of none still moves the checkpoint past them. */
  droppedSinceEmit: number;
}

export class FileTailSource {
  private readonly files = new Map<string, TailedFile>();
  /** Closed files whose last batches are not acknowledged yet: their commits still move checkpoints. */
  private readonly draining = new Map<string, TailedFile>();
  private readonly openFailures = new Map<string, number>();
  private readonly globs: CompiledGlobs;
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  /** What batches' records are written into, given back by the sink once delivered (core/codec/buffer-pool.ts). */
  private readonly recordBuffers = new BufferPool(RECORD_BUFFERS_BYTES);
  /** When the lines being ended were read (records' observed time). */
  private observedAt = 0n;
  private readonly log: Logger;
  private readonly maxLineBytes: number;
  /** Plain lines become records straight from their bytes (see endWholeLine). */
  private readonly plainFastPath: boolean;
  /** Decides most plain lines from their bytes (line-scan.ts); undefined where it cannot. */
  private readonly lineScanner: LineScanner | undefined;
  private readonly inputFilter: LogFilter | undefined;
  private readonly inputAttributes: AttributeStamp | undefined;
  private readonly baseResource: Attributes;
  private firstSweepDone = false;

  constructor(private readonly opts: FileTailOptions) {
    this.globs = compileGlobs(opts.input.include, opts.input.exclude, opts.cwd);
    this.log = opts.telemetry.log;
    this.maxLineBytes = opts.input.max_line_bytes;
    this.inputFilter = compileFilter(opts.input.filters);
    this.inputAttributes = inputAttributeStamp(opts.input.attributes);
    this.baseResource = { 'service.name': opts.input.service, 'host.name': opts.nodeName };
    // Filters need a record to look at; joined lines are not one line's bytes.
    this.plainFastPath = opts.parser.name === 'plain' && opts.input.multiline === undefined && this.inputFilter === undefined && !(opts.gate?.filtering ?? false);
    // Configured redaction patterns need each line's string: no byte scan then.
    const redactor = opts.redactor;
    this.lineScanner = this.plainFastPath && (redactor === undefined || redactor.cleanWithout !== undefined) ? LineScanner.create({ secretWords: redactor?.cleanWithout }) : undefined;
    declareErrors(opts.telemetry, [
      { error_type: 'reader_failed', stage: 'receiving' },
      { error_type: 'acknowledgement_failed', stage: 'checkpointing' },
    ]);
  }

  get id(): string {
    return this.opts.telemetry.id;
  }

  /** Where each tailed file stands: for status pages, and for tests to await a read position. */
  status(): Array<{ id: string; path: string; readOffset: number; nextSeq: number; batchesInFlight: number }> {
    return [...this.files.values()].map((t) => ({ id: t.id, path: t.path, readOffset: t.readOffset, nextSeq: t.nextSeq, batchesInFlight: t.inFlight.length }));
  }

  /**
   * Tails until `signal` aborts. Resolves once reading stopped and file handles are closed; the
   * source keeps its per-file state so acknowledgements arriving later still move checkpoints.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { pollMs } = this.opts;
    const now = this.opts.telemetry.now;
    let nextSweep = 0;
    try {
      while (!signal.aborted) {
        if (now() >= nextSweep) {
          nextSweep = now() + pollMs;
          await this.sweep();
        }
        const more = await this.readAll(signal);
        if (signal.aborted) break;
        if (!more) await sleep(Math.max(1, nextSweep - now()), undefined, { signal }).catch(() => {});
      }
    } finally {
      for (const t of [...this.files.values(), ...this.draining.values()]) {
        const fh = t.fh;
        t.fh = undefined;
        await fh?.close().catch(() => {});
      }
    }
  }

  /**
   * The sink acknowledged `fileId`'s batch ending at `offset` (and, since acknowledgements come in
   * order, every earlier one): the checkpoint may move there.
   */
  commit(fileId: string, offset: number): void {
    // A file closed and found again can have batches in flight under both trackers; the older ones are acknowledged first.
    let t: TailedFile | undefined;
    let index = -1;
    for (const candidate of [this.draining.get(fileId), this.files.get(fileId)]) {
      index = candidate ? candidate.inFlight.findIndex((f) => f.offset === offset) : -1;
      if (index >= 0) {
        t = candidate;
        break;
      }
    }
    if (!t || index < 0) {
      // A broken invariant, but the data path must not stop for it: the checkpoint stays behind (re-read, never lost).
      componentError(this.opts.telemetry, { error_type: 'acknowledgement_failed', stage: 'checkpointing', error_code: 'internal' }, new Error('no batch in flight at that offset'), 'acknowledgement for an unknown batch: checkpoint not moved', { file_id: fileId, offset });
      return;
    }
    const acked = t.inFlight[index]!;
    t.inFlight.splice(0, index + 1);
    this.opts.checkpoints.set(t.id, { path: t.path, offset: acked.offset, seq: acked.seq, fingerprint: acked.fingerprint.hash, fingerprint_bytes: acked.fingerprint.bytes });
    if (t.closed && t.inFlight.length === 0) this.forget(t);
  }

  // --- discovery -------------------------------------------------------------------------

  private async sweep(): Promise<void> {
    const first = !this.firstSweepDone;
    const now = this.opts.telemetry.now();
    const found = new Map<string, string>();
    for (const path of await expandGlobs(this.globs)) {
      try {
        const st = await stat(path, { bigint: true });
        if (!st.isFile()) continue;
        const id = `${st.dev}:${st.ino}`;
        if (!found.has(id)) found.set(id, path);
      } catch {
        // Removed between listing and stat: the next sweep settles it.
      }
    }
    for (const t of this.files.values()) {
      const path = found.get(t.id);
      if (path === undefined) {
        t.orphanedAt ??= now;
      } else {
        t.orphanedAt = undefined;
        if (path !== t.path) {
          fileEvent(this.opts.telemetry, 'renamed', { path, file_id: t.id, from: t.path });
          this.setPath(t, path);
        }
      }
    }
    // Before the files found at the paths: a file that replaced one rotated away follows it.
    if (first) await this.resumeRotatedAway(found);
    for (const [id, path] of found) {
      if (this.files.has(id)) continue;
      const retryAt = this.openFailures.get(id);
      if (retryAt !== undefined && now < retryAt) continue;
      // Another input of this collector already tails it: one reader per file, or lines would ship twice.
      if (!this.opts.checkpoints.claim(id, this.id)) continue;
      await this.add(id, path, first);
    }
    this.firstSweepDone = true;
    filesWatched(this.opts.telemetry, this.files.size);
  }

  /**
   * Files rotated away while the collector was down: the checkpoint of one of this input's paths
   * whose file is no longer at a matching path, found again by device and inode under a rotated
   * name beside it (`app.log.1`, `app.log-20261206`) with lines past the checkpoint. It is read
   * from there to its end under its old path and sequence, before the file now at the path (the
   * rotation's successor). Without this, the lines written between the last checkpoint and the
   * rotation were lost: test/chaos, whose restart overlaps a rotation, lost ~800 when the
   * collector happened to start after the rename.
   */
  private async resumeRotatedAway(found: Map<string, string>): Promise<void> {
    const ours = (p: string) => this.globs.include.some((g) => g.match(p)) && !this.globs.exclude(p);
    const byDir = new Map<string, Array<[string, FileCheckpoint]>>();
    for (const [id, cp] of this.opts.checkpoints.list()) {
      if (found.has(id) || this.files.has(id) || !ours(cp.path)) continue;
      const dir = dirname(cp.path);
      byDir.set(dir, [...(byDir.get(dir) ?? []), [id, cp]]);
    }
    for (const [dir, checkpoints] of byDir) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const [id, cp] of checkpoints) {
        const base = basename(cp.path);
        for (const name of names) {
          if (name === base || !name.startsWith(base)) continue;
          const at = join(dir, name);
          const st = await stat(at, { bigint: true }).catch(() => undefined);
          if (!st?.isFile() || `${st.dev}:${st.ino}` !== id || Number(st.size) <= cp.offset) continue;
          if (!this.opts.checkpoints.claim(id, this.id)) break;
          await this.add(id, cp.path, false, at);
          const t = this.files.get(id);
          // Not at a matching path: read to its end, then closed, and its successor starts.
          if (t) t.orphanedAt = this.opts.telemetry.now();
          break;
        }
      }
    }
  }

  /** Starts tailing file `id` as `path`; `openAt`: where it is now, when that is a rotated name. */
  private async add(id: string, path: string, firstSweep: boolean, openAt = path): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(openAt, 'r');
      const st = await fh.stat({ bigint: true });
      if (`${st.dev}:${st.ino}` !== id) {
        // Replaced between the sweep's stat and open: not an error, the next sweep finds the new file.
        await fh.close();
        this.opts.checkpoints.release(id, this.id);
        return;
      }
      const size = Number(st.size);
      const fingerprint = await fingerprintOf(fh, Math.min(size, FINGERPRINT_BYTES));
      const cp = this.opts.checkpoints.get(id);
      const predecessor = [...this.files.values()].find((o) => o.path === path && o.orphanedAt !== undefined);
      let offset = 0;
      let seq = Math.max(this.opts.checkpoints.nextSeqForPath(path), this.liveSeqForPath(path));
      let how: string;
      if (cp && (await fingerprintMatches(fh, size, cp))) {
        offset = cp.offset <= size ? cp.offset : 0;
        seq = cp.seq;
        how = cp.offset <= size ? 'checkpoint' : 'checkpoint_beyond_end';
      } else if (cp) {
        how = 'fingerprint_changed';
      } else if (predecessor) {
        how = 'rotation';
      } else if (firstSweep) {
        offset = this.opts.input.start_at === 'end' ? size : 0;
        how = `start_at_${this.opts.input.start_at}`;
      } else {
        how = 'new_file';
      }
      const t: TailedFile = {
        id,
        path,
        name: basename(path),
        fh,
        readOffset: offset,
        lineStart: offset,
        held: [],
        heldBytes: 0,
        overflow: 0,
        lastByte: -1,
        nextSeq: seq,
        pending: undefined,
        pendingBytes: 0,
        pendingEnd: offset,
        inFlight: [],
        fingerprint,
        lastSize: -1,
        orphanedAt: undefined,
        predecessor,
        inheritsSeq: how === 'rotation',
        closed: false,
        resource: this.opts.gate?.resource(this.baseResource) ?? this.baseResource,
        fileAttributes: undefined,
        multiline: this.opts.input.multiline ? new MultilineAggregator(this.opts.input.multiline, this.maxLineBytes) : undefined,
        droppedSinceEmit: 0,
        source: `file:${path}`,
      };
      this.files.set(id, t);
      this.openFailures.delete(id);
      // Recorded at once (a start position, not progress), so a file that stays silent until after a restart is
      // not taken for new there: start_at end would skip the lines written meanwhile.
      this.opts.checkpoints.set(id, { path, offset, seq, fingerprint: fingerprint.hash, fingerprint_bytes: fingerprint.bytes });
      fileEvent(this.opts.telemetry, how === 'checkpoint' ? 'resumed' : predecessor ? 'rotated' : 'added', {
        path,
        file_id: id,
        offset,
        seq,
        start: how,
        ...(predecessor ? { replaces: predecessor.id } : {}),
        ...(openAt !== path ? { rotated_to: openAt } : {}),
      });
    } catch (err) {
      await fh?.close().catch(() => {});
      this.opts.checkpoints.release(id, this.id);
      this.openFailures.set(id, this.opts.telemetry.now() + OPEN_RETRY_MS);
      componentError(this.opts.telemetry, { error_type: 'reader_failed', stage: 'receiving', error_code: 'internal' }, err, `cannot open ${path}: tried again in ${OPEN_RETRY_MS / 1000} s`, { path });
    }
  }

  private liveSeqForPath(path: string): number {
    let seq = 0;
    for (const t of [...this.files.values(), ...this.draining.values()]) if (t.path === path) seq = Math.max(seq, t.nextSeq);
    return seq;
  }

  private setPath(t: TailedFile, path: string): void {
    t.path = path;
    t.name = basename(path);
    t.source = `file:${path}`;
    t.fileAttributes = undefined;
  }

  // --- reading ---------------------------------------------------------------------------

  /** One pass over every file; true when some file has more to read right away. */
  private async readAll(signal: AbortSignal): Promise<boolean> {
    let more = false;
    for (const t of [...this.files.values()]) {
      if (signal.aborted) break;
      const before = t.predecessor;
      if (before) {
        if (!before.closed) continue;
        if (t.inheritsSeq) t.nextSeq = Math.max(t.nextSeq, before.nextSeq);
        t.predecessor = undefined;
      }
      try {
        if (await this.readFile(t, signal)) more = true;
        if (t.multiline?.due(this.opts.telemetry.now())) await this.finishRecord(t, signal);
      } catch (err) {
        if (signal.aborted) break;
        componentError(this.opts.telemetry, { error_type: 'reader_failed', stage: 'receiving' }, err, `cannot read ${t.path}: tried again at the next poll`, { path: t.path, file_id: t.id });
      }
    }
    return more;
  }

  private async readFile(t: TailedFile, signal: AbortSignal): Promise<boolean> {
    const fh = t.fh;
    if (!fh) return false;
    // Synchronous, as the reads below are (~1 µs on a local file): the promise API's stat cost
    // ~0.3 ms of the event loop per call while gzip jobs held the thread pool.
    const size = fstatSync(fh.fd).size;
    if (size !== t.lastSize) {
      // Shorter than what was read, or a different head (copytruncate, then written past our offset before
      // this poll): the content was replaced, read it again from the start.
      const replaced = size < t.readOffset || (t.fingerprint.bytes > 0 && (await fingerprintOf(fh, t.fingerprint.bytes)).hash !== t.fingerprint.hash);
      if (replaced) {
        await this.finishLine(t, signal);
        fileEvent(this.opts.telemetry, 'truncated', { path: t.path, file_id: t.id, size, offset: t.readOffset });
        t.readOffset = 0;
        t.lineStart = 0;
        t.pendingEnd = 0;
      }
      if (replaced || (t.fingerprint.bytes < FINGERPRINT_BYTES && size > t.fingerprint.bytes)) {
        t.fingerprint = await fingerprintOf(fh, Math.min(size, FINGERPRINT_BYTES));
      }
      t.lastSize = size;
    }
    let budget = READ_BUDGET_BYTES;
    // The unfinished line a read ended in, moved to the front of `this.buf` so the next read
    // completes it in place: every line of a chunk is then whole (no held pieces to join).
    let carried = 0;
    while (t.readOffset < size && budget > 0 && !signal.aborted) {
      // Synchronous on purpose: a 64 KiB read from the page cache takes ~20 µs, while the same
      // read through libuv's thread pool waited ~0.3 ms behind the producer's gzip jobs on this
      // 2-core machine, 400 ms of the 1.3 s `npm run bench:collector` run spent idle. The price:
      // a disk or network filesystem that stalls stalls the event loop too (as it stalls Fluent
      // Bit's or Vector's reader thread); one read is at most 64 KiB.
      const bytesRead = readSync(fh.fd, this.buf, carried, Math.min(this.buf.length - carried, size - t.readOffset), t.readOffset);
      if (bytesRead === 0) break;
      const start = t.readOffset - carried;
      t.readOffset += bytesRead;
      budget -= bytesRead;
      // `this.buf` is reused by the next read: scan() copies what it keeps, and leaves the unfinished line to carry.
      const chunk = this.buf.subarray(0, carried + bytesRead);
      carried = await this.scan(t, chunk, start, signal, chunk.length >> 1);
      if (carried > 0) chunk.copyWithin(0, chunk.length - carried);
      // A synchronous read never yields to I/O: let the sink's sends and acknowledgements (and
      // everything else on the event loop) in between chunks, or they wait a whole pass.
      await setImmediate();
    }
    if (carried > 0) this.hold(t, this.buf.subarray(0, carried));
    if (t.readOffset < size) return true;
    // Gone from every matching path and read to its end, one poll after we noticed: writers have moved on.
    const { orphanedAt } = t;
    if (orphanedAt !== undefined && this.opts.telemetry.now() - orphanedAt >= this.opts.pollMs) await this.close(t, signal);
    return false;
  }

  /**
   * Ends the lines of `chunk` (file offset `chunkStart`). The unfinished line after its last
   * newline is held, or, when it is at most `carryUpTo` bytes and nothing is held, left to the
   * caller to carry into the next read: returns its length then (else 0).
   */
  private async scan(t: TailedFile, chunk: Buffer, chunkStart: number, signal: AbortSignal, carryUpTo = 0): Promise<number> {
    let pos = 0;
    // One check for the whole lines: a newline never splits a UTF-8 character, so when they are
    // valid every one of them is too, and lines are decoded straight from the chunk. (The
    // unfinished line may end inside a character: it is checked once it is whole.)
    const linesEnd = chunk.lastIndexOf(LF) + 1;
    const valid = isUtf8(linesEnd === chunk.length ? chunk : chunk.subarray(0, linesEnd));
    // The lines of one read are observed together; one clock reading for them all.
    this.observedAt = nowNano();
    const scanner = this.lineScanner;
    if (valid && scanner !== undefined && chunk.length <= MAX_SCAN_BYTES) {
      const lines = scanner.scan(chunk);
      // Consecutive lines the scan decided are written together (writeRun); others one by one.
      let runFrom = -1;
      let runStart = 0;
      for (let i = 0; i < lines.count; i++) {
        const nl = lines.ends[i]!;
        const whole = this.isWholeLine(t, chunk, pos, nl, chunkStart);
        if (whole && lines.verdicts[i] !== STRING_PATH) {
          if (runFrom < 0) {
            runFrom = i;
            runStart = pos;
          }
        } else {
          if (runFrom >= 0) await this.writeRun(t, scanner, lines, chunk, runFrom, i, runStart, chunkStart, signal);
          runFrom = -1;
          if (whole) this.endWholeLine(t, chunk, pos, nl, chunkStart + nl + 1);
          else this.endLine(t, chunk.subarray(pos, nl), chunkStart + nl + 1);
          if ((t.pending?.count ?? 0) >= this.opts.maxBatchRecords) await this.emit(t, signal);
        }
        pos = nl + 1;
      }
      if (runFrom >= 0) await this.writeRun(t, scanner, lines, chunk, runFrom, lines.count, runStart, chunkStart, signal);
    }
    while (pos < linesEnd) {
      const nl = chunk.indexOf(LF, pos);
      if (valid && this.isWholeLine(t, chunk, pos, nl, chunkStart)) {
        this.endWholeLine(t, chunk, pos, nl, chunkStart + nl + 1);
      } else {
        this.endLine(t, chunk.subarray(pos, nl), chunkStart + nl + 1);
      }
      pos = nl + 1;
      if ((t.pending?.count ?? 0) >= this.opts.maxBatchRecords) await this.emit(t, signal);
    }
    // Handed over after every read: a stop aborts reading at the next chunk, and what was read
    // and handed over is still delivered by the sink's final flush. (Handing over only once a
    // file was read to its end made fuller batches, but a stop then refused a whole pass of
    // read lines; with the file rotated while the collector was down, test/chaos lost them.)
    if (this.hasPending(t)) await this.emit(t, signal);
    const rest = chunk.length - linesEnd;
    if (rest > 0 && rest <= carryUpTo && t.heldBytes === 0 && t.overflow === 0) return rest;
    this.hold(t, chunk.subarray(linesEnd));
    return 0;
  }

  /**
   * The line at `chunk[pos, nl)` is all there is of it (nothing held from an earlier read), within
   * the length limit, and not the file's first line with a byte order mark: endWholeLine's case.
   */
  private isWholeLine(t: TailedFile, chunk: Buffer, pos: number, nl: number, chunkStart: number): boolean {
    return t.heldBytes === 0 && t.overflow === 0 && nl - pos <= this.maxLineBytes && (chunkStart + pos !== 0 || chunk[pos] !== 0xef);
  }

  /** Keeps the start of an unfinished line, up to the limit; counts the rest. */
  private hold(t: TailedFile, bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = Math.max(0, this.maxLineBytes + 1 - t.heldBytes);
    if (room > 0) {
      const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
      t.held.push(Buffer.from(kept));
      t.heldBytes += kept.length;
    }
    t.overflow += Math.max(0, bytes.length - room);
    t.lastByte = bytes[bytes.length - 1]!;
  }

  /**
   * The common line: whole in `chunk` at [start, end), valid UTF-8, within the length limit, no
   * byte order mark. The same outcome as endLine, without a Buffer view per line.
   */
  private endWholeLine(t: TailedFile, chunk: Buffer, start: number, end: number, endOffset: number): void {
    const total = end - start;
    const length = total > 0 && chunk[end - 1] === CR ? total - 1 : total;
    const body = chunk.toString('utf8', start, start + length);
    if (this.plainFastPath && (this.opts.redactor?.isClean(body) ?? true)) {
      this.addPlainLine(t, chunk, start, end, endOffset, detectSeverity(body));
      return;
    }
    this.pushLine(t, body, total, endOffset, false, false);
  }

  /**
   * Records of the scanned lines [from, to) of `chunk`, all decided by the scan, line `from`
   * starting at `start`: written by the scanner's WebAssembly writer in as few calls as the
   * batch size allows, with the same bookkeeping as addPlainLine line by line.
   */
  private async writeRun(t: TailedFile, scanner: LineScanner, lines: ScannedLines, chunk: Buffer, from: number, to: number, start: number, chunkStart: number, signal: AbortSignal): Promise<void> {
    t.fileAttributes ??= encodeAttributeFields(this.fileAttributes(t));
    const ends = lines.ends;
    while (from < to) {
      const builder = this.pendingFor(t);
      const upTo = Math.min(to, from + Math.max(1, this.opts.maxBatchRecords - builder.count));
      let written = scanner.writeRecords(builder, from, upTo, start, t.nextSeq, t.fileAttributes, this.observedAt);
      if (written === 0) {
        // Attributes too long for the writer: line by line.
        const verdicts = lines.verdicts;
        for (let i = from, s = start; i < upTo; s = ends[i]! + 1, i++) this.addPlainLine(t, chunk, s, ends[i]!, chunkStart + ends[i]! + 1, scanner.severities[verdicts[i]!]!);
        written = upTo - from;
      } else {
        const last = ends[from + written - 1]!;
        t.nextSeq += written;
        // Each line's bytes without its '\n'.
        t.pendingBytes += last - start - (written - 1);
        t.lineStart = chunkStart + last + 1;
        t.pendingEnd = t.lineStart;
      }
      from += written;
      start = ends[from - 1]! + 1;
      if (builder.count >= this.opts.maxBatchRecords) await this.emit(t, signal);
    }
  }

  /** The record a plain parser makes of a clean line at `chunk[start, end)`, written from the line's bytes (no record object). */
  private addPlainLine(t: TailedFile, chunk: Buffer, start: number, end: number, endOffset: number, severity: Severity): void {
    const total = end - start;
    const length = total > 0 && chunk[end - 1] === CR ? total - 1 : total;
    t.fileAttributes ??= encodeAttributeFields(this.fileAttributes(t));
    this.pendingFor(t).addPlain(chunk, start, start + length, severity, t.fileAttributes, t.nextSeq++, this.observedAt);
    t.lineStart = endOffset;
    t.pendingEnd = endOffset;
    t.pendingBytes += total;
  }

  private pendingFor(t: TailedFile): EncodedLogsBuilder {
    // Sized for a full read chunk of short lines: growing copies everything written so far.
    return (t.pending ??= new EncodedLogsBuilder(t.resource, READ_CHUNK_BYTES * 2, this.recordBuffers));
  }

  /**
   * Stamped on every record of `t` after what the parser found: the input's `attributes`, then
   * Pharos's own, which a parsed or configured field cannot fake.
   */
  private fileAttributes(t: TailedFile): Attributes {
    const out: Attributes = {};
    this.inputAttributes?.(out);
    out['log.file.path'] = t.path;
    out['log.file.name'] = t.name;
    out['pharos.source'] = t.source;
    return out;
  }

  /** A completed line of `total` bytes (newline excluded) ending at `endOffset` becomes a pending record. */
  private pushLine(t: TailedFile, body: string, total: number, endOffset: number, truncated: boolean, invalid: boolean): void {
    const lineStart = t.lineStart;
    t.lineStart = endOffset;
    if (t.multiline) {
      // Records end only where the aggregator closes them: the batch's end offset (the checkpoint)
      // never passes the start of an unfinished record, which a restart reads again whole.
      for (const r of t.multiline.push({ text: body, startOffset: lineStart, endOffset, truncated, invalid }, this.opts.telemetry.now())) this.pushJoined(t, r);
      return;
    }
    t.pendingEnd = endOffset;
    t.pendingBytes += total;
    this.addRecord(t, this.record(t, body, truncated, invalid));
  }

  private pushJoined(t: TailedFile, r: MultilineRecord): void {
    if (r.droppedBytes > 0) lineTruncated(this.opts.telemetry, { path: t.path, offset: r.startOffset, maxLineBytes: this.maxLineBytes, droppedBytes: r.droppedBytes });
    t.pendingEnd = r.endOffset;
    t.pendingBytes += r.endOffset - r.startOffset;
    this.addRecord(t, this.record(t, r.body, r.truncated, r.invalid));
  }

  /** The multiline record in progress ships as it is (its timeout passed, or its file ended). */
  private async finishRecord(t: TailedFile, signal: AbortSignal): Promise<void> {
    const r = t.multiline?.flush();
    if (r === undefined) return;
    this.observedAt = nowNano();
    this.pushJoined(t, r);
    await this.emit(t, signal);
  }

  /** Filters, then numbers, redacts and encodes `record`: a dropped record takes no sequence number. */
  private addRecord(t: TailedFile, record: LogRecord): void {
    const admitted = this.opts.gate ? this.opts.gate.admit(record, this.inputFilter) : this.inputFilter?.decide(record) === undefined;
    if (!admitted) {
      t.droppedSinceEmit++;
      return;
    }
    record.attributes['pharos.seq'] = t.nextSeq++;
    this.opts.redactor?.redactRecords([record]);
    this.pendingFor(t).add(record);
  }

  /** Records to hand over, or dropped lines whose offsets the checkpoint should move past. */
  private hasPending(t: TailedFile): boolean {
    return (t.pending?.count ?? 0) > 0 || t.droppedSinceEmit > 0;
  }

  /** Completes the line that ends with `tail` (its newline excluded) at `endOffset`. */
  private endLine(t: TailedFile, tail: Buffer, endOffset: number): void {
    let line: Buffer;
    let total: number;
    let last: number;
    if (t.heldBytes === 0 && t.overflow === 0) {
      line = tail;
      total = tail.length;
      last = total > 0 ? tail[total - 1]! : -1;
    } else {
      this.hold(t, tail);
      line = t.held.length === 1 ? t.held[0]! : Buffer.concat(t.held, t.heldBytes);
      total = t.heldBytes + t.overflow;
      last = t.lastByte;
    }
    const lineStart = t.lineStart;
    let length = last === CR ? total - 1 : total;
    let from = 0;
    if (lineStart === 0 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf) from = 3; // UTF-8 byte order mark
    let truncated = false;
    if (length - from > this.maxLineBytes) {
      const cut = utf8Boundary(line, Math.min(from + this.maxLineBytes, line.length));
      lineTruncated(this.opts.telemetry, { path: t.path, offset: lineStart, maxLineBytes: this.maxLineBytes, droppedBytes: length - cut });
      length = cut;
      truncated = true;
    }
    const bytes = line.subarray(from, length);
    let body: string;
    let invalid = false;
    if (isUtf8(bytes)) {
      body = bytes.toString('utf8');
    } else {
      body = lenientUtf8.decode(bytes);
      invalid = true;
      invalidUtf8(this.opts.telemetry, { path: t.path, offset: lineStart });
    }
    t.held = [];
    t.heldBytes = 0;
    t.overflow = 0;
    t.lastByte = -1;
    this.pushLine(t, body, total, endOffset, truncated, invalid);
  }

  private record(t: TailedFile, line: string, truncated: boolean, invalid: boolean): LogRecord {
    const attributes: Attributes = {};
    const parsed = this.opts.parser.parse(line, attributes);
    this.inputAttributes?.(attributes);
    attributes['log.file.path'] = t.path;
    attributes['log.file.name'] = t.name;
    attributes['pharos.source'] = t.source;
    if (truncated) attributes['log.truncated'] = true;
    if (invalid) attributes['log.invalid_utf8'] = true;
    return {
      timeUnixNano: parsed.timeUnixNano,
      observedTimeUnixNano: this.observedAt,
      severityNumber: parsed.severity.number,
      severityText: parsed.severity.text,
      body: parsed.body,
      resource: t.resource,
      attributes,
      traceId: '',
      spanId: '',
      flags: 0,
    };
  }

  private async emit(t: TailedFile, signal: AbortSignal): Promise<void> {
    const encoded = t.pending?.finish() ?? { resource: t.resource, bytes: EMPTY, ends: [] };
    const batch: FileTailBatch = { fileId: t.id, encoded, bytes: t.pendingBytes, endOffset: t.pendingEnd };
    t.pending = undefined;
    t.pendingBytes = 0;
    t.droppedSinceEmit = 0;
    const inFlight: InFlight = { offset: batch.endOffset, seq: t.nextSeq, fingerprint: t.fingerprint };
    // Registered before handing over: the acknowledgement may come before send() returns.
    t.inFlight.push(inFlight);
    try {
      await this.opts.send(batch, signal);
    } catch (err) {
      t.inFlight.splice(t.inFlight.indexOf(inFlight), 1);
      throw err;
    }
    eventsReceived(this.opts.telemetry, batch.encoded.ends.length, batch.bytes);
  }

  /** A line that will never get its newline (file truncated or gone) is shipped as it is. */
  private async finishLine(t: TailedFile, signal: AbortSignal): Promise<void> {
    this.observedAt = nowNano();
    if (t.heldBytes + t.overflow > 0) this.endLine(t, EMPTY, t.readOffset);
    const rest = t.multiline?.flush();
    if (rest) this.pushJoined(t, rest);
    if (this.hasPending(t)) await this.emit(t, signal);
  }

  private async close(t: TailedFile, signal: AbortSignal): Promise<void> {
    await this.finishLine(t, signal);
    const fh = t.fh;
    t.fh = undefined;
    t.closed = true;
    this.files.delete(t.id);
    filesWatched(this.opts.telemetry, this.files.size);
    if (t.inFlight.length > 0) this.draining.set(t.id, t);
    else this.forget(t);
    await fh?.close().catch(() => {});
    fileEvent(this.opts.telemetry, 'removed', { path: t.path, file_id: t.id, offset: t.readOffset, seq: t.nextSeq });
  }

  private forget(t: TailedFile): void {
    if (this.draining.get(t.id) === t) this.draining.delete(t.id);
    if (!this.files.has(t.id)) this.opts.checkpoints.release(t.id, this.id);
  }
}

// --- UTF-8 and fingerprints --------------------------------------------------------------------

/** The largest cut ≤ `at` that does not split a UTF-8 sequence (a cut mid-character would read as invalid). */
function utf8Boundary(bytes: Buffer, at: number): number {
  let cut = at;
  // Continuation bytes are 10xxxxxx; a sequence is at most 4 bytes long.
  while (cut > at - 3 && cut > 0 && cut < bytes.length && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

interface Fingerprint {
  bytes: number;
  hash: string;
}

async function fingerprintOf(fh: FileHandle, length: number): Promise<Fingerprint> {
  const head = Buffer.alloc(length);
  const { bytesRead } = length > 0 ? await fh.read(head, 0, length, 0) : { bytesRead: 0 };
  return { bytes: bytesRead, hash: createHash('sha256').update(head.subarray(0, bytesRead)).digest('hex').slice(0, 32) };
}

async function fingerprintMatches(fh: FileHandle, size: number, cp: FileCheckpoint): Promise<boolean> {
  if (size < cp.fingerprint_bytes) return false;
  return (await fingerprintOf(fh, cp.fingerprint_bytes)).hash === cp.fingerprint;
}

// --- globs ---------------------------------------------------------------------------------------

interface CompiledGlobs {
  include: Array<{ base: string; depth: number; literal: string | undefined; match: (path: string) => boolean }>;
  exclude: (path: string) => boolean;
}

/** `**` may descend this deep (symlinked directories are never followed, so no cycles). */
const MAX_GLOBSTAR_DEPTH = 16;

export function compileGlobs(include: readonly string[], exclude: readonly string[], cwd = process.cwd()): CompiledGlobs {
  const excluders = exclude.map((p) =>
    // A pattern without a slash names files wherever they are (`*.gz`), as in .gitignore.
    // One starting with `**/` matches at any depth of an absolute path as it is.
    p.includes('/') ? picomatch(p.startsWith('**/') ? p : resolve(cwd, p), { dot: true }) : picomatch(p, { dot: true, basename: true }),
  );
  return {
    include: include.map((pattern) => {
      const abs = resolve(cwd, pattern);
      const scan = picomatch.scan(abs);
      if (!scan.isGlob) return { base: dirname(abs), depth: 1, literal: abs, match: (p: string) => p === abs };
      return {
        base: scan.base || '/',
        depth: scan.glob.includes('**') ? MAX_GLOBSTAR_DEPTH : scan.glob.split('/').length,
        literal: undefined,
        match: picomatch(abs, { dot: true }),
      };
    }),
    exclude: (p) => excluders.some((m) => m(p)),
  };
}

/** Paths of the files the globs match now, sorted; unreadable or missing directories are skipped. */
export async function expandGlobs(globs: CompiledGlobs): Promise<string[]> {
  const out = new Set<string>();
  for (const g of globs.include) {
    if (g.literal !== undefined) {
      if (!globs.exclude(g.literal)) out.add(g.literal);
      continue;
    }
    await walk(g.base, g.depth, g.match, globs.exclude, out);
  }
  return [...out].sort();
}

async function walk(dir: string, levels: number, match: (p: string) => boolean, exclude: (p: string) => boolean, out: Set<string>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (levels > 1) await walk(p, levels - 1, match, exclude, out);
    } else if ((e.isFile() || e.isSymbolicLink()) && match(p) && !exclude(p)) {
      out.add(p);
    }
  }
}
