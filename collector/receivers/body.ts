/**
 * Reads a push request's body: at most `maxBytes` on the wire, then gunzipped (the
 * OpenTelemetry Collector sends `Content-Encoding: gzip` by default) with the same limit on the
 * decompressed size, so a small gzip bomb is refused as 413 instead of filling memory.
 */
import type { IncomingMessage } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** A request the receiver refuses; `status` is the HTTP answer. */
export class ReceiveError extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 429 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'ReceiveError';
  }
}

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new ReceiveError(413, `request body of ${declared} bytes exceeds max_body_bytes (${maxBytes})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new ReceiveError(413, `request body exceeds max_body_bytes (${maxBytes})`);
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks, size);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return raw;
  if (encoding !== 'gzip' && encoding !== 'deflate') throw new ReceiveError(415, `Content-Encoding ${encoding} is not supported (use gzip, deflate or none)`);
  try {
    return await (encoding === 'gzip' ? gunzipAsync : inflateAsync)(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new ReceiveError(413, `request body decompresses to more than max_body_bytes (${maxBytes})`);
    }
    throw new ReceiveError(400, `request body is not valid ${encoding}: ${(err as Error).message}`);
  }
}
