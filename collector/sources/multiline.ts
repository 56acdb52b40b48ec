/**
 * Multiline records for the file tail: a line matching `start_pattern` starts a record, every
 * other line continues the record in progress (a Java stack trace's `\tat …` lines, a Python
 * traceback's indented frames). Vector's `multiline` calls this `mode: halt_before` with the start
 * pattern as condition; Fluent Bit's `multiline.parser` rules do the same with a `start_state`.
 *
 * Pure and synchronous: the file tail feeds complete lines with their byte offsets, and ships the
 * records that come back. Time is an argument (`now`, in ms), never read here, so tests step it.
 *
 * Rules, in the order they apply to a line:
 * - A start line closes the record in progress (returned) and opens a new one.
 * - Any line with no record in progress opens one: continuation lines at the top of a file (or
 *   after a record closed at a limit, or after a timeout) become a record of their own, never dropped.
 *   They are grouped, where Vector ships each alone: the rest of a 10 000-frame trace cut at
 *   max_lines stays a few records, not thousands.
 * - A record closes once it holds `max_lines` lines or `max_bytes` bytes of body. The line that
 *   would take the body past `max_bytes` is cut at a UTF-8 character boundary, the rest of that
 *   line is dropped (counted in `droppedBytes`) and the record is flagged `truncated`. Lines after
 *   a limit open a new record.
 * - `flush()` closes the record in progress: at the timeout (`due(now)`), at the file's end or
 *   rotation, at stop.
 *
 * Linear in the input: a line's UTF-8 length is counted once, parts are joined once at close.
 */
import type { FileInputConfig } from '../../core/config/schema.js';

export type MultilineConfig = NonNullable<FileInputConfig['multiline']>;

/** One complete line of a file, as the file tail read it. */
export interface TailLine {
  /** The decoded line, without its newline (and CR). */
  text: string;
  /** Offset of the line's first byte in the file. */
  startOffset: number;
  /** Offset just past the line's newline. */
  endOffset: number;
  /** The file tail cut the line at max_line_bytes. */
  truncated: boolean;
  /** The line was not valid UTF-8 (decoded with replacement characters). */
  invalid: boolean;
}

/** A completed record: one or more consecutive lines of a file. */
export interface MultilineRecord {
  /** The lines, joined by "\n". */
  body: string;
  /** Offset of the first line's first byte. */
  startOffset: number;
  /** Offset just past the last line's newline: a checkpoint may move here once the record is acknowledged. */
  endOffset: number;
  /** Lines of the file the record spans (including a line cut to nothing at max_bytes). */
  lines: number;
  /** A line was cut by the file tail, or the record was cut at max_bytes. */
  truncated: boolean;
  /** A line was not valid UTF-8. */
  invalid: boolean;
  /** UTF-8 bytes of line text cut here to keep the body within max_bytes (0 unless cut here). */
  droppedBytes: number;
}

const NONE: readonly MultilineRecord[] = Object.freeze([]);
const encoder = new TextEncoder();

export class MultilineAggregator {
  private readonly startPattern: RegExp;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  /** Only for cutting a line at max_bytes; allocated the first time one is cut. */
  private scratch: Uint8Array | undefined;

  // The record in progress; `lines === 0` when there is none.
  private parts: string[] = [];
  private lines = 0;
  /** UTF-8 bytes of the body so far, joining newlines included. */
  private bytes = 0;
  private startOffset = 0;
  private endOffset = 0;
  private truncated = false;
  private invalid = false;
  private lastLineAt = 0;

  /** `maxBytes` is the input's max_line_bytes: a record must fit where a line does (one Kafka message). */
  constructor(config: MultilineConfig, maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`multiline max_bytes must be a positive integer, got ${maxBytes}`);
    // No `g` or `y` flag: `test` then keeps no state between lines.
    this.startPattern = new RegExp(config.start_pattern);
    this.maxLines = config.max_lines;
    this.maxBytes = maxBytes;
    this.timeoutMs = config.timeout_ms;
  }

  /** Adds the next line of the file, read at `now` (ms); returns the records it completed, oldest first. */
  push(line: TailLine, now: number): readonly MultilineRecord[] {
    const closed = this.lines > 0 && this.startPattern.test(line.text) ? this.close() : undefined;
    const full = this.append(line, now);
    if (closed === undefined) return full === undefined ? NONE : [full];
    return full === undefined ? [closed] : [closed, full];
  }

  /** Closes the record in progress, if any. */
  flush(): MultilineRecord | undefined {
    return this.lines > 0 ? this.close() : undefined;
  }

  /** True when the record in progress has waited `timeout_ms` for its next line: `flush()` it. */
  due(now: number): boolean {
    return this.lines > 0 && now - this.lastLineAt >= this.timeoutMs;
  }

  /** When the record in progress will be due (ms), or undefined if none is: lets the tail bound its sleep. */
  deadline(): number | undefined {
    return this.lines > 0 ? this.lastLineAt + this.timeoutMs : undefined;
  }

  /**
   * Offset of the record in progress, or undefined. The file's checkpoint must not move past it:
   * after a restart the unfinished record is read again whole.
   */
  pendingStart(): number | undefined {
    return this.lines > 0 ? this.startOffset : undefined;
  }

  /** Adds `line` to the record in progress (opening one if needed); returns the record if that filled it. */
  private append(line: TailLine, now: number): MultilineRecord | undefined {
    const first = this.lines === 0;
    if (first) this.startOffset = line.startOffset;
    this.lines++;
    this.endOffset = line.endOffset;
    this.lastLineAt = now;
    if (line.truncated) this.truncated = true;
    if (line.invalid) this.invalid = true;

    const join = first ? 0 : 1;
    const lineBytes = Buffer.byteLength(line.text, 'utf8');
    const room = this.maxBytes - this.bytes - join;
    if (lineBytes <= room) {
      this.parts.push(line.text);
      this.bytes += join + lineBytes;
      return this.lines >= this.maxLines || this.bytes >= this.maxBytes ? this.close() : undefined;
    }
    let kept = 0;
    if (room > 0) {
      const cut = this.utf8Prefix(line.text, room);
      kept = cut.bytes;
      // Nothing of the line fits (its first character is wider than the room): no empty part, no joining newline.
      if (kept > 0) {
        this.parts.push(cut.text);
        this.bytes += join + kept;
      }
    }
    this.truncated = true;
    return this.close(lineBytes - kept);
  }

  /** The longest prefix of `text` whose UTF-8 form fits in `maxBytes`, never splitting a character. */
  private utf8Prefix(text: string, maxBytes: number): { text: string; bytes: number } {
    this.scratch ??= new Uint8Array(this.maxBytes);
    // encodeInto writes whole characters only and says how many UTF-16 units it consumed.
    const { read, written } = encoder.encodeInto(text, this.scratch.subarray(0, maxBytes));
    return { text: text.slice(0, read), bytes: written };
  }

  private close(droppedBytes = 0): MultilineRecord {
    const record: MultilineRecord = {
      body: this.parts.length === 1 ? this.parts[0]! : this.parts.join('\n'),
      startOffset: this.startOffset,
      endOffset: this.endOffset,
      lines: this.lines,
      truncated: this.truncated,
      invalid: this.invalid,
      droppedBytes,
    };
    this.parts = [];
    this.lines = 0;
    this.bytes = 0;
    this.truncated = false;
    this.invalid = false;
    return record;
  }
}
