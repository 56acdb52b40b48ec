/**
 * A Produce request (API key 0, version 3: the first with record batch v2 and idempotence, and
 * the oldest Kafka 4 still accepts) carrying batches already sealed (record-batch.ts), in the
 * shape kafkajs's connection sends: it frames it, adds the correlation id, writes it to the
 * socket (TLS and SASL included) and matches the response. The response is decoded per
 * partition, without throwing, so one partition's error does not hide another's success.
 */

export interface PartitionBatch {
  partition: number;
  batch: Buffer;
}

export interface PartitionResult {
  partition: number;
  errorCode: number;
}

/** What kafkajs's `Connection.send` takes: a request that encodes to an Encoder-like object, and a response decoder. */
export interface ProtocolRequest {
  request: { apiKey: number; apiVersion: number; apiName: string; encode: () => Promise<{ buf: Buffer; buffer: Buffer }> };
  response: { decode: (raw: Buffer) => Promise<PartitionResult[]>; parse: (results: PartitionResult[]) => Promise<PartitionResult[]> };
  requestTimeout?: number;
}

const PRODUCE = 0;
const VERSION = 3;

export function produceRequest(topic: string, batches: readonly PartitionBatch[], acks: number, timeoutMs: number): ProtocolRequest {
  return {
    request: {
      apiKey: PRODUCE,
      apiVersion: VERSION,
      apiName: 'Produce',
      encode: async () => {
        const payload = encodeProduce(topic, batches, acks, timeoutMs);
        return { buf: payload, buffer: payload };
      },
    },
    response: { decode: async (raw) => decodeProduceResponse(raw, topic), parse: async (results) => results },
  };
}

/** Produce v3 body: transactional_id, acks, timeout_ms, [topic [partition records]]. */
export function encodeProduce(topic: string, batches: readonly PartitionBatch[], acks: number, timeoutMs: number): Buffer {
  const name = Buffer.from(topic);
  let size = 2 + 2 + 4 + 4 + 2 + name.length + 4;
  for (const b of batches) size += 4 + 4 + b.batch.length;
  const out = Buffer.allocUnsafe(size);
  let p = out.writeInt16BE(-1, 0); // transactional id: none (idempotent, not transactional)
  p = out.writeInt16BE(acks, p);
  p = out.writeInt32BE(timeoutMs, p);
  p = out.writeInt32BE(1, p);
  p = out.writeInt16BE(name.length, p);
  p += name.copy(out, p);
  p = out.writeInt32BE(batches.length, p);
  for (const b of batches) {
    p = out.writeInt32BE(b.partition, p);
    p = out.writeInt32BE(b.batch.length, p);
    p += b.batch.copy(out, p);
  }
  return out;
}

/** Produce v3 response: [topic [partition error_code base_offset log_append_time]] throttle_time_ms. */
export function decodeProduceResponse(raw: Buffer, topic: string): PartitionResult[] {
  const out: PartitionResult[] = [];
  let p = 0;
  const topics = raw.readInt32BE(p);
  p += 4;
  for (let t = 0; t < topics; t++) {
    const nameLength = raw.readInt16BE(p);
    p += 2;
    const name = raw.toString('utf8', p, p + nameLength);
    p += nameLength;
    const partitions = raw.readInt32BE(p);
    p += 4;
    for (let i = 0; i < partitions; i++) {
      const partition = raw.readInt32BE(p);
      const errorCode = raw.readInt16BE(p + 4);
      p += 4 + 2 + 8 + 8;
      if (name === topic) out.push({ partition, errorCode });
    }
  }
  return out;
}
