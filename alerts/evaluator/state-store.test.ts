import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { MemoryBus } from '../../core/bus/memory-bus.js';
import { silentLogger } from '../../core/log.js';
import { testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import type { ActiveAlert } from './alert-state.js';
import { AlertStateStore } from './state-store.js';

const firing: ActiveAlert = { state: 'firing', labels: { alertname: 'A', instance: 'h1' }, annotations: {}, value: 1, activeAt: 1000, firedAt: 2000, lastSentAt: 2000 };

describe('AlertStateStore', () => {
  test('restores the latest state per alert from the in-process bus, also a second time', async () => {
    const bus = new MemoryBus();
    const store = new AlertStateStore({ bus, topic: 'state' });
    await store.ensureTopic();
    expect(await store.restore()).toEqual(new Map());
    await store.save([
      { group: 'g', rule: 'A', fingerprint: 'f1', alert: { ...firing, state: 'pending' } },
      { group: 'g', rule: 'A', fingerprint: 'f2', alert: firing },
    ]);
    await store.save([{ group: 'g', rule: 'A', fingerprint: 'f1', alert: firing }, { group: 'g', rule: 'A', fingerprint: 'f2' }]);
    const expected = new Map([['g/A', new Map([['f1', firing]])]]);
    expect(await new AlertStateStore({ bus, topic: 'state' }).restore()).toEqual(expected);
    expect(await new AlertStateStore({ bus, topic: 'state' }).restore()).toEqual(expected);
  });

  test('restores from a compacted Kafka topic read to the end seen at start', async () => {
    const brokers = testBrokers();
    const log = silentLogger();
    const bus = new KafkaBus(new Kafka({ clientId: 'alert-state-test', brokers, logLevel: logLevel.NOTHING }), brokers, log);
    const topic = uniqueTopic('alert-state');
    try {
      const store = new AlertStateStore({ bus, topic, log });
      await store.ensureTopic();
      const admin = bus.kafka.admin();
      await admin.connect();
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }], includeSynonyms: false });
      await admin.disconnect();
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('compact');

      expect(await store.restore()).toEqual(new Map()); // an empty topic returns at once
      await store.save([{ group: 'g', rule: 'A', fingerprint: 'f1', alert: { ...firing, state: 'pending' } }]);
      await store.save([{ group: 'g', rule: 'A', fingerprint: 'f2', alert: firing }]);
      await store.save([{ group: 'g', rule: 'A', fingerprint: 'f1', alert: firing }, { group: 'g', rule: 'A', fingerprint: 'f2' }]);
      await store.close();
      const restored = await new AlertStateStore({ bus, topic, log }).restore();
      expect(restored).toEqual(new Map([['g/A', new Map([['f1', firing]])]]));
    } finally {
      await bus.close();
    }
  });
});
