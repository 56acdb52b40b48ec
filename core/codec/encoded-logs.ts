/**
 * Log records already in wire form: what a file source hands the Kafka sink instead of record
 * objects. Each record is written once, as the `ScopeLogs.log_records` field it becomes in an
 * ExportLogsServiceRequest, straight from the line's bytes where it can be; the sink then only
 * frames them into messages (`encodeEncodedLogs`).
 *
 * Why: `npm run bench:collector` profiled the collector at ~2.2 µs of main-thread CPU per line,
 * most of it building a record object, its attributes object and body string per line, then
 * walking them again to encode. A plain line's record is its body bytes, a severity, attributes
 * that are the same for every line of the file (written once per file) and a sequence number.
 * Messages are framed around the records where they lie (`encodeEncodedLogs` returns pieces);
 * the producer copies them once, into the Kafka record batch.
 * The bytes are exactly what the general writer produces for the same record (the tests check
 * it), so readers cannot tell the paths apart.
 */
import type { Attributes, LogRecord } from '../model/records.js';
import { writeAttributes, writeLogRecordField } from './otlp-logs-writer.js';
import type { BufferPool } from './buffer-pool.js';
import { ProtoWriter, varintSize, writeVarintAt } from './proto-writer.js';

/** Records of one resource (no instrumentation scope), as concatenated `log_records` fields. */
export interface EncodedLogs {
  readonly resource: Attributes;
  readonly bytes: Buffer;
  /** End of each record in `bytes`: where a batch may be cut into messages. */
  readonly ends: readonly number[];
  /**
   * Hands `bytes` back for reuse (a pooled builder's): called once by whoever reads them last
   * (the Kafka sink, after acknowledgement). After it, `bytes` may hold other records.
   */
  readonly release?: () => void;
}

/** A plain line's severity, as its record writes it (severity_number, severity_text). */
export interface PlainSeverity {
  readonly number: number;
  readonly text: string;
}

const SEQ_KEY = Buffer.from('pharos.seq');

/** A plain record's severity_number and severity_text fields (either absent when unset). */
export function severityFields(severity: PlainSeverity): Buffer {
  const w = new ProtoWriter(64);
  if (severity.number !== 0) {
    w.byte(0x10);
    w.varint(severity.number);
  }
  if (severity.text !== '') {
    w.byte(0x1a);
    w.string(severity.text);
  }
  return Buffer.from(w.finish());
}

/** `attrs` as LogRecord.attributes fields, in their order: the part of a record that repeats for a whole file. */
export function encodeAttributeFields(attrs: Attributes): Buffer {
  const w = new ProtoWriter(1024);
  writeAttributes(w, 0x32, attrs, 0);
  return Buffer.from(w.finish());
}

export class EncodedLogsBuilder {
  private readonly w: ProtoWriter;
  private readonly ends: number[] = [];
  /** The last observed time and its fixed64 bytes: every line of one read shares it, and 8 stores beat a BigInt write. */
  private observed = -1n;
  private readonly observedBytes = new Uint8Array(8);
  private readonly prefixes = new Map<PlainSeverity, Uint8Array>();
  private lastSeverity: PlainSeverity | undefined;
  private lastPrefix: Uint8Array = new Uint8Array(0);
  private suffixAttributes: Buffer | undefined;
  private suffixes: Array<Uint8Array | undefined> = [];

  /** With a `pool`, the records are written into one of its buffers, which `finish()`'s `release` gives back. */
  constructor(
    readonly resource: Attributes,
    sizeHint = 64 * 1024,
    private readonly pool?: BufferPool,
  ) {
    this.w = new ProtoWriter(sizeHint, pool);
  }

  get count(): number {
    return this.ends.length;
  }

  /** Any record, through the general writer. */
  add(r: LogRecord): void {
    writeLogRecordField(this.w, r);
    this.ends.push(this.w.pos);
  }

  /**
   * A record whose body is `bytes[start, end)` (valid UTF-8), no event time, no trace context:
   * the same bytes `add` writes for it, without the record object. `attributes`: fields from
   * `encodeAttributeFields`, written before `pharos.seq`.
   *
   * Everything but the body, the sequence number and the observed time repeats from record to
   * record, so it is copied from templates: per severity, and per file and sequence-number size.
   * Field by field, those bytes were a fifth of the collector's main thread.
   */
  addPlain(bytes: Buffer, start: number, end: number, severity: PlainSeverity, attributes: Buffer, seq: number, observedTimeUnixNano: bigint): void {
    const len = end - start;
    const prefix = this.severityPrefix(severity);
    const seqSize = varintSize(seq);
    const suffix = this.suffix(attributes, seqSize);
    const timed = observedTimeUnixNano > 0n && observedTimeUnixNano < 1n << 64n;
    const bodyValue = len > 0 ? 1 + varintSize(len) + len : 0;
    const recordLen = prefix.length + (len > 0 ? 1 + varintSize(bodyValue) + bodyValue : 0) + suffix.length + seqSize + (timed ? 9 : 0);
    const w = this.w;
    w.ensure(recordLen + 11);
    const buf = w.buf;
    let p = w.pos;
    buf[p++] = 0x12; // ScopeLogs.log_records
    p = writeVarintAt(buf, p, recordLen);
    buf.set(prefix, p);
    p += prefix.length;
    if (len > 0) {
      buf[p++] = 0x2a; // body: AnyValue { string_value }
      p = writeVarintAt(buf, p, bodyValue);
      buf[p++] = 0x0a;
      p = writeVarintAt(buf, p, len);
      bytes.copy(buf, p, start, end);
      p += len;
    }
    buf.set(suffix, p);
    p = writeVarintAt(buf, p + suffix.length, seq);
    if (timed) {
      if (observedTimeUnixNano !== this.observed) {
        this.observed = observedTimeUnixNano;
        new DataView(this.observedBytes.buffer).setBigUint64(0, observedTimeUnixNano, true);
      }
      const ob = this.observedBytes;
      buf[p++] = 0x59;
      for (let i = 0; i < 8; i++) buf[p++] = ob[i]!;
    }
    w.pos = p;
    this.ends.push(p);
  }

  /** severity_number and severity_text as fields. */
  private severityPrefix(severity: PlainSeverity): Uint8Array {
    if (severity === this.lastSeverity) return this.lastPrefix;
    let prefix = this.prefixes.get(severity);
    if (prefix === undefined) this.prefixes.set(severity, (prefix = severityFields(severity)));
    this.lastSeverity = severity;
    this.lastPrefix = prefix;
    return prefix;
  }

  /**
   * Records written elsewhere in the same bytes as `addPlain` (line-scan.ts's WebAssembly
   * writer): `count` of them in `bytes`, record i ending at `ends[i]`.
   */
  addWritten(bytes: Uint8Array, ends: Uint32Array, count: number): void {
    const w = this.w;
    w.ensure(bytes.length);
    w.buf.set(bytes, w.pos);
    const base = w.pos;
    for (let i = 0; i < count; i++) this.ends.push(base + ends[i]!);
    w.pos += bytes.length;
  }

  /** `attributes`, then the `pharos.seq` KeyValue up to its varint: KeyValue { key, value: AnyValue { int_value } }. */
  private suffix(attributes: Buffer, seqSize: number): Uint8Array {
    if (attributes !== this.suffixAttributes) {
      this.suffixAttributes = attributes;
      this.suffixes = [];
    }
    let suffix = this.suffixes[seqSize];
    if (suffix === undefined) {
      const head = [0x32, 2 + SEQ_KEY.length + 2 + 1 + seqSize, 0x0a, SEQ_KEY.length, ...SEQ_KEY, 0x12, 1 + seqSize, 0x18];
      this.suffixes[seqSize] = suffix = Buffer.concat([attributes, Buffer.from(head)]);
    }
    return suffix;
  }

  /** The records written; the builder must not be used after. */
  finish(): EncodedLogs {
    const pool = this.pool;
    if (pool === undefined) return { resource: this.resource, bytes: this.w.finish(), ends: this.ends };
    let buf: Buffer | undefined = this.w.buf;
    const release = () => {
      // Once: a second call would give back a buffer another builder may be writing by then.
      if (buf !== undefined) pool.give(buf);
      buf = undefined;
    };
    return { resource: this.resource, bytes: this.w.finish(), ends: this.ends, release };
  }
}

/** Bytes of a length-delimited field of `len` content bytes with a one-byte tag. */
const fieldSize = (len: number): number => 1 + varintSize(len) + len;

interface Piece {
  bytes: Buffer;
  start: number;
  end: number;
}

/** One ExportLogsServiceRequest as consecutive pieces: framing, then views of the records' buffers. */
export interface EncodedMessage {
  readonly pieces: Buffer[];
  /** Their total bytes. */
  readonly length: number;
}

/**
 * ExportLogsServiceRequests holding `parts`' records, in order, each at most `maxBytes` (a record
 * that alone is larger goes alone). Parts of one resource object share a ResourceLogs per message.
 */
export function encodeEncodedLogs(parts: readonly EncodedLogs[], maxBytes: number): EncodedMessage[] {
  const byResource = new Map<Attributes, EncodedLogs[]>();
  for (const p of parts) {
    if (p.ends.length === 0) continue;
    const list = byResource.get(p.resource);
    if (list) list.push(p);
    else byResource.set(p.resource, [p]);
  }
  const out: EncodedMessage[] = [];
  // The message being filled: its ResourceLogs so far, and its size on the wire.
  let message: Array<{ resource: Buffer; pieces: Piece[]; recordBytes: number }> = [];
  let messageBytes = 0;
  const close = () => {
    if (message.length > 0) out.push(writeMessage(message, messageBytes));
    message = [];
    messageBytes = 0;
  };
  for (const [resource, list] of byResource) {
    const resourceBytes = resourceField(resource);
    let open: { resource: Buffer; pieces: Piece[]; recordBytes: number } | undefined;
    const sizeOf = (recordBytes: number) => fieldSize(resourceBytes.length + fieldSize(recordBytes));
    for (const p of list) {
      let from = 0;
      for (let i = 0; i < p.ends.length; i++) {
        const start = i === 0 ? 0 : p.ends[i - 1]!;
        const end = p.ends[i]!;
        const grown = open ? sizeOf(open.recordBytes + end - start) - sizeOf(open.recordBytes) : sizeOf(end - start);
        if (messageBytes > 0 && messageBytes + grown > maxBytes) {
          if (open && start > from) open.pieces.push({ bytes: p.bytes, start: from, end: start });
          from = start;
          close();
          open = undefined;
        }
        if (!open) {
          open = { resource: resourceBytes, pieces: [], recordBytes: 0 };
          message.push(open);
          messageBytes += sizeOf(0);
        }
        messageBytes += sizeOf(open.recordBytes + end - start) - sizeOf(open.recordBytes);
        open.recordBytes += end - start;
      }
      const last = p.ends[p.ends.length - 1]!;
      if (open && last > from) open.pieces.push({ bytes: p.bytes, start: from, end: last });
    }
  }
  close();
  return out;
}

/** The `ResourceLogs.resource` field. */
function resourceField(resource: Attributes): Buffer {
  const w = new ProtoWriter(512);
  w.byte(0x0a);
  const res = w.begin(2);
  writeAttributes(w, 0x0a, resource, 0);
  w.end(res, 2);
  return Buffer.from(w.finish());
}

/** The message's framing written around views of its records (no copy of them). */
function writeMessage(resourceLogs: Array<{ resource: Buffer; pieces: Piece[]; recordBytes: number }>, size: number): EncodedMessage {
  const pieces: Buffer[] = [];
  for (const rl of resourceLogs) {
    const scopeLogs = fieldSize(rl.recordBytes);
    const w = new ProtoWriter(rl.resource.length + 16);
    w.byte(0x0a); // ExportLogsServiceRequest.resource_logs
    w.varint(rl.resource.length + scopeLogs);
    w.raw(rl.resource);
    w.byte(0x12); // ResourceLogs.scope_logs
    w.varint(rl.recordBytes);
    pieces.push(w.finish());
    for (const piece of rl.pieces) pieces.push(piece.bytes.subarray(piece.start, piece.end));
  }
  return { pieces, length: size };
}
