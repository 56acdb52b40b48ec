/** Recording rules' output published to the metrics topic, in the wire format collectors use. */
import type { BusProducer } from '../../core/bus/bus.js';
import { encodeMetricBatches, wireHeaders } from '../../core/codec/codec.js';
import type { MetricSample } from '../../core/model/records.js';

export function recordedToBus(producer: BusProducer, topic: string): (samples: MetricSample[]) => Promise<void> {
  return async (samples) => {
    const batches = encodeMetricBatches(samples);
    await producer.send(
      topic,
      batches.map((b) => ({ key: null, value: Buffer.from(b.buffer, b.byteOffset, b.byteLength), headers: wireHeaders() })),
    );
  };
}
