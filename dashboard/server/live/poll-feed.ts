/**
 * The live tail's source where no bus is configured (`pharos dashboard` without kafka.brokers):
 * one poll of the warehouse for all viewers, feeding the same ring the bus would. It runs only
 * while someone watches, and starts from "now" each time (history comes from the backfill).
 */
import type { Logger } from '../../../core/log.js';
import type { LogSearch } from '../../../core/model/log-search.js';
import type { LogHub } from './log-hub.js';
import { LogPoller } from './log-poller.js';

export function startPollFeed(opts: { logs: LogSearch; hub: LogHub; log: Logger; pollMs: number }): { stop(): void } {
  let poller: LogPoller | undefined;
  let busy = false;
  let lastError = '';
  const tick = async () => {
    if (busy) return;
    if (opts.hub.upstreamCount === 0) {
      poller = undefined;
      return;
    }
    busy = true;
    try {
      const first = poller === undefined;
      poller ??= new LogPoller(opts.logs, {});
      const rows = await poller.poll();
      lastError = '';
      // The first answer is the backlog: subscribers had it as history already.
      if (!first) opts.hub.publish(rows.reverse());
    } catch (err) {
      const error = (err as Error).message;
      if (error !== lastError) opts.log.warn({ err: error }, 'live tail: polling the warehouse failed');
      lastError = error;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.pollMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
