import { describe, expect, test } from 'vitest';
import kafkajs from 'kafkajs';
import { partitionForKey, type ConsumedBatch } from './bus.js';
import { MemoryBus } from './memory-bus.js';
import { waitFor } from '../../test/harness/wait.js';

describe('partitionForKey', () => {
  test('places keys as Kafka’s default partitioner (murmur2) does', () => {
    const partitioner = kafkajs.Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (let i = 0; i < 500; i++) {
      const key = Buffer.from(`host-${i}-${'x'.repeat(i % 13)}`);
      const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
      expect(partitionForKey(key, 7, 0)).toBe(expected);
    }
  });
});

describe('MemoryBus', () => {
  test('delivers each key’s messages in order, once, to every group', async () => {
    const bus = new MemoryBus(3);
    await bus.ensureTopics(['t'], 3);
    const seen = new Map<string, string[]>();
    const consumers = await Promise.all(
      ['g1', 'g2'].map((groupId) =>
        bus.consumer({
          groupId,
          topics: ['t'],
          fromBeginning: true,
          eachBatch: async (b: ConsumedBatch) => {
            for (const m of b.messages) {
              const k = `${groupId}/${m.key}`;
              seen.set(k, [...(seen.get(k) ?? []), m.value.toString()]);
            }
          },
        }),
      ),
    );
    const producer = await bus.producer();
    for (let i = 0; i < 100; i++) await producer.send('t', [{ key: Buffer.from(`h${i % 4}`), value: Buffer.from(String(i)) }]);
    await waitFor('200 messages seen', () => [...seen.values()].reduce((n, v) => n + v.length, 0) === 200);
    for (const g of ['g1', 'g2']) {
      for (let h = 0; h < 4; h++) {
        expect(seen.get(`${g}/h${h}`)).toEqual(Array.from({ length: 25 }, (_, j) => String(j * 4 + h)));
      }
    }
    await Promise.all(consumers.map((c) => c.stop()));
    await bus.close();
  });

  test('offers a failed batch again from the same offset, and commits only after success', async () => {
    const bus = new MemoryBus(1);
    const producer = await bus.producer();
    await producer.send('t', [{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }]);
    let attempts = 0;
    const delivered: string[] = [];
    const consumer = await bus.consumer({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      eachBatch: async (b) => {
        attempts++;
        if (attempts === 1) throw new Error('warehouse down');
        delivered.push(...b.messages.map((m) => `${m.offset}:${m.value}`));
      },
    });
    await waitFor('both messages delivered', () => delivered.length === 2);
    expect(delivered).toEqual(['0:a', '1:b']);
    expect(attempts).toBe(2);
    await consumer.stop();
    await bus.close();
  });

  test('holds a producer back while a partition has too many uncommitted messages', async () => {
    const bus = new MemoryBus(1, 10);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let consumed = 0;
    const consumer = await bus.consumer({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      eachBatch: async (b) => {
        await gate;
        consumed += b.messages.length;
      },
    });
    const producer = await bus.producer();
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < 30; i++) {
        await producer.send('t', [{ key: null, value: Buffer.from(String(i)) }]);
        sent++;
      }
    })();
    await waitFor('10 sends', () => sent === 10);
    // Let the event loop turn many times: a producer that was not held back would have finished.
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    expect(sent).toBe(10);
    release();
    await sending;
    await waitFor('30 consumed', () => consumed === 30);
    await consumer.stop();
    await bus.close();
  });
});
