/**
 * Several members of one consumer group in one process (as Kafka Connect runs `tasks.max` tasks):
 * Kafka spreads the partitions over them, so one member decodes its batch while another's insert
 * runs.
 *
 * Ready as soon as one member runs: the others join in the background. A member joining a group
 * whose members already run waits until each of them notices the rebalance, which kafkajs does at
 * its next heartbeat — measured here, joins that lost that race held the writer's start up to 7 s
 * while the first member had long been storing every partition's rows.
 */
import type { BusConsumer } from '../../core/bus/bus.js';
import type { Logger } from '../../core/log.js';

/** How long stop() waits for members still joining before it leaves them to the bus's close. */
const JOIN_WAIT_MS = 15_000;

export interface GroupMembers {
  stop(): Promise<void>;
}

export async function startGroupMembers(count: number, start: () => Promise<BusConsumer>, log: Logger): Promise<GroupMembers> {
  const running: BusConsumer[] = [];
  let stopping = false;
  const joins = Array.from({ length: count }, (_, member) =>
    start().then(
      (consumer) => {
        // Joined after stop() gave up waiting: leave the group at once.
        if (stopping) void consumer.stop().catch(() => {});
        else running.push(consumer);
        return consumer;
      },
      (err: unknown) => {
        if (!stopping) log.error({ member, err: (err as Error).message }, 'a warehouse consumer could not join its group; the others take its partitions');
        throw err;
      },
    ),
  );
  for (const j of joins) j.catch(() => {});
  try {
    await Promise.any(joins);
  } catch (err) {
    // Every member failed: the start fails with the first reason.
    throw (err as AggregateError).errors[0];
  }
  return {
    async stop() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(joins), new Promise((r) => (timer = setTimeout(r, JOIN_WAIT_MS)))]);
      clearTimeout(timer);
      stopping = true;
      // All at once, so the group does not hand a leaving member's partitions to one about to leave too.
      const stopped = await Promise.allSettled(running.splice(0).map((c) => c.stop()));
      const failure = stopped.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}
