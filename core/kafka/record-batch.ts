/**
 * Kafka record batches (message format v2, KIP-98), written by hand for the produce path
 * (idempotent-producer.ts). kafkajs builds the same bytes through an encoder that copies every
 * value twice and grows by reallocation; a collector batch is ~1.5 MB of OTLP, and those copies
 * and the encoding were 150 ms of the collector's main thread per 500,000 lines
 * (`npm run bench:collector`). Here each value is copied once (from its pieces, when it has them),
 * and the producer-id, epoch and sequence fields (the only ones that depend on when the batch
 * is sent) are filled in by `sealBatch` right before sending, so compression can run earlier.
 *
 * Layout: https://kafka.apache.org/documentation/#recordbatch
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { valueLength } from '../bus/bus.js';
import { crc32c } from './crc32c.js';
import { lz4Frame } from './lz4.js';

export interface RecordInput {
  key: Buffer | null;
  value: Buffer;
  headers?: Record<string, string>;
  /** The value as pieces (BusMessage.valuePieces): copied into the batch without joining them first. */
  readonly valuePieces?: readonly Buffer[];
}

export type BatchCodec = 'none' | 'gzip' | 'lz4';

/** Bytes of the batch header before the records. */
export const BATCH_HEADER_BYTES = 61;
/** Where the CRC-covered part starts (the attributes field). */
const CRC_FROM = 21;
const CODEC_BITS: Record<BatchCodec, number> = { none: 0, gzip: 1, lz4: 3 };
const gzip = promisify(zlib.gzip);
/**
 * zlib's output buffer: a batch's compressed bytes (~100-300 KB) come back in one piece. With
 * the default 16 KiB, each piece was a round trip between the thread pool and the event loop:
 * 90 ms of the collector's main thread per 500,000 lines (`npm run bench:collector`).
 */
const GZIP_OUTPUT_CHUNK = 256 * 1024;

/** Bytes of the zigzag varint of a 32-bit signed `n`. */
function varintSize(n: number): number {
  let u = ((n << 1) ^ (n >> 31)) >>> 0;
  let size = 1;
  while (u >= 0x80) {
    u >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  let u = ((n << 1) ^ (n >> 31)) >>> 0;
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

/** Headers as [key, value] byte pairs; one object is usually shared by every message of a batch. */
function headerBytes(headers: Record<string, string> | undefined, cache: Map<Record<string, string>, Array<[Buffer, Buffer]>>): Array<[Buffer, Buffer]> {
  if (!headers) return [];
  let pairs = cache.get(headers);
  if (!pairs) cache.set(headers, (pairs = Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])));
  return pairs;
}

/** Where each record's fields go: its body size (the record's length prefix) and value size. */
interface RecordsLayout {
  readonly total: number;
  readonly bodies: number[];
  readonly values: number[];
  readonly headers: Map<Record<string, string>, Array<[Buffer, Buffer]>>;
}

function layout(messages: readonly RecordInput[]): RecordsLayout {
  const headersCache = new Map<Record<string, string>, Array<[Buffer, Buffer]>>();
  const bodies = new Array<number>(messages.length);
  const values = new Array<number>(messages.length);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const value = valueLength(m);
    let body = 1 + 1 + varintSize(i); // attributes, timestamp delta 0, offset delta
    body += m.key === null ? 1 : varintSize(m.key.length) + m.key.length;
    body += varintSize(value) + value;
    const headers = headerBytes(m.headers, headersCache);
    body += varintSize(headers.length);
    for (const [k, v] of headers) body += varintSize(k.length) + k.length + varintSize(v.length) + v.length;
    bodies[i] = body;
    values[i] = value;
    total += varintSize(body) + body;
  }
  return { total, bodies, values, headers: headersCache };
}

/**
 * The records part of a batch as consecutive parts: each value's pieces where they lie, and
 * everything around them written into one small buffer. Every record is stamped with the
 * batch's first timestamp (delta 0) and its position as offset delta.
 */
function recordParts(messages: readonly RecordInput[], l: RecordsLayout): Uint8Array[] {
  let values = 0;
  for (const v of l.values) values += v;
  const framing = Buffer.allocUnsafe(l.total - values);
  const parts: Uint8Array[] = [];
  let p = 0;
  let from = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    p = writeVarint(framing, p, l.bodies[i]!);
    framing[p++] = 0; // record attributes: unused
    framing[p++] = 0; // timestamp delta
    p = writeVarint(framing, p, i);
    if (m.key === null) p = writeVarint(framing, p, -1);
    else {
      p = writeVarint(framing, p, m.key.length);
      p += m.key.copy(framing, p);
    }
    p = writeVarint(framing, p, l.values[i]!);
    parts.push(framing.subarray(from, p));
    for (const piece of m.valuePieces ?? [m.value]) if (piece.length > 0) parts.push(piece);
    from = p;
    const headers = headerBytes(m.headers, l.headers);
    p = writeVarint(framing, p, headers.length);
    for (const [k, v] of headers) {
      p = writeVarint(framing, p, k.length);
      p += k.copy(framing, p);
      p = writeVarint(framing, p, v.length);
      p += v.copy(framing, p);
    }
  }
  parts.push(framing.subarray(from, p));
  return parts;
}

/** The records part of a batch, uncompressed, written at `out[at]`. */
function writeRecords(messages: readonly RecordInput[], l: RecordsLayout, out: Buffer, at: number): void {
  let p = at;
  for (const part of recordParts(messages, l)) {
    out.set(part, p);
    p += part.length;
  }
}

/** The records part of a batch, uncompressed. */
export function encodeRecords(messages: readonly RecordInput[]): Buffer {
  const l = layout(messages);
  const out = Buffer.allocUnsafe(l.total);
  writeRecords(messages, l, out, 0);
  return out;
}

/**
 * Buffers the records of a batch are written to before compression, kept for the next batch:
 * a fresh megabyte-sized buffer per batch is fresh memory the kernel must fault in and zero
 * (the copies into it cost 3× a copy into a reused one in `npm run bench:collector`).
 */
const spareBuffers: Buffer[] = [];
const SPARE_BUFFERS = 2;
const SPARE_MAX_BYTES = 8 * 1024 * 1024;

function takeBuffer(bytes: number): Buffer {
  const i = spareBuffers.findIndex((b) => b.length >= bytes);
  if (i >= 0) return spareBuffers.splice(i, 1)[0]!;
  return Buffer.allocUnsafe(bytes <= SPARE_MAX_BYTES ? Math.max(bytes, 2 * 1024 * 1024) : bytes);
}

function giveBack(b: Buffer): void {
  if (b.length <= SPARE_MAX_BYTES && spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(b);
}

/** A batch whose records are encoded (and compressed): everything but who sends it and at which sequence. */
export interface UnsealedBatch {
  /** Header with zeroed producer fields and CRC, then the (compressed) records. */
  readonly bytes: Buffer;
  readonly count: number;
}

/**
 * Encodes and compresses `messages` as one batch. gzip runs on libuv's thread pool; LZ4 (0.4 ms
 * a megabyte) on the caller's thread, where a batch is prepared while the previous one is on the wire.
 */
export async function buildBatch(messages: readonly RecordInput[], codec: BatchCodec, gzipLevel: number, timestampMs: number): Promise<UnsealedBatch> {
  const l = layout(messages);
  let bytes: Buffer;
  if (codec === 'lz4') {
    // Compressed from where the values lie, into a buffer that has room for the header.
    bytes = lz4Frame(recordParts(messages, l), BATCH_HEADER_BYTES);
  } else if (codec === 'gzip') {
    const scratch = takeBuffer(l.total);
    writeRecords(messages, l, scratch, 0);
    let body: Buffer;
    try {
      body = await gzip(scratch.subarray(0, l.total), { level: gzipLevel, chunkSize: GZIP_OUTPUT_CHUNK });
    } finally {
      giveBack(scratch);
    }
    bytes = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
    body.copy(bytes, BATCH_HEADER_BYTES);
  } else {
    bytes = Buffer.allocUnsafe(BATCH_HEADER_BYTES + l.total);
    writeRecords(messages, l, bytes, BATCH_HEADER_BYTES);
  }
  bytes.writeBigInt64BE(0n, 0); // base offset: the broker assigns it
  bytes.writeInt32BE(bytes.length - 12, 8); // batch length: everything after this field
  bytes.writeInt32BE(-1, 12); // partition leader epoch: set by the broker
  bytes.writeInt8(2, 16); // magic
  bytes.writeUInt32BE(0, 17); // CRC: sealBatch
  bytes.writeInt16BE(CODEC_BITS[codec], 21); // attributes: codec, create time, not transactional
  bytes.writeInt32BE(messages.length - 1, 23); // last offset delta
  bytes.writeBigInt64BE(BigInt(timestampMs), 27); // first timestamp
  bytes.writeBigInt64BE(BigInt(timestampMs), 35); // max timestamp
  bytes.writeBigInt64BE(-1n, 43); // producer id: sealBatch
  bytes.writeInt16BE(-1, 51); // producer epoch
  bytes.writeInt32BE(-1, 53); // base sequence
  bytes.writeInt32BE(messages.length, 57);
  return { bytes, count: messages.length };
}

/**
 * Stamps the idempotent producer's identity and the batch's first sequence number, and the CRC
 * over them. Writes in place: a batch is sealed again (same values) when it is retried.
 */
export function sealBatch(batch: UnsealedBatch, producerId: bigint, producerEpoch: number, baseSequence: number): Buffer {
  const b = batch.bytes;
  b.writeBigInt64BE(producerId, 43);
  b.writeInt16BE(producerEpoch, 51);
  b.writeInt32BE(baseSequence, 53);
  b.writeUInt32BE(crc32c(b.subarray(CRC_FROM)), 17);
  return b;
}
