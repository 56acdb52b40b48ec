/**
 * OTLP logs protobuf straight to `otel_logs` TabSeparated lines, without the LogRecord objects in
 * between: the writer's fast path for what collectors send (scalar attributes, string bodies).
 *
 * Why: decodeLogs builds an object per record, per attribute set and per value, and the writer
 * turned them into text at once; on the bench's 500,000 records that decode was the largest part
 * of the writer's own CPU after the insert, and its garbage a third of the collector's time.
 *
 * Exactness: a line made here must equal what decodeLogs + otelLogTsvLine make of the same bytes
 * (otlp-log-tsv.test.ts checks it on generated messages). Rather than follow protobufjs into every
 * corner of the wire format, this reader gives up (returns undefined) on anything it does not
 * expect — a field with an unexpected wire type, a nested message running past its parent, a
 * field given twice where the last one would win, two members of a oneof, a structured value,
 * an attribute key that JavaScript objects would reorder or merge, an event name — and the caller
 * decodes that message the reference way, which also decides whether it is dead-lettered.
 */
import protobuf from 'protobufjs/minimal.js';
import { storedTimeNano } from './log-rows.js';
import type { LogRecord } from '../../core/model/records.js';
import { tsvQuoted, tsvString } from './tsv.js';

const { Reader } = protobuf;
type PbReader = protobuf.Reader;

/** Thrown inside the reader to give up; never leaves this module. */
const GIVE_UP = Symbol('give-up');

/** Lines of one message, with the UTC day each belongs to (as storedTimeNano and utcDay make them). */
export interface TsvRows {
  days: number[];
  lines: string[];
}

const NANOS_PER_DAY = 86_400_000_000_000n;

/**
 * The message's rows, or undefined when this reader gives up on it (see the file comment).
 * `fallbackNano`: the time of a record that carries none (the Kafka message's).
 */
export function otlpLogTsvRows(bytes: Buffer, fallbackNano: bigint): TsvRows | undefined {
  const out: TsvRows = { days: [], lines: [] };
  try {
    const reader = Reader.create(bytes);
    const end = reader.len;
    while (reader.pos < end) {
      const tag = reader.uint32();
      if (tag === (1 << 3) + 2) resourceLogs(reader, subEnd(reader, end), fallbackNano, out);
      else skipUnknown(reader, tag, end);
    }
    if (reader.pos !== end) return undefined;
  } catch {
    // GIVE_UP, or the reader running out of bytes: either way the reference decoder decides.
    return undefined;
  }
  return out;
}

/** The end of a length-delimited field that starts at the reader; gives up if it runs past `parentEnd`. */
function subEnd(reader: PbReader, parentEnd: number): number {
  const len = reader.uint32();
  const end = reader.pos + len;
  if (end > parentEnd) throw GIVE_UP;
  return end;
}

function skipUnknown(reader: PbReader, tag: number, end: number): void {
  const wireType = tag & 7;
  // Groups (3, 4) and the undefined wire types are left to the reference decoder.
  if ((tag >>> 3) === 0 || wireType === 3 || wireType === 4 || wireType > 5) throw GIVE_UP;
  reader.skipType(wireType);
  if (reader.pos > end) throw GIVE_UP;
}

/**
 * Field 1 of a ResourceLogs or ScopeLogs (its resource or scope), read by `read` wherever it stands:
 * it may follow the repeated field 2 on the wire. Leaves the reader where it found it, for the
 * pass over field 2.
 */
function headerField<T>(reader: PbReader, end: number, read: (reader: PbReader, end: number) => T): T | undefined {
  const start = reader.pos;
  let found: T | undefined;
  let seen = false;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === (1 << 3) + 2) {
      if (seen) throw GIVE_UP;
      seen = true;
      found = read(reader, subEnd(reader, end));
    } else if ((tag & 7) !== 2 && (tag >>> 3) <= 3) {
      throw GIVE_UP;
    } else {
      skipUnknown(reader, tag, end);
    }
  }
  reader.pos = start;
  return found;
}

interface ResourceText {
  service: string;
  attributes: string;
}

function resourceLogs(reader: PbReader, end: number, fallbackNano: bigint, out: TsvRows): void {
  // decodeLogs gives a ResourceLogs without a resource an empty one.
  const resource = headerField(reader, end, resourceText) ?? { service: '', attributes: '{}' };
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === (2 << 3) + 2) scopeLogs(reader, subEnd(reader, end), resource, fallbackNano, out);
    else skipUnknown(reader, tag, end);
  }
}

function resourceText(reader: PbReader, end: number): ResourceText {
  const attrs = new Attrs();
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === (1 << 3) + 2) attrs.keyValue(reader, subEnd(reader, end));
    else if ((tag >>> 3) === 1) throw GIVE_UP;
    else skipUnknown(reader, tag, end);
  }
  const service = attrs.valueOf('service.name');
  return { service: service === undefined ? '' : tsvString(service), attributes: attrs.text() };
}

function scopeLogs(reader: PbReader, end: number, resource: ResourceText, fallbackNano: bigint, out: TsvRows): void {
  const scope = headerField(reader, end, scopeText);
  const name = scope?.name ?? '';
  const version = scope?.version ?? '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === (2 << 3) + 2) logRecord(reader, subEnd(reader, end), resource, name, version, fallbackNano, out);
    else skipUnknown(reader, tag, end);
  }
}

function scopeText(reader: PbReader, end: number): { name: string; version: string } {
  let name: string | undefined;
  let version: string | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === (1 << 3) + 2) {
      if (name !== undefined) throw GIVE_UP;
      name = reader.string();
    } else if (tag === (2 << 3) + 2) {
      if (version !== undefined) throw GIVE_UP;
      version = reader.string();
    } else if ((tag >>> 3) <= 2) {
      throw GIVE_UP;
    } else {
      skipUnknown(reader, tag, end);
    }
    if (reader.pos > end) throw GIVE_UP;
  }
  return { name: tsvString(name ?? ''), version: tsvString(version ?? '') };
}

/** Wire type each LogRecord field must have, by field number. */
const LOG_RECORD_WIRE: readonly number[] = [-1, 1, 0, 2, -1, 2, 2, 0, 5, 2, 2, 1, 2];

function logRecord(reader: PbReader, end: number, resource: ResourceText, scopeName: string, scopeVersion: string, fallbackNano: bigint, out: TsvRows): void {
  const buf = reader.buf;
  let time = 0n;
  let observed = 0n;
  let severityNumber = 0;
  let severityText = '';
  let body = '';
  let flags = 0;
  let traceId = '';
  let spanId = '';
  const attrs = new Attrs(true);
  let seen = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field >= 1 && field <= 12 && field !== 4) {
      if ((tag & 7) !== LOG_RECORD_WIRE[field]) throw GIVE_UP;
      // Every field but the attributes once: a second one would replace the first.
      if (field !== 6) {
        if (seen & (1 << field)) throw GIVE_UP;
        seen |= 1 << field;
      }
      switch (field) {
        case 1:
        case 11: {
          const p = reader.pos;
          if (p + 8 > end) throw GIVE_UP;
          const t = (BigInt(uint32le(buf, p + 4)) << 32n) | BigInt(uint32le(buf, p));
          reader.pos = p + 8;
          if (field === 1) time = t;
          else observed = t;
          break;
        }
        case 2:
          severityNumber = reader.int32();
          break;
        case 3:
          severityText = readText(reader, recentSeverity, 0).text;
          break;
        case 5:
          body = anyValueText(reader, subEnd(reader, end)).text;
          break;
        case 6:
          attrs.keyValue(reader, subEnd(reader, end));
          break;
        case 7:
          reader.uint32();
          break;
        case 8:
          flags = reader.fixed32();
          break;
        case 9:
          traceId = hexId(reader.bytes());
          break;
        case 10:
          spanId = hexId(reader.bytes());
          break;
        case 12:
          // An event name becomes an attribute in decodeLogs; rare enough to leave to it.
          if (reader.string() !== '') throw GIVE_UP;
          break;
      }
    } else {
      skipUnknown(reader, tag, end);
    }
    if (reader.pos > end) throw GIVE_UP;
  }
  const t = storedTimeNano({ timeUnixNano: time, observedTimeUnixNano: observed } as LogRecord, fallbackNano);
  out.days.push(Number(t / NANOS_PER_DAY));
  out.lines.push(
    `${t}\t${traceId}\t${spanId}\t${uint8(flags >>> 0)}\t${tsvString(severityText)}\t${uint8(severityNumber)}\t${resource.service}\t${tsvString(body)}\t${resource.attributes}\t${scopeName}\t${scopeVersion}\t${attrs.text()}\n`,
  );
}

function uint32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

function uint8(n: number): number {
  return n >= 0 && n <= 255 ? n : n < 0 ? 0 : 255;
}

/** As decodeLogs' toHex: lowercase hex, and "" for an empty or all-zero id. */
function hexId(b: Uint8Array): string {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return '';
}

/**
 * An AnyValue as the text decodeLogs + otelLogTsvLine print for it (a body, or an attribute value
 * before quoting); structured values are given up on. A string member is read through `recent`
 * when given (see readText).
 */
function anyValueText(reader: PbReader, end: number, recent?: Text[], slot = 0): Text {
  let text: Text | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field >= 1 && field <= 7) {
      // A second member (or the same one again) would need protobufjs's precedence: given up on.
      if (text !== undefined) throw GIVE_UP;
      const wireType = tag & 7;
      switch (field) {
        case 1:
          if (wireType !== 2) throw GIVE_UP;
          text = recent === undefined ? plain(reader.string()) : readText(reader, recent, slot);
          break;
        case 2:
          if (wireType !== 0) throw GIVE_UP;
          text = reader.bool() ? TRUE : FALSE;
          break;
        case 3: {
          if (wireType !== 0) throw GIVE_UP;
          const v = reader.int64() as unknown as { toNumber(): number; toString(): string };
          const n = v.toNumber();
          text = plain(Number.isSafeInteger(n) ? String(n) : v.toString());
          break;
        }
        case 4:
          if (wireType !== 1) throw GIVE_UP;
          text = plain(String(reader.double()));
          break;
        case 7:
          if (wireType !== 2) throw GIVE_UP;
          // No bytes type in the model: base64, as decodeLogs writes it.
          text = plain(Buffer.from(reader.bytes()).toString('base64'));
          break;
        default:
          // Arrays and key-value lists print as JSON in the reference path.
          throw GIVE_UP;
      }
      if (reader.pos > end) throw GIVE_UP;
    } else {
      skipUnknown(reader, tag, end);
    }
  }
  // No member: null, which prints as "".
  return text ?? EMPTY;
}

/** A decoded string and, once asked for, its quoted form. */
interface Text {
  /** The wire bytes, kept for short strings only, to recognise them in the next record. */
  readonly bytes: Uint8Array | undefined;
  readonly text: string;
  quoted: string | undefined;
}

const plain = (text: string): Text => ({ bytes: undefined, text, quoted: undefined });
const EMPTY = plain('');
const TRUE = plain('true');
const FALSE = plain('false');

/** Strings longer than this are decoded every time: they are rarely repeated (bodies, ids). */
const MAX_RECENT_BYTES = 64;
/** Attribute keys and string values by position in their record: log records of one source repeat them. */
const recentKeys: Text[] = [];
const recentSeverity: Text[] = [];
const recentValues: Text[] = [];

/**
 * A string field, through `recent[slot]`: when the bytes are those of the string read at that
 * slot last time (usually the previous record's same attribute), its text — and quoted text — are
 * reused. Decoding a string is a call into C++ and quoting it a regular expression; over the
 * bench's records this halved the direct reader's time.
 */
function readText(reader: PbReader, recent: Text[], slot: number): Text {
  const len = reader.uint32();
  const start = reader.pos;
  const end = start + len;
  if (end > reader.len) throw GIVE_UP;
  reader.pos = end;
  const buf = reader.buf;
  const prev = recent[slot];
  if (prev !== undefined && prev.bytes !== undefined && prev.bytes.length === len) {
    const b = prev.bytes;
    let i = 0;
    while (i < len && b[i] === buf[start + i]) i++;
    if (i === len) return prev;
  }
  const text = (buf as Buffer).toString('utf8', start, end);
  if (len > MAX_RECENT_BYTES) return plain(text);
  // A copy: the message buffer may be reused once the batch is done.
  const entry: Text = { bytes: new Uint8Array(buf.subarray(start, end)), text, quoted: undefined };
  if (slot < 256) recent[slot] = entry;
  return entry;
}

/** An attribute set as the `Map(String, String)` text attributesText prints, in wire order. */
class Attrs {
  private readonly keys: Text[] = [];
  private readonly values: Text[] = [];

  constructor(
    /** Read keys and values through the recent-string slots (log records; not resources, read once). */
    private readonly cached = false,
  ) {}

  keyValue(reader: PbReader, end: number): void {
    const slot = this.keys.length;
    let key: Text | undefined;
    let value: Text | undefined;
    while (reader.pos < end) {
      const tag = reader.uint32();
      if (tag === (1 << 3) + 2) {
        if (key !== undefined) throw GIVE_UP;
        key = this.cached ? readText(reader, recentKeys, slot) : plain(reader.string());
      } else if (tag === (2 << 3) + 2) {
        if (value !== undefined) throw GIVE_UP;
        value = this.cached ? anyValueText(reader, subEnd(reader, end), recentValues, slot) : anyValueText(reader, subEnd(reader, end));
      } else if ((tag >>> 3) <= 2) {
        throw GIVE_UP;
      } else {
        skipUnknown(reader, tag, end);
      }
      if (reader.pos > end) throw GIVE_UP;
    }
    key ??= EMPTY;
    // Object key order puts integer-like keys first, and a repeated key keeps one value: both
    // are what the reference path would do differently from wire order.
    const c = key.text.charCodeAt(0);
    if (c >= 48 && c <= 57) throw GIVE_UP;
    for (let i = 0; i < slot; i++) if (this.keys[i]!.text === key.text) throw GIVE_UP;
    this.keys.push(key);
    this.values.push(value ?? EMPTY);
  }

  valueOf(key: string): string | undefined {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i]!.text === key) return this.values[i]!.text;
    return undefined;
  }

  text(): string {
    let out = '{';
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      const v = this.values[i]!;
      out += `${i === 0 ? '' : ','}${(k.quoted ??= tsvQuoted(k.text))}:${(v.quoted ??= tsvQuoted(v.text))}`;
    }
    return `${out}}`;
  }
}
