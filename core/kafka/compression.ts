/**
 * Kafka message compression. kafkajs compresses with zlib's default level (6); Pharos registers
 * its gzip codec at a configurable level, default 1: on log text level 1 costs about a quarter of
 * level 6's CPU for a few percent more bytes (`npm run bench:collector` measures the send path),
 * and the collector runs on every host, where CPU is the scarce thing. Still gzip on the wire:
 * any consumer reads it. The codec table is kafkajs's, global to the process: the last level set wins.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import type { PharosConfig } from '../config/schema.js';

// kafkajs is CommonJS: its codec table is not among the named exports Node can detect.
const { CompressionCodecs, CompressionTypes } = kafkajs;
const gzip = promisify(zlib.gzip);
const unzip = promisify(zlib.unzip);

export function useGzipLevel(level: number): void {
  CompressionCodecs[CompressionTypes.GZIP] = () => ({
    compress: async (encoder: { buffer: Buffer }) => gzip(encoder.buffer, { level }),
    decompress: async (buffer: Buffer) => unzip(buffer),
  });
}

export function compressionType(codec: PharosConfig['kafka']['compression']): kafkajs.CompressionTypes {
  return codec === 'none' ? CompressionTypes.None : CompressionTypes.GZIP;
}
