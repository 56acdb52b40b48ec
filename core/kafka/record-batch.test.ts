/**
 * Record batches as kafkajs's decoder (what Pharos's consumers run) reads them, and their CRC as
 * kafkajs's own CRC-32C computes it. The broker's validation of the same bytes is in
 * idempotent-producer.test.ts.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { PiecedMessage, valueLength } from '../bus/bus.js';
import { crc32c } from './crc32c.js';
import { BATCH_HEADER_BYTES, buildBatch, encodeRecords, sealBatch, type BatchCodec, type RecordInput } from './record-batch.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
  firstOffset: string;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  firstTimestamp: string;
  records: Array<{ key: Buffer | null; value: Buffer; headers: Record<string, Buffer>; offset: string; timestamp: string }>;
}>;
const jsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C') as (b: Buffer) => number;

const messages: RecordInput[] = [
  { key: Buffer.from('host-a'), value: Buffer.from('first'), headers: { 'pharos.wire': 'otlp-logs/1' } },
  { key: null, value: Buffer.alloc(0) },
  // A value whose length takes a three-byte varint, and several headers.
  { key: Buffer.from('h'), value: randomBytes(70_000), headers: { a: '1', 'b-é': 'ü' } },
];

describe('record batch v2', () => {
  for (const codec of ['none', 'gzip', 'lz4'] as BatchCodec[]) {
    test(`${codec}: kafkajs decodes every record, the producer fields and the timestamp`, async () => {
      const unsealed = await buildBatch(messages, codec, 1, 1_764_000_000_123);
      const bytes = sealBatch(unsealed, 4242n, 3, 17);
      const batch = await decodeBatch(new Decoder(bytes));
      expect(batch.producerId).toBe('4242');
      expect(batch.producerEpoch).toBe(3);
      expect(batch.firstSequence).toBe(17);
      expect(batch.lastOffsetDelta).toBe(2);
      expect(batch.firstTimestamp).toBe('1764000000123');
      expect(batch.records.map((r) => r.offset)).toEqual(['0', '1', '2']);
      expect(batch.records.map((r) => r.key?.toString() ?? null)).toEqual(['host-a', null, 'h']);
      expect(batch.records[0]!.value.toString()).toBe('first');
      expect(batch.records[1]!.value.length).toBe(0);
      expect(Buffer.compare(batch.records[2]!.value, messages[2]!.value)).toBe(0);
      expect(Object.fromEntries(Object.entries(batch.records[2]!.headers).map(([k, v]) => [k, v.toString()]))).toEqual({ a: '1', 'b-é': 'ü' });
      expect(batch.records.every((r) => r.timestamp === '1764000000123')).toBe(true);
    });
  }

  test('the CRC covers attributes to the end, as kafkajs computes it, and follows a re-seal', async () => {
    const unsealed = await buildBatch(messages, 'gzip', 1, Date.now());
    const first = Buffer.from(sealBatch(unsealed, 1n, 0, 0));
    expect(first.readUInt32BE(17)).toBe(jsCrc32c(first.subarray(21)) >>> 0);
    const again = sealBatch(unsealed, 1n, 0, 5);
    expect(again.readInt32BE(53)).toBe(5);
    expect(again.readUInt32BE(17)).toBe(jsCrc32c(again.subarray(21)) >>> 0);
    expect(again.readUInt32BE(17)).not.toBe(first.readUInt32BE(17));
  });

  test('batch length and header size match the bytes', async () => {
    const unsealed = await buildBatch(messages, 'none', 1, 0);
    expect(unsealed.bytes.readInt32BE(8)).toBe(unsealed.bytes.length - 12);
    expect(unsealed.bytes.length).toBe(BATCH_HEADER_BYTES + encodeRecords(messages).length);
    expect(unsealed.count).toBe(3);
  });
});

describe('crc32c', () => {
  test('agrees with kafkajs on random buffers of every small length and some large ones, and chains', () => {
    for (let n = 0; n < 300; n++) {
      const b = randomBytes(n);
      expect(crc32c(b)).toBe(jsCrc32c(b) >>> 0);
    }
    const big = randomBytes(3 << 20);
    expect(crc32c(big)).toBe(jsCrc32c(big) >>> 0);
    expect(crc32c(big.subarray(1000), crc32c(big.subarray(0, 1000)))).toBe(crc32c(big));
  });
});

describe('record batch v2 from values in pieces', () => {
  for (const codec of ['none', 'gzip', 'lz4'] as BatchCodec[]) {
    test(`${codec}: a value given as pieces is written as the joined value is, and spare buffers do not leak between batches`, async () => {
      const value = randomBytes(300_000);
      const pieces = [value.subarray(0, 7), value.subarray(7, 7), value.subarray(7, 250_000), value.subarray(250_000)];
      const pieced = new PiecedMessage(Buffer.from('k'), pieces, value.length, { h: 'v' });
      const joined = { key: Buffer.from('k'), value, headers: { h: 'v' } };
      // Several batches at once, and one after them: each takes its own scratch buffer.
      const [a, b] = await Promise.all([buildBatch([pieced, messages[0]!], codec, 1, 5), buildBatch([joined, messages[0]!], codec, 1, 5)]);
      const c = await buildBatch([messages[2]!, pieced], codec, 1, 5);
      // LZ4 compresses pieces as blocks of their own: the same records, not the same bytes.
      if (codec !== 'lz4') expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
      const [fromPieces, fromJoined] = await Promise.all([decodeBatch(new Decoder(sealBatch(a, 1n, 0, 0))), decodeBatch(new Decoder(sealBatch(b, 1n, 0, 0)))]);
      expect(fromPieces.records.map((r) => [r.key?.toString(), r.value.toString('hex'), r.headers])).toEqual(fromJoined.records.map((r) => [r.key?.toString(), r.value.toString('hex'), r.headers]));
      const decoded = await decodeBatch(new Decoder(sealBatch(c, 1n, 0, 0)));
      expect(Buffer.compare(decoded.records[1]!.value, value)).toBe(0);
      expect(Buffer.compare(decoded.records[0]!.value, messages[2]!.value)).toBe(0);
      expect(valueLength(pieced)).toBe(value.length);
      expect(Buffer.compare(pieced.value, value)).toBe(0);
    });
  }
});
