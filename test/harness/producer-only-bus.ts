/**
 * A Bus around one given producer and nothing else: for tests and benches that script what a
 * send does (fail, acknowledge at once) and never consume.
 */
import type { Bus, BusProducer } from '../../core/bus/bus.js';

export function producerOnlyBus(producer: BusProducer, description: string): Bus {
  return {
    kind: 'memory',
    description,
    ensureTopics: async () => {},
    producer: async () => producer,
    consumer: async () => {
      throw new Error(`${description} has no consumers`);
    },
    close: async () => {},
  };
}
