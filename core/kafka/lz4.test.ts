/**
 * LZ4 batches both ways against the real broker: the Java broker takes Pharos's frames (it
 * decompresses every batch to validate it), and Pharos's consumers read the frames Java writes
 * (a topic whose compression.type is lz4 makes the broker recompress what it is sent).
 */
import { randomBytes } from 'node:crypto';
import { decompressFrame } from 'lz4-napi';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../log.js';
import { readTopic, testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import { IdempotentProducer } from './idempotent-producer.js';
import { lz4Frame } from './lz4.js';

const brokers = testBrokers();
const kafka = new Kafka({ clientId: 'lz4-test', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
afterAll(() => admin.disconnect());

const readValues = async (topic: string, expected: number): Promise<Buffer[]> => (await readTopic(kafka, topic, expected)).map(({ message }) => message.value!);

describe('LZ4 record batches', () => {
  test('a frame decompresses to its input, across block boundaries and for empty input', async () => {
    for (const input of [Buffer.alloc(0), Buffer.from('x'), randomBytes(200_000), Buffer.alloc(3_000_000, 'ab')]) {
      expect(Buffer.compare(await decompressFrame(lz4Frame(input)), input)).toBe(0);
    }
  });

  test('Pharos reads batches the broker compressed with LZ4 itself (Java frames)', async () => {
    const topic = uniqueTopic('lz4-java');
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'lz4' }] }], waitForLeaders: true });
    // Sent uncompressed by kafkajs; stored as the broker recompressed it.
    const values = Array.from({ length: 50 }, (_, i) => Buffer.concat([Buffer.from(`line ${i} `), randomBytes(i * 300)]));
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic, messages: values.map((value) => ({ value })) });
    await plain.disconnect();
    const got = await readValues(topic, values.length);
    expect(got.map((v) => v.toString('hex'))).toEqual(values.map((v) => v.toString('hex')));
  });

  test('the broker stores Pharos LZ4 batches as they were sent, and they read back intact', async () => {
    const topic = uniqueTopic('lz4-pharos');
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const p = new IdempotentProducer(kafka, { codec: 'lz4', gzipLevel: 1, log: silentLogger() });
    const values = Array.from({ length: 20 }, (_, i) => Buffer.alloc(100_000 + i, `record ${i} `));
    try {
      await p.connect();
      await p.send(topic, values.map((value) => ({ key: Buffer.from('host'), value })));
    } finally {
      await p.close();
    }
    const got = await readValues(topic, values.length);
    expect(got.map((v) => v.toString('hex'))).toEqual(values.map((v) => v.toString('hex')));
  });
});
