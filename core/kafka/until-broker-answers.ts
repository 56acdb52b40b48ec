/**
 * Startup against a broker that is down (restarting, not up yet, unreachable for a while) waits
 * and retries instead of failing the process: Pharos's components stay up, say what they wait
 * for, and carry on when the broker is back. kafkajs's own retries give up after ~10 s.
 */
import type { Logger } from '../log.js';

const RETRY_MS = [500, 1000, 2000, 5000, 10_000];

export async function untilBrokerAnswers<T>(log: Logger, what: string, attempt: () => Promise<T>, gaveUp: () => boolean = () => false): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (gaveUp()) throw err;
      const delay = RETRY_MS[Math.min(n, RETRY_MS.length - 1)]!;
      log.warn({ attempt: n + 1, retry_in_ms: delay, err: (err as Error).message }, `${what}: the broker does not answer; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      if (gaveUp()) throw err;
    }
  }
}

/** The delay before the n-th (0-based) restart of something that failed against the broker. */
export function brokerRetryDelay(n: number): number {
  return RETRY_MS[Math.min(n, RETRY_MS.length - 1)]!;
}
