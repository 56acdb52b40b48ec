/**
 * The produce path against the real broker: what it writes is what kafkajs's consumer reads,
 * placed where kafkajs's partitioner would place it, and the idempotence holds where it
 * matters: a batch sent again under the same sequence is written once, a producer the broker
 * no longer knows starts over with a new id, and a send repeated by its caller is not written twice.
 */
import { PassThrough } from 'node:stream';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import type { BusMessage } from '../bus/bus.js';
import { createLogger, silentLogger } from '../log.js';
import { createTopics, readTopic, testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import { IdempotentProducer } from './idempotent-producer.js';
import type { BatchCodec } from './record-batch.js';

const brokers = testBrokers();
const kafka = new Kafka({ clientId: 'producer-test', brokers, logLevel: logLevel.NOTHING });
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

interface Read {
  partition: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/** Everything on `topic`, from the beginning, by kafkajs's consumer. */
async function readAll(topic: string, expected: number): Promise<Read[]> {
  return (await readTopic(kafka, topic, expected)).map(({ partition, message }) => ({
    partition,
    key: message.key?.toString() ?? null,
    value: message.value?.toString() ?? '',
    headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
  }));
}

function producer(codec: BatchCodec = 'gzip', retries = 5): IdempotentProducer {
  const p = new IdempotentProducer(kafka, { codec, gzipLevel: 1, log: silentLogger(), retry: { retries, initialMs: 50, maxMs: 500 } });
  cleanups.push(() => p.close());
  return p;
}

/** A new topic of `partitions` partitions, and a producer for it. */
async function topicAndProducer(prefix: string, partitions: number, codec: BatchCodec = 'gzip'): Promise<{ topic: string; p: IdempotentProducer }> {
  const topic = uniqueTopic(prefix);
  await createTopics(brokers, [topic], partitions);
  return { topic, p: producer(codec) };
}

const message = (key: string | null, value: string, headers?: Record<string, string>): BusMessage => ({ key: key === null ? null : Buffer.from(key), value: Buffer.from(value), ...(headers ? { headers } : {}) });

/** Sequences of the producer under test: white-box, to stage what a lost answer or a forgetful broker does. */
const sequencesOf = (p: IdempotentProducer) => (p as unknown as { sequences: Map<string, number> }).sequences;
const producerIdOf = (p: IdempotentProducer) => (p as unknown as { producerId: bigint | undefined }).producerId;

describe('IdempotentProducer on the real broker', () => {
  for (const codec of ['lz4', 'gzip', 'none'] as BatchCodec[]) {
    test(`${codec}: keys, values and headers arrive in order, each key in the partition kafkajs's default partitioner picks`, async () => {
      const { topic, p } = await topicAndProducer(`producer-${codec}`, 3, codec);
      await p.connect();
      const hosts = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
      const sent: BusMessage[] = [];
      for (let round = 0; round < 4; round++) {
        const batch = hosts.map((h) => message(h, `${h} ${round}`, { 'pharos.wire': 'test/1' }));
        sent.push(...batch);
        await p.send(topic, batch);
      }
      const read = await readAll(topic, sent.length);
      expect(read).toHaveLength(sent.length);
      const partitioner = Partitioners.DefaultPartitioner();
      const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (const h of hosts) {
        const mine = read.filter((r) => r.key === h);
        expect(mine.map((r) => r.value)).toEqual([0, 1, 2, 3].map((i) => `${h} ${i}`));
        const expected = partitioner({ topic, partitionMetadata, message: { key: h, value: '' } });
        expect(new Set(mine.map((r) => r.partition))).toEqual(new Set([expected]));
        expect(mine.every((r) => r.headers['pharos.wire'] === 'test/1')).toBe(true);
      }
    });
  }

  test('a prepared send delivers what it prepared; a preparation for another array is not used', async () => {
    const { topic, p } = await topicAndProducer('producer-prepared', 1);
    const a = [message('k', 'a1'), message('k', 'a2')];
    const b = [message('k', 'b1')];
    const preparedA = p.prepare(topic, a);
    await p.send(topic, a, preparedA);
    await p.send(topic, b, p.prepare(topic, [message('k', 'never sent')]));
    const read = await readAll(topic, 3);
    expect(read.map((r) => r.value)).toEqual(['a1', 'a2', 'b1']);
  });

  for (const codec of ['lz4', 'none'] as BatchCodec[]) {
    test(`${codec}: a send larger than a broker takes in one batch goes as several, in order, each message once`, async () => {
      const { topic, p } = await topicAndProducer(`producer-split-${codec}`, 2, codec);
      // 3.6 MB that does not compress, on two partitions: each partition's share is over MAX_BATCH_BYTES.
      const random = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));
      const big = Array.from({ length: 36 }, (_, i) => ({ key: Buffer.from(i % 2 === 0 ? 'even' : 'odd'), value: Buffer.concat([Buffer.from(`#${i} `), random(100_000)]) }));
      const small = [message('even', 'after'), message('odd', 'after')];
      await p.send(topic, big);
      await p.send(topic, small);
      const read = await readTopic(kafka, topic, big.length + small.length);
      expect(read).toHaveLength(big.length + small.length);
      for (const key of ['even', 'odd']) {
        const mine = read.filter((r) => r.message.key?.toString() === key).map((r) => r.message.value!);
        const expected = [...big, ...small].filter((m) => m.key!.toString() === key).map((m) => m.value);
        expect(mine.map((v) => v.subarray(0, 8).toString())).toEqual(expected.map((v) => v.subarray(0, 8).toString()));
        expect(mine.every((v, i) => v.equals(expected[i]!))).toBe(true);
      }
      // Sequences advanced by every message: the next send was in order, not refused.
      expect([...sequencesOf(p).values()].reduce((a, b) => a + b, 0)).toBe(big.length + small.length);
    });
  }

  test('a topic that takes smaller batches (max.message.bytes): a refused batch goes again in halves, in order, each message once', async () => {
    const topic = uniqueTopic('producer-small-topic');
    await createTopics(brokers, [topic], 1, { 'max.message.bytes': '20000' });
    const sink = new PassThrough();
    let logged = '';
    sink.on('data', (chunk: Buffer) => (logged += chunk.toString('utf8')));
    const p = new IdempotentProducer(kafka, { codec: 'none', gzipLevel: 1, log: createLogger({ level: 'warn', destination: sink }), retry: { retries: 5, initialMs: 50, maxMs: 500 } });
    cleanups.push(() => p.close());
    const refusals = () => logged.split('\n').filter((l) => l.includes('too large for the topic')).map((l) => JSON.parse(l) as { refused_bytes: number; batch_limit_bytes: number });
    const random = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));
    const first = Array.from({ length: 30 }, (_, i) => ({ key: Buffer.from('k'), value: Buffer.concat([Buffer.from(`#${i} `), random(2_000)]) }));
    const second = Array.from({ length: 30 }, (_, i) => ({ key: Buffer.from('k'), value: Buffer.concat([Buffer.from(`#${30 + i} `), random(2_000)]) }));
    await p.send(topic, first);
    // One refusal (the 60 KB batch): its halves were cut under half its size before they went.
    expect(refusals()).toHaveLength(1);
    expect(refusals()[0]!.refused_bytes).toBeGreaterThan(60_000);
    // Learned from it: the next send is cut before it goes, and nothing is refused again (every refusal lowers the limit, and says so).
    await p.send(topic, second);
    expect(refusals()).toHaveLength(1);
    const read = await readTopic(kafka, topic, 60);
    expect(read.map((r) => r.message.value!.subarray(0, 4).toString().trim())).toEqual([...first, ...second].map((m) => m.value.subarray(0, 4).toString().trim()));
    expect(read.every((r, i) => r.message.value!.equals([...first, ...second][i]!.value))).toBe(true);
    expect(sequencesOf(p).get(`${topic}/0`)).toBe(60);
    // One message larger than the topic takes cannot be cut: the send says why.
    await expect(p.send(topic, [{ key: Buffer.from('k'), value: random(30_000) }])).rejects.toThrow(/too large|larger/i);
    await p.send(topic, [message('k', 'after')]);
    const after = await readTopic(kafka, topic, 61);
    expect(after.at(-1)!.message.value!.toString()).toBe('after');
  });

  test('a batch sent again under the same sequence (its answer lost) is written once', async () => {
    const { topic, p } = await topicAndProducer('producer-dup', 1);
    await p.send(topic, [message('k', 'one'), message('k', 'two')]);
    // As if the acknowledgement had not arrived: the same records go again under the same sequence.
    sequencesOf(p).set(`${topic}/0`, 0);
    await p.send(topic, [message('k', 'one'), message('k', 'two')]);
    expect(sequencesOf(p).get(`${topic}/0`)).toBe(2);
    await p.send(topic, [message('k', 'three')]);
    const read = await readAll(topic, 3);
    expect(read.map((r) => r.value)).toEqual(['one', 'two', 'three']);
  });

  test('a sequence the broker finds out of order: a new producer id, and the batch is written once', async () => {
    const { topic, p } = await topicAndProducer('producer-ooo', 1);
    await p.send(topic, [message('k', 'one')]);
    const firstId = producerIdOf(p);
    // A gap, as when the broker lost this producer's state: it refuses the batch as out of order.
    sequencesOf(p).set(`${topic}/0`, 1000);
    await p.send(topic, [message('k', 'two')]);
    expect(producerIdOf(p)).not.toBe(firstId);
    const read = await readAll(topic, 2);
    expect(read.map((r) => r.value)).toEqual(['one', 'two']);
  });

  test('the same messages sent again by their caller are not written again', async () => {
    const { topic, p } = await topicAndProducer('producer-again', 3);
    const batch = ['a', 'b', 'c', 'd'].map((k) => message(k, `v-${k}`));
    await p.send(topic, batch);
    // A caller retrying a send it thinks failed (e.g. after one of its partitions failed).
    await p.send(topic, batch);
    await p.send(topic, [message('a', 'after')]);
    const read = await readAll(topic, 5);
    expect(read.map((r) => r.value).sort()).toEqual(['after', 'v-a', 'v-b', 'v-c', 'v-d']);
  });

  test('a topic that does not exist: the send rejects with the broker’s reason once its retries are spent', async () => {
    const p = producer('gzip', 1);
    await p.connect();
    await expect(p.send(uniqueTopic('producer-missing'), [message('k', 'v')])).rejects.toThrow(/topic|partition/i);
  });

  test('close ends a send that is still retrying', async () => {
    const p = producer('gzip', 1000);
    await p.connect();
    const sending = p.send(uniqueTopic('producer-closed'), [message('k', 'v')]);
    await p.close();
    await expect(sending).rejects.toThrow();
  });
});
