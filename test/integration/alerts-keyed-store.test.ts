/**
 * What a standby reads when it takes over, on the real broker: the notification log, silences
 * and escalations kept on compacted topics, latest value per key, deletions honoured, read back
 * by a fresh instance (as another process would).
 */
import { afterAll, describe, expect, test } from 'vitest';
import { KeyedNotificationLogStore, type Entry } from '../../alerts/notify/notification-log.js';
import type { Silence } from '../../alerts/notify/silences.js';
import { KafkaKeyedStore } from '../../alerts/store/kafka-keyed-store.js';
import { KeyedSilenceStore } from '../../alerts/store/keyed-silence-store.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { validateConfig } from '../../core/config/load.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';

const log = silentLogger();
const brokers = testBrokers();
const bus = new KafkaBus(createKafka(validateConfig({ kafka: { brokers } }).kafka, log, brokers), brokers, log);
const stores: Array<KafkaKeyedStore<unknown>> = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  await bus.close();
});

function store<T>(topic: string): KafkaKeyedStore<T> {
  const s = new KafkaKeyedStore<T>(bus, topic, log);
  stores.push(s as KafkaKeyedStore<unknown>);
  return s;
}

describe('state on compacted topics', () => {
  test('the latest value per key survives into a fresh reader; a deleted key is gone; an empty topic loads empty', async () => {
    const topic = uniqueTopic('alerts-keyed');
    expect((await store<{ n: number }>(topic).load()).size).toBe(0);
    const writer = store<{ n: number }>(topic);
    await writer.put('a', { n: 1 });
    await writer.put('b', { n: 1 });
    await writer.put('a', { n: 2 });
    await writer.put('b', undefined);
    const read = await store<{ n: number }>(topic).load();
    expect([...read]).toEqual([['a', { n: 2 }]]);
  });

  test('notification log entries and silences round-trip through their stores', async () => {
    const nflog = new KeyedNotificationLogStore(store<Entry>(uniqueTopic('alerts-nflog')), 3600_000, () => 10_000_000);
    const topicNflog = (nflog as unknown as { store: KafkaKeyedStore<Entry> }).store.topic;
    const recent: Entry = { groupKey: '{}:{alertname="A"}', receiver: 'hook/webhook[0]', firing: ['fp1'], resolved: [], atMs: 9_999_000 };
    const old: Entry = { ...recent, groupKey: '{}:{alertname="Old"}', atMs: 1 };
    await nflog.save(recent);
    await nflog.save(old);
    // Entries past retention are dropped at load.
    expect(await new KeyedNotificationLogStore(store<Entry>(topicNflog), 3600_000, () => 10_000_000).load()).toEqual([recent]);

    const silenceTopic = uniqueTopic('alerts-silences');
    const silences = new KeyedSilenceStore(store<Silence>(silenceTopic));
    const s1 = { id: 's1', matchers: [{ name: 'instance', type: '=', value: 'h3' }], startsAt: 1, endsAt: 2, createdBy: 'e2e', comment: '', updatedAt: 1 } as unknown as Silence;
    const s2 = { ...s1, id: 's2' } as Silence;
    await silences.save([s1, s2]);
    await silences.save([s2]);
    expect((await new KeyedSilenceStore(store<Silence>(silenceTopic)).load()).map((s) => s.id)).toEqual(['s2']);
  });
});
