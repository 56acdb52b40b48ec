/**
 * LZ4 for Kafka record batches (codec 3 in a batch's attributes), in the LZ4 frame format the
 * broker and librdkafka write: `kafka.compression: lz4`.
 *
 * What it buys: the broker decompresses every batch to validate it, and inflating gzip is most
 * of its time per request; and compressing costs a fraction of gzip level 1's CPU. Batches are
 * ~1.7× gzip's size on the wire and on disk. It is the default: in one `npm run bench:collector`
 * run comparing the two (BENCH_COMPARE="BENCH_COMPRESSION=lz4"), the collector shipped 1.37×
 * the lines/s with LZ4 (1.04–1.43× by round) for 75% of gzip's CPU, and the broker spent 0.22 s
 * validating against 0.32 s. (While the collector spent more of its time elsewhere, an earlier
 * comparison came out even: gzip runs on the thread pool, LZ4 on the event loop.) A worker
 * thread for LZ4 was tried: slower in every round (the copy to it and back) and 15 MB more resident.
 *
 * Compression: lz4_flex's block compressor as WebAssembly (lz4-wasm-nodejs), blocks of up to 256 KiB in
 * a frame written here (magic, descriptor, blocks, end mark: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md).
 * lz4-napi's native frame encoder is as fast, but the memory of its outputs, freed only by a
 * full garbage collection and then kept by malloc, grew the collector's resident memory by
 * 15–25 MB in one bench run (past the 150 MB bound); the WebAssembly module reuses one memory.
 * Decompression (consumers; frames from any producer, with or without checksums): lz4-napi.
 *
 * kafkajs ships only gzip: `registerLz4Codec` lets Pharos's consumers read LZ4 batches, its own
 * and any other producer's (librdkafka, the Java client, an OpenTelemetry Collector exporter).
 */
import kafkajs from 'kafkajs';
import { decompressFrame } from 'lz4-napi';
import lz4Block from 'lz4-wasm-nodejs';

/**
 * Largest block: 256 KiB, so each piece of a collector batch (one read's records, ~100 KB) is one
 * block. With 64 KiB blocks (the Java client's) there were twice the calls into the compressor,
 * each allocating in its memory. Every LZ4 decoder takes any of the frame format's sizes.
 */
const BLOCK_BYTES = 256 * 1024;
/**
 * Magic 0x184D2204; FLG 0x60: version 1, independent blocks, no block or content checksum, no
 * content size; BD 0x50: 256 KiB blocks; then the descriptor's checksum, (xxh32(FLG, BD) >> 8) & 0xff.
 */
const FRAME_HEADER = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x50, 0xfb]);
/** A block size with this bit set: the block is stored as it is (it did not get smaller). */
const STORED = 0x80000000;

/** Shorter parts are stored as they are: compressing a few bytes costs a call and saves nothing. */
const MIN_COMPRESSED_BYTES = 64;

/**
 * One LZ4 frame of the concatenation of `parts`, after `headroom` bytes left for the caller (a
 * record batch's header). Blocks never span two parts, so a batch's records are compressed
 * where they lie, without first being joined into one buffer.
 */
export function lz4Frame(parts: Uint8Array | readonly Uint8Array[], headroom = 0): Buffer {
  const blocks: Array<{ payload: Uint8Array; stored: boolean }> = [];
  let total = headroom + FRAME_HEADER.length + 4;
  for (const part of parts instanceof Uint8Array ? [parts] : parts) {
    for (let at = 0; at < part.length; at += BLOCK_BYTES) {
      const input = part.subarray(at, Math.min(at + BLOCK_BYTES, part.length));
      // lz4_flex's size-prepended block: 4 bytes of uncompressed size, then the block.
      const compressed = input.length >= MIN_COMPRESSED_BYTES ? lz4Block.compress(input).subarray(4) : undefined;
      const block = compressed !== undefined && compressed.length < input.length ? { payload: compressed, stored: false } : { payload: input, stored: true };
      blocks.push(block);
      total += 4 + block.payload.length;
    }
  }
  const out = Buffer.allocUnsafe(total);
  FRAME_HEADER.copy(out, headroom);
  let p = headroom + FRAME_HEADER.length;
  for (const { payload, stored } of blocks) {
    out.writeUInt32LE(stored ? (payload.length | STORED) >>> 0 : payload.length, p);
    out.set(payload, p + 4);
    p += 4 + payload.length;
  }
  out.writeUInt32LE(0, p); // end mark
  return out;
}

let registered = false;

/** kafkajs decodes (and, if asked, encodes) LZ4 batches from now on, process-wide. */
export function registerLz4Codec(): void {
  if (registered) return;
  registered = true;
  // kafkajs is CommonJS, and Node's ESM loader does not find these two as named exports.
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => lz4Frame(encoder.buffer),
    decompress: (buffer: Buffer) => decompressFrame(buffer),
  });
}

// Whoever imports this (the Kafka client factory, the produce path) can read LZ4 batches.
registerLz4Codec();
