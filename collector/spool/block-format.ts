/**
 * The spool's on-disk unit: one block per encoded batch, framed so damage is found and skipped.
 *
 *   magic   u32  0x50535031 ("PSP1")
 *   length  u32  payload bytes
 *   crc32   u32  of the payload (zlib's CRC-32, as gzip and PNG use)
 *   payload:
 *     seq      u64  the spool's batch sequence number, increasing across restarts
 *     records  u32  log records the batch holds (for accounting and `pharos spool inspect`)
 *     count    u32  Kafka messages, each: key length i32 (-1 = null), key, value length u32,
 *                   value, headers length u32, headers as JSON
 *
 * The magic lets a reader resynchronise after a damaged block: it scans for the next magic whose
 * length and checksum hold, so a corrupted middle costs only the blocks it touches.
 */
import { crc32 } from 'node:zlib';
import type { BusMessage } from '../../core/bus/bus.js';

export const BLOCK_MAGIC = 0x50535031;
export const BLOCK_HEADER_BYTES = 12;
/** A length beyond this is damage, not a batch (a batch is at most a few MB encoded). */
const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export interface SpoolBatch {
  /** Log records in the batch. */
  records: number;
  messages: BusMessage[];
}

export interface SpooledBatch extends SpoolBatch {
  seq: number;
}

export function encodeBlock(seq: number, batch: SpoolBatch): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(16);
  head.writeBigUInt64BE(BigInt(seq), 0);
  head.writeUInt32BE(batch.records, 8);
  head.writeUInt32BE(batch.messages.length, 12);
  parts.push(head);
  for (const m of batch.messages) {
    const headers = Buffer.from(JSON.stringify(m.headers ?? {}), 'utf8');
    const lens = Buffer.alloc(4);
    lens.writeInt32BE(m.key === null ? -1 : m.key.length, 0);
    parts.push(lens);
    if (m.key !== null) parts.push(m.key);
    parts.push(u32(m.value.length), m.value, u32(headers.length), headers);
  }
  const payload = Buffer.concat(parts);
  const header = Buffer.alloc(BLOCK_HEADER_BYTES);
  header.writeUInt32BE(BLOCK_MAGIC, 0);
  header.writeUInt32BE(payload.length, 4);
  header.writeUInt32BE(crc32(payload), 8);
  return Buffer.concat([header, payload]);
}

export interface ScannedBlock {
  /** Byte offset of the block in the scanned buffer. */
  offset: number;
  /** Offset just past the block. */
  end: number;
  batch: SpooledBatch;
}

export interface ScanResult {
  blocks: ScannedBlock[];
  /** Bytes that belong to no valid block: damage (a torn write, garbage, a bit flip). */
  damagedBytes: number;
  /** Where the first damage starts, if any. */
  firstDamageAt: number | undefined;
}

/** Every valid block of `buf`, in order; damaged stretches are skipped and measured, never thrown on. */
export function scanBlocks(buf: Buffer): ScanResult {
  const blocks: ScannedBlock[] = [];
  let damagedBytes = 0;
  let firstDamageAt: number | undefined;
  let pos = 0;
  while (pos < buf.length) {
    const block = blockAt(buf, pos);
    if (block) {
      blocks.push(block);
      pos = block.end;
      continue;
    }
    firstDamageAt ??= pos;
    const next = nextValidBlock(buf, pos + 1);
    damagedBytes += next - pos;
    pos = next;
  }
  return { blocks, damagedBytes, firstDamageAt };
}

function nextValidBlock(buf: Buffer, from: number): number {
  const magic = u32(BLOCK_MAGIC);
  let at = buf.indexOf(magic, from);
  while (at >= 0) {
    if (blockAt(buf, at)) return at;
    at = buf.indexOf(magic, at + 1);
  }
  return buf.length;
}

function blockAt(buf: Buffer, pos: number): ScannedBlock | undefined {
  if (buf.length - pos < BLOCK_HEADER_BYTES) return undefined;
  if (buf.readUInt32BE(pos) !== BLOCK_MAGIC) return undefined;
  const length = buf.readUInt32BE(pos + 4);
  if (length < 16 || length > MAX_PAYLOAD_BYTES || pos + BLOCK_HEADER_BYTES + length > buf.length) return undefined;
  const payload = buf.subarray(pos + BLOCK_HEADER_BYTES, pos + BLOCK_HEADER_BYTES + length);
  if (crc32(payload) !== buf.readUInt32BE(pos + 8)) return undefined;
  const batch = decodePayload(payload);
  return batch ? { offset: pos, end: pos + BLOCK_HEADER_BYTES + length, batch } : undefined;
}

/** Undefined when the framing inside a checksummed payload does not hold (a writer bug, not disk damage). */
function decodePayload(p: Buffer): SpooledBatch | undefined {
  try {
    const seq = Number(p.readBigUInt64BE(0));
    const records = p.readUInt32BE(8);
    const count = p.readUInt32BE(12);
    let pos = 16;
    const messages: BusMessage[] = [];
    for (let i = 0; i < count; i++) {
      const keyLen = p.readInt32BE(pos);
      pos += 4;
      const key = keyLen < 0 ? null : Buffer.from(slice(p, pos, keyLen));
      pos += Math.max(0, keyLen);
      const valueLen = p.readUInt32BE(pos);
      pos += 4;
      const value = Buffer.from(slice(p, pos, valueLen));
      pos += valueLen;
      const headersLen = p.readUInt32BE(pos);
      pos += 4;
      const headers = JSON.parse(slice(p, pos, headersLen).toString('utf8')) as Record<string, string>;
      pos += headersLen;
      messages.push({ key, value, headers });
    }
    if (pos !== p.length) return undefined;
    return { seq, records, messages };
  } catch {
    return undefined;
  }
}

function slice(p: Buffer, pos: number, len: number): Buffer {
  if (pos + len > p.length) throw new RangeError('field runs past the payload');
  return p.subarray(pos, pos + len);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
