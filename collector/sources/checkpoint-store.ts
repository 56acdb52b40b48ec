/**
 * The file sources' checkpoints: one entry per file identity (`<device>:<inode>`), shared by
 * every file source of the collector, in `<data_dir>/collector/`. Two files, for two ways of dying:
 *
 * - `checkpoints.json`, rewritten after every acknowledged batch (`save`), without fsync,
 *   synchronously. A killed process loses nothing by it: the page cache outlives the process.
 *   The sink awaits this save before the next batch leaves, which is what bounds a crash's
 *   duplicates to one batch, so it sits on the send path. Written through the thread pool with
 *   an fsync it cost 2.4 ms a batch under load (the broker's writes share the journal); replaced
 *   through a temporary file and a rename, 0.5 ms (open and rename were 7% of the collector's
 *   main thread in `npm run bench:collector`); now, while the text fits in one page, it is
 *   overwritten in place by one write at offset 0 of a file kept open, padded with spaces to the
 *   length already there (JSON ignores them): a write of at most a page cannot be cut short by a
 *   kill, so the file holds the old text or the new one. Larger texts take the rename path.
 * - `checkpoints.synced.json`, every second and at close (`sync`): the same content, fsynced, and
 *   its directory too. A machine crash or power loss can lose or tear the other file; this one is
 *   then at most a second behind, so a restart re-sends that second (never skips).
 *
 * Opening reads both and keeps, per file, the entry updated last. An unreadable file (damage
 * from outside) is moved aside and counted; the other still counts. Filebeat flushes its
 * registry every second the same way; Vector checkpoints on an interval too.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { componentError, declareErrors, type ComponentTelemetry } from '../events.js';

export interface FileCheckpoint {
  /** Last path the file was read at (for people, and for sequence numbers across rotations). */
  path: string;
  /** Offset just past the last acknowledged line. */
  offset: number;
  /** `pharos.seq` of the first record after `offset`. */
  seq: number;
  /** Hash of the file's first `fingerprint_bytes` bytes (up to 1 KiB): tells a reused inode from the same file. */
  fingerprint: string;
  fingerprint_bytes: number;
  updated_ms: number;
  /** When no source claimed the file any more; the entry is dropped a retention period later. */
  gone_ms?: number;
}

interface CheckpointFile {
  version: 1;
  files: Record<string, FileCheckpoint>;
}

/** A write of at most one page is whole or absent after a kill (Linux checks for fatal signals between pages). */
const IN_PLACE_MAX_BYTES = 4096;
/** How long the checkpoint of a file nobody tails is kept (its path's sequence numbers continue meanwhile). */
const GONE_RETENTION_MS = 24 * 60 * 60 * 1000;

export class CheckpointStore {
  private readonly claims = new Map<string, string>();
  /** Changed since `checkpoints.json` was written. */
  private dirty = false;
  /** Changed since `checkpoints.synced.json` was written. */
  private unsynced = false;
  private syncing: Promise<void> | undefined;
  /** `checkpoints.json`, open for in-place saves once a save created it; and its length. */
  private fd: number | undefined;
  private fileBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly syncedFile: string;

  private constructor(
    readonly file: string,
    private readonly entries: Map<string, FileCheckpoint>,
    private readonly telemetry: ComponentTelemetry,
  ) {
    this.syncedFile = file.replace(/\.json$/, '.synced.json');
  }

  static async open(dir: string, telemetry: ComponentTelemetry): Promise<CheckpointStore> {
    declareErrors(telemetry, [{ error_type: 'io_failed', stage: 'checkpointing' }]);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'checkpoints.json');
    const entries = new Map<string, FileCheckpoint>();
    const store = new CheckpointStore(file, entries, telemetry);
    for (const path of [file, store.syncedFile]) {
      for (const [id, cp] of await readCheckpoints(path, telemetry)) {
        const known = entries.get(id);
        if (!known || cp.updated_ms > known.updated_ms) entries.set(id, cp);
      }
    }
    return store;
  }

  get(id: string): FileCheckpoint | undefined {
    return this.entries.get(id);
  }

  set(id: string, cp: Omit<FileCheckpoint, 'updated_ms' | 'gone_ms'>): void {
    this.entries.set(id, { ...cp, updated_ms: this.telemetry.now() });
    this.changed();
  }

  /** Every file's checkpoint: at start, a source looks for its files rotated away while the collector was down. */
  list(): Array<[string, FileCheckpoint]> {
    return [...this.entries];
  }

  /** Sequence numbers continue per path, so a rotated-in file does not reuse its predecessor's. */
  nextSeqForPath(path: string): number {
    let seq = 0;
    for (const cp of this.entries.values()) if (cp.path === path) seq = Math.max(seq, cp.seq);
    return seq;
  }

  /** One reader per file across the collector's sources; false if another source tails it. */
  claim(id: string, owner: string): boolean {
    const current = this.claims.get(id);
    if (current !== undefined && current !== owner) return false;
    this.claims.set(id, owner);
    const cp = this.entries.get(id);
    if (cp?.gone_ms !== undefined) {
      delete cp.gone_ms;
      this.changed();
    }
    return true;
  }

  release(id: string, owner: string): void {
    if (this.claims.get(id) === owner) this.claims.delete(id);
  }

  /**
   * Replaces `checkpoints.json` if anything changed: atomic, not fsynced (see the top). Written
   * synchronously: a few hundred bytes into the page cache cost less than the thread pool's
   * round trips, and nothing can interleave with the write.
   */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const text = this.serialize();
    try {
      const bytes = Buffer.byteLength(text);
      // The padded write must fit a page too: a file left longer by a big text is replaced, not padded.
      if (this.fd !== undefined && Math.max(bytes, this.fileBytes) <= IN_PLACE_MAX_BYTES) {
        writeSync(this.fd, bytes < this.fileBytes ? text + ' '.repeat(this.fileBytes - bytes) : text, 0);
        this.fileBytes = Math.max(this.fileBytes, bytes);
      } else {
        this.replace(text, bytes);
      }
      this.dirty = false;
    } catch (err) {
      // Kept dirty: the next save tries again. Nothing is lost meanwhile, a crash only re-reads more.
      componentError(this.telemetry, { error_type: 'io_failed', stage: 'checkpointing' }, err, `cannot write ${this.file}: retrying`, { file: this.file });
      throw err;
    }
  }

  /** Writes and fsyncs `checkpoints.synced.json` if anything changed; concurrent calls share one write. */
  async sync(): Promise<void> {
    while (this.syncing) await this.syncing;
    if (!this.unsynced) return;
    this.unsynced = false;
    this.syncing = this.writeSynced(this.serialize()).finally(() => (this.syncing = undefined));
    await this.syncing;
  }

  startAutosave(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.sync().catch(() => {}), intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.save();
      await this.sync();
    } finally {
      this.closeFile();
    }
  }

  /** A fresh file by temporary file and rename (the first save, and texts over a page); kept open for in-place saves. */
  private replace(text: string, bytes: number): void {
    const tmp = `${this.file}.tmp`;
    this.closeFile();
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      renameSync(tmp, this.file);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
    this.fileBytes = bytes;
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private changed(): void {
    this.dirty = true;
    this.unsynced = true;
  }

  /** The file's text; entries of files nobody tailed for the retention period are dropped here. */
  private serialize(): string {
    const now = this.telemetry.now();
    const files: Record<string, FileCheckpoint> = {};
    for (const [id, cp] of this.entries) {
      if (!this.claims.has(id)) {
        cp.gone_ms ??= now;
        if (now - cp.gone_ms > GONE_RETENTION_MS) {
          this.entries.delete(id);
          continue;
        }
      }
      files[id] = cp;
    }
    return JSON.stringify({ version: 1, files } satisfies CheckpointFile);
  }

  private async writeSynced(text: string): Promise<void> {
    const tmp = `${this.syncedFile}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        await writeFile(fh, text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.syncedFile);
      // The rename itself is durable only once the directory is.
      const dir = await open(join(this.syncedFile, '..'), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      this.unsynced = true;
      componentError(this.telemetry, { error_type: 'io_failed', stage: 'checkpointing' }, err, `cannot write ${this.syncedFile}: retrying`, { file: this.syncedFile });
      throw err;
    }
  }
}

/** A checkpoint file's entries; none when it is missing, and none (the file moved aside, the error counted) when it is damaged. */
async function readCheckpoints(file: string, telemetry: ComponentTelemetry): Promise<Map<string, FileCheckpoint>> {
  const entries = new Map<string, FileCheckpoint>();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return entries;
  }
  try {
    const parsed = JSON.parse(text) as CheckpointFile;
    if (parsed.version !== 1 || typeof parsed.files !== 'object' || parsed.files === null) throw new Error(`unknown checkpoint format version ${String(parsed.version)}`);
    for (const [id, cp] of Object.entries(parsed.files)) {
      if (validCheckpoint(cp)) entries.set(id, cp);
    }
  } catch (err) {
    // Written atomically, so this is damage from outside (or a machine crash): keep the evidence, use the other file.
    const aside = `${file}.corrupt-${Date.now()}`;
    await rename(file, aside).catch(() => {});
    componentError(telemetry, { error_type: 'io_failed', stage: 'checkpointing', error_code: 'internal' }, err, `unreadable checkpoint file moved to ${aside}: starting without its checkpoints`, { file });
  }
  return entries;
}

function validCheckpoint(cp: unknown): cp is FileCheckpoint {
  const c = cp as Partial<FileCheckpoint> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.path === 'string' &&
    Number.isSafeInteger(c.offset) &&
    Number.isSafeInteger(c.seq) &&
    typeof c.fingerprint === 'string' &&
    Number.isSafeInteger(c.fingerprint_bytes) &&
    typeof c.updated_ms === 'number'
  );
}
