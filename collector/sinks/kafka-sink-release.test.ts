/**
 * A file source's records are written into pooled buffers (core/codec/buffer-pool.ts) that the
 * sink gives back for the next reads: only once the batch is acknowledged, never while a send
 * or a retry of it may still read them.
 */
import { expect, test } from 'vitest';
import { componentTelemetry } from '../events.js';
import type { Bus, BusMessage, BusProducer } from '../../core/bus/bus.js';
import { producerOnlyBus } from '../../test/harness/producer-only-bus.js';
import { BufferPool } from '../../core/codec/buffer-pool.js';
import { EncodedLogsBuilder, encodeAttributeFields } from '../../core/codec/encoded-logs.js';
import { silentLogger } from '../../core/log.js';
import { RegistryClass } from '../../core/telemetry/registry.js';
import { KafkaSink } from './kafka-sink.js';

/** A bus whose sends fail `failures` times, then succeed; it logs what happens and when. */
function scriptedBus(events: string[], failures: number): Bus {
  let attempts = 0;
  const producer: BusProducer = {
    send: async (_topic: string, messages: BusMessage[]) => {
      attempts++;
      // What a producer does with the values: reads them, as a retry reads them again.
      events.push(`send ${attempts}: ${messages.reduce((n, m) => n + m.value.length, 0) > 0 ? 'bytes' : 'empty'}`);
      if (attempts <= failures) throw new Error('broker unavailable');
    },
    close: async () => {},
  };
  return producerOnlyBus(producer, 'a scripted bus');
}

test('a pooled batch is given back once, after its acknowledgement, and after the retries that read it', async () => {
  const events: string[] = [];
  const pool = new BufferPool(1024 * 1024);
  const builder = new EncodedLogsBuilder({ 'host.name': 'h', 'service.name': 's' }, 64 * 1024, pool);
  const line = Buffer.from('a line of the file');
  const attributes = encodeAttributeFields({ 'log.file.path': '/var/log/a.log' });
  for (let i = 0; i < 10; i++) builder.addPlain(line, 0, line.length, { number: 9, text: 'INFO' }, attributes, i, 1n);
  const finished = builder.finish();
  const encoded = {
    ...finished,
    release: () => {
      events.push('release');
      finished.release!();
    },
  };
  const log = silentLogger();
  const sink = new KafkaSink({
    bus: scriptedBus(events, 2),
    topic: 'pharos.logs',
    batch: { max_records: 100, max_bytes: 1024 * 1024, linger_ms: 0 },
    telemetry: componentTelemetry(new RegistryClass(), log, { kind: 'sink', id: 'kafka_logs', type: 'kafka' }),
    retry: { initialMs: 1, maxMs: 2 },
    random: () => 0.5,
  });
  sink.start();
  expect(pool.idleBytes).toBe(0);
  await sink.send({ encoded, bytes: 10 * line.length, ack: () => events.push('ack') });
  await sink.flush();
  await sink.stop();
  expect(events).toEqual(['send 1: bytes', 'send 2: bytes', 'send 3: bytes', 'ack', 'release']);
  expect(pool.idleBytes).toBe(64 * 1024);
});
