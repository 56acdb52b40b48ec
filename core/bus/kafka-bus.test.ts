/** KafkaBus against the harness's real broker, and against one that is not there. */
import { describe, expect, test } from 'vitest';
import { createKafka } from '../kafka/client.js';
import { freePort } from '../kafka/local-broker.js';
import { createLogger, silentLogger } from '../log.js';
import { validateConfig } from '../config/load.js';
import { createRegistry } from '../telemetry/registry.js';
import { testBrokers, uniqueTopic } from '../../test/harness/kafka-helpers.js';
import { waitFor } from '../../test/harness/wait.js';
import { KafkaBus } from './kafka-bus.js';
import { Writable } from 'node:stream';

function busAt(brokers: string[], log = silentLogger(), registry = createRegistry()) {
  const config = validateConfig({ kafka: { brokers } });
  return { bus: new KafkaBus(createKafka(config.kafka, log, brokers), brokers, log, registry), registry };
}

describe('KafkaBus', () => {
  test('reports each partition’s consumer lag after its batches', async () => {
    const { bus, registry } = busAt(testBrokers());
    const topic = uniqueTopic('bus-lag');
    await bus.ensureTopics([topic], 1);
    const producer = await bus.producer();
    await producer.send(topic, Array.from({ length: 30 }, (_, i) => ({ key: null, value: Buffer.from(`m${i}`) })));
    let consumed = 0;
    await bus.consumer({ groupId: `g-${topic}`, topics: [topic], fromBeginning: true, eachBatch: async (b) => void (consumed += b.messages.length) });
    await waitFor('30 messages consumed', () => consumed >= 30);
    const lag = async () => (await registry.getSingleMetric('pharos_kafka_consumer_lag')!.get()).values.find((v) => v.labels.topic === topic);
    const last = await waitFor('a lag figure for the topic', lag);
    expect(last.labels).toMatchObject({ group: `g-${topic}`, partition: '0' });
    expect(last.value).toBe(0);
    await bus.close();
  });

  test('a consumer started while the broker is down waits and says so, and gives up only when the bus closes', async () => {
    let logged = '';
    const sink = new Writable({ write: (chunk, _e, cb) => ((logged += chunk.toString()), cb()) });
    const { bus } = busAt([`127.0.0.1:${await freePort()}`], createLogger({ level: 'warn', destination: sink as unknown as NodeJS.WritableStream }));
    const started = bus.consumer({ groupId: 'g', topics: ['t'], fromBeginning: true, eachBatch: async () => {} });
    let settled = false;
    started.then(() => (settled = true), () => (settled = true));
    await waitFor('a retry logged', () => logged.includes('the broker does not answer; retrying'), 30_000);
    expect(settled).toBe(false);
    await bus.close();
    await expect(started).rejects.toThrow();
  });
});
