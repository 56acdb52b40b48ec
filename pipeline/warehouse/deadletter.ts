/** Dead letters and rate-limited warnings, shared by the writer's tables. */
import type { BusMessage, BusProducer, ConsumedMessage } from '../../core/bus/bus.js';
import type { Logger } from '../../core/log.js';

/** Longest error text copied into a dead letter's header. */
const MAX_ERROR_HEADER = 500;
const ERROR_LOG_INTERVAL_MS = 10_000;

export type RateLimitedLog = (event: string, fields: Record<string, unknown>, msg: string) => void;

/** At most one log line per event every 10 s, carrying how many were held back meanwhile. */
export function rateLimitedLog(log: Logger): RateLimitedLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (event, fields, msg) => {
    const now = Date.now();
    const state = last.get(event);
    if (state && now - state.at < ERROR_LOG_INTERVAL_MS) {
      state.suppressed++;
      return;
    }
    log.warn({ event, ...fields, suppressed: state?.suppressed ?? 0 }, msg);
    last.set(event, { at: now, suppressed: 0 });
  };
}

export interface Undecodable {
  message: ConsumedMessage;
  error: unknown;
}

/** Sends messages that do not decode to the dead-letter topic with their bytes, the reason and where they came from. */
export async function sendDeadLetters(producer: BusProducer, deadletterTopic: string, topic: string, partition: number, bad: readonly Undecodable[], logLimited: RateLimitedLog): Promise<void> {
  const letters: BusMessage[] = bad.map(({ message, error }) => ({
    key: message.key,
    value: message.value,
    headers: {
      reason: 'decode_failed',
      error: (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_HEADER),
      source_topic: topic,
      source_partition: String(partition),
      source_offset: message.offset,
    },
  }));
  await producer.send(deadletterTopic, letters);
  for (const { message, error } of bad) {
    logLimited('decode_failed', { topic, partition, offset: message.offset, bytes: message.value.length, err: (error as Error).message }, 'message does not decode; sent to the dead-letter topic');
  }
}
