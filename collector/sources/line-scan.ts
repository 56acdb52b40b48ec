/**
 * The plain fast path's line classifier: for each line of a chunk, whether its record can be
 * written straight from its bytes (no secret word, no marked level in its head, ASCII head) and
 * with which severity, or whether the string path (isClean, detectSeverity) must decide.
 *
 * Why by hand, and in WebAssembly: the redaction pre-check (one regular expression over every
 * line, 1.7–3.4 ns a character), severity detection and the body strings they need were ~350 ms
 * of the collector's ~1.1 s main thread in `npm run bench:collector`. The SIMD scan in
 * line-scan.wat reports, 16 bytes at a time, the few positions that can matter (newlines, '@',
 * '[', '<', non-ASCII bytes, and the starts of three-byte prefixes of the words), and its
 * classifier checks only there, against word tables this file writes into the module's memory.
 * (The checks were JavaScript until they were the largest item of the scan in the profile:
 * ~30 ns a position, three positions a line on the bench's lines.) Every verdict equals what the string functions decide for the line
 * (line-scan.test.ts compares them); where it cannot be sure it says "string path".
 */
import { BY_UPPER_WORD, LEVEL_ANCHOR, SCAN_CHARS, UPPER_LEVEL_WORDS, UNSPECIFIED, type Severity } from '../transforms/severity.js';
import { severityFields } from '../../core/codec/encoded-logs.js';
import { LINE_SCAN_WASM } from './line-scan-wasm.js';

/** Longest chunk one scan takes (the input area of line-scan.wat). */
export const MAX_SCAN_BYTES = 65_536;
// line-scan.wat's memory layout.
const PREFIXES_AT = 128;
const OBSERVED_AT = 256;
const INPUT_AT = 512;
const LINE_ENDS_AT = 328_704;
const VERDICTS_AT = 590_848;
const ATTRIBUTES_AT = 656_384;
/** Longest attribute fields the record writer copies; a file with more takes the JavaScript writer. */
export const MAX_WRITTEN_ATTRIBUTES = 4096;
const RECORD_ENDS_AT = 660_480;
const RECORDS_AT = 922_624;
const LEVEL_AT = 288;
const SECRET_PAIRS_AT = 2_031_616;
const UPPER_PAIRS_AT = 2_162_688;
const WORDS_AT = 2_293_760;
const WORDS_BYTES = 8_192;


// line-scan.wat has the head's length written into it.
if (SCAN_CHARS !== 200) throw new Error(`line scan: line-scan.wat's head is 200 bytes, severity.ts's SCAN_CHARS is ${SCAN_CHARS}`);

/** The module, compiled once per process; null where this runtime cannot run it (no SIMD). */
let compiled: WebAssembly.Module | null | undefined;
function compile(): WebAssembly.Module | null {
  const wasm = Buffer.from(LINE_SCAN_WASM, 'base64');
  return WebAssembly.validate(wasm) ? new WebAssembly.Module(wasm) : null;
}

/** A line whose record the string path must write. */
export const STRING_PATH = -1;

export interface ScannedLines {
  /** Lines ending in the chunk: line i ends at `ends[i]`, the position of its '\n'. */
  readonly count: number;
  /** Views of the scanner's memory: valid until its next scan. */
  readonly ends: Int32Array;
  /** Line i's severity as an index into `severities`, or STRING_PATH. */
  readonly verdicts: Int8Array;
}

/** Where `writeRecords` puts what it wrote. */
export interface WrittenRecordsSink {
  /** `bytes` holds `count` records, record i ending at `ends[i]`; both are views valid until the next call. */
  addWritten(bytes: Uint8Array, ends: Uint32Array, count: number): void;
}

const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Longest word the classifier matches: one 16-byte vector. */
const MAX_WORD_BYTES = 16;
const ENTRY_BYTES = 2 + 3 * MAX_WORD_BYTES;

interface WordEntry {
  readonly word: Uint8Array;
  readonly verdict: number;
  /** Letters match in either case (the word is lower case). */
  readonly anyCase: boolean;
}

/** A word-list entry of line-scan.wat: length, verdict, the word, its case bits, its length mask. */
function writeEntry(into: Uint8Array, at: number, { word, verdict, anyCase }: WordEntry): void {
  into[at] = word.length;
  into[at + 1] = verdict;
  into.fill(0, at + 2, at + ENTRY_BYTES);
  into.set(word, at + 2);
  for (let j = 0; j < word.length; j++) {
    const b = word[j]!;
    if (anyCase && b >= 0x61 && b <= 0x7a) into[at + 2 + MAX_WORD_BYTES + j] = 0x20;
    into[at + 2 + 2 * MAX_WORD_BYTES + j] = 0xff;
  }
}

/**
 * line-scan.wat's word tables: for each first-two-byte pair, the offset of its word list in the
 * word area (a 0 length ends a list).
 */
function writeWordTables(memory: WebAssembly.Memory, secretWords: readonly Uint8Array[], upperWords: ReadonlyArray<{ word: Uint8Array; verdict: number }>): void {
  const words = new Uint8Array(memory.buffer, WORDS_AT, WORDS_BYTES);
  let at = 1; // offset 0 stands for "no list"
  const pairOf = (w: Uint8Array) => (w[0]! << 8) | w[1]!;
  const table = (tableAt: number, entries: readonly WordEntry[]) => {
    const pairs = new DataView(memory.buffer, tableAt, 2 * 65_536);
    const byPair = new Map<number, WordEntry[]>();
    for (const e of entries) byPair.set(pairOf(e.word), [...(byPair.get(pairOf(e.word)) ?? []), e]);
    for (const [pair, list] of byPair) {
      if (at + list.length * ENTRY_BYTES + 1 > WORDS_BYTES) throw new RangeError('line scan: the words do not fit the word area');
      pairs.setUint16(2 * pair, at, true);
      for (const e of list) {
        writeEntry(words, at, e);
        at += ENTRY_BYTES;
      }
      words[at++] = 0;
    }
  };
  // Secret words by their (lower-case) pair: the classifier lower-cases the input's pair.
  table(SECRET_PAIRS_AT, secretWords.map((word) => ({ word, verdict: 0, anyCase: true })));
  table(UPPER_PAIRS_AT, upperWords.map((e) => ({ ...e, anyCase: false })));
}

/** Nibble tables of line-scan.wat's eight buckets: which buckets each of three bytes may belong to. */
class BucketTables {
  readonly bytes = new Uint8Array(96);

  /** Every position whose three bytes are `prefix` (letters in any case when `anyCase`) reports. */
  add(bucket: number, prefix: string, anyCase: boolean): void {
    for (let k = 0; k < 3; k++) {
      const c = prefix.charCodeAt(k);
      const variants = anyCase && c >= 0x61 && c <= 0x7a ? [c, c & ~0x20] : [c];
      for (const v of variants) {
        this.bytes[32 * k + (v & 15)]! |= 1 << bucket;
        this.bytes[32 * k + 16 + (v >> 4)]! |= 1 << bucket;
      }
    }
  }
}

export interface LineScannerOptions {
  /** Redactor.cleanWithout: a line holding none of these is clean. Undefined: no redaction. */
  secretWords: readonly string[] | undefined;
}

export class LineScanner {
  /** What a verdict's index stands for: 0 is no severity. */
  readonly severities: readonly Severity[];
  private readonly input: Uint8Array;
  private readonly lineEnds: Int32Array;
  private readonly verdicts: Int8Array;
  private readonly memory: WebAssembly.Memory;
  private readonly run: (len: number) => number;
  private readonly classify: (positions: number, len: number, atIsSecret: number) => number;
  private readonly records: (from: number, to: number, start: number, seq: number, attributesLength: number, timed: number) => number;
  /** What the record writer's attribute and observed-time areas hold now. */
  private writtenAttributes: Uint8Array | undefined;
  private writtenObserved = -1n;
  private readonly atIsSecret: number;

  /** Undefined where WebAssembly SIMD is missing or a word is one the scan cannot find: callers keep the string path. */
  static create(options: LineScannerOptions): LineScanner | undefined {
    const words = options.secretWords ?? [];
    const printable = /^[\x21-\x7e]+$/;
    if (words.some((w) => !printable.test(w) || (w.length < 3 && w !== '@') || w.length > MAX_WORD_BYTES || w !== w.toLowerCase())) return undefined;
    compiled ??= compile();
    return compiled === null ? undefined : new LineScanner(new WebAssembly.Instance(compiled), words);
  }

  private constructor(instance: WebAssembly.Instance, words: readonly string[]) {
    const memory = (this.memory = instance.exports.memory as WebAssembly.Memory);
    this.run = instance.exports.scan as (len: number) => number;
    this.records = instance.exports.records as LineScanner['records'];
    this.classify = instance.exports.classify as LineScanner['classify'];
    // The memory never grows, so these views stay valid.
    this.input = new Uint8Array(memory.buffer, INPUT_AT, MAX_SCAN_BYTES);
    this.lineEnds = new Int32Array(memory.buffer, LINE_ENDS_AT, MAX_SCAN_BYTES);
    this.verdicts = new Int8Array(memory.buffer, VERDICTS_AT, MAX_SCAN_BYTES);

    const tables = new BucketTables();
    // Buckets 0-5: the secret words' prefixes, those sharing a first letter together (fewer false reports).
    const byLetter = new Map<string, Set<string>>();
    for (const w of words) if (w !== '@') byLetter.set(w[0]!, (byLetter.get(w[0]!) ?? new Set()).add(w.slice(0, 3)));
    const load = [0, 0, 0, 0, 0, 0];
    for (const prefixes of [...byLetter.values()].sort((a, b) => b.size - a.size)) {
      const bucket = load.indexOf(Math.min(...load));
      for (const p of prefixes) tables.add(bucket, p, true);
      load[bucket]! += prefixes.size;
    }
    // Bucket 6: upper-case level words; bucket 7: the marked-level anchor, in any case.
    for (const w of UPPER_LEVEL_WORDS) tables.add(6, w, false);
    tables.add(7, LEVEL_ANCHOR, true);
    new Uint8Array(memory.buffer, 0, 96).set(tables.bytes);

    this.atIsSecret = words.includes('@') ? 1 : 0;
    const severities: Severity[] = [UNSPECIFIED];
    const upperWords = UPPER_LEVEL_WORDS.map((w) => {
      const severity = BY_UPPER_WORD.get(w)!;
      if (!severities.includes(severity)) severities.push(severity);
      return { word: bytesOf(w), verdict: severities.indexOf(severity) };
    });
    writeWordTables(memory, words.filter((w) => w.length >= 3).map(bytesOf), upperWords);
    writeEntry(new Uint8Array(memory.buffer, LEVEL_AT, ENTRY_BYTES), 0, { word: bytesOf(LEVEL_ANCHOR), verdict: 0, anyCase: true });
    this.severities = severities;
    // Each verdict's severity fields, for the record writer: a length byte, then the fields.
    const prefixes = new Uint8Array(memory.buffer, PREFIXES_AT, 128);
    severities.forEach((severity, i) => {
      const fields = severityFields(severity);
      prefixes[16 * i] = fields.length;
      prefixes.set(fields, 16 * i + 1);
    });
  }

  /** The lines ending in `chunk` (at most MAX_SCAN_BYTES) and their verdicts. */
  scan(chunk: Uint8Array): ScannedLines {
    if (chunk.length > MAX_SCAN_BYTES) throw new RangeError(`line scan: ${chunk.length} bytes, at most ${MAX_SCAN_BYTES}`);
    this.input.set(chunk);
    const count = this.classify(this.run(chunk.length), chunk.length, this.atIsSecret);
    return { count, ends: this.lineEnds, verdicts: this.verdicts };
  }

  /**
   * Writes the records of lines [from, to) of the last scan (none of them STRING_PATH; line
   * `from` starts at `start`) into `sink`, as EncodedLogsBuilder.addPlain would one by one: line
   * i gets sequence number `seq + i - from`. Returns how many it wrote: at least one, fewer than
   * asked when the record area filled up (call again for the rest). 0: `attributes` are longer
   * than MAX_WRITTEN_ATTRIBUTES, and the caller writes these lines itself.
   */
  writeRecords(sink: WrittenRecordsSink, from: number, to: number, start: number, seq: number, attributes: Uint8Array, observedTimeUnixNano: bigint): number {
    if (attributes.length > MAX_WRITTEN_ATTRIBUTES) return 0;
    const buffer = this.memory.buffer;
    if (attributes !== this.writtenAttributes) {
      new Uint8Array(buffer, ATTRIBUTES_AT, attributes.length).set(attributes);
      this.writtenAttributes = attributes;
    }
    const timed = observedTimeUnixNano > 0n && observedTimeUnixNano < 1n << 64n;
    if (timed && observedTimeUnixNano !== this.writtenObserved) {
      new DataView(buffer, OBSERVED_AT, 8).setBigUint64(0, observedTimeUnixNano, true);
      this.writtenObserved = observedTimeUnixNano;
    }
    const count = this.records(from, to, start, seq, attributes.length, timed ? 1 : 0);
    if (count === 0) throw new Error(`line scan: a record of line ${from} does not fit the record area`);
    const ends = new Uint32Array(buffer, RECORD_ENDS_AT, count);
    sink.addWritten(new Uint8Array(buffer, RECORDS_AT, ends[count - 1]!), ends, count);
    return count;
  }
}
