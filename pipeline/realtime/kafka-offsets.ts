/**
 * What the real-time store needs from Kafka beyond the Bus interface: the high watermarks at
 * start (to know when replay has caught up) and a fresh group positioned at the window's start
 * by timestamp (so a restart replays the window, not the whole topic). The in-process bus has
 * neither; ingest then starts from the beginning and is ready once its consumer runs.
 */
import type { Kafka } from 'kafkajs';
import { untilBrokerAnswers } from '../../core/kafka/until-broker-answers.js';
import type { Logger } from '../../core/log.js';

/**
 * Commits offsets for a group that has never run. kafkajs's admin.setOffsets does the same through
 * a consumer that stays paused for its default 5 s fetch wait; this one waits 50 ms, so a start
 * costs a group join and leave instead of 5 s.
 */
async function commitAsGroup(kafka: Kafka, groupId: string, topic: string, partitions: { partition: number; offset: string }[]): Promise<void> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
    consumer.pause([{ topic }]);
    await joined;
    await consumer.commitOffsets(partitions.map((p) => ({ topic, ...p })));
  } finally {
    await consumer.disconnect();
  }
}

/*
 * Caught up means "read a message at offset high - 1". That holds for Pharos's producers
 * (idempotent, not transactional); a transactional producer ends a partition with a control
 * record no consumer sees, and then readiness would wait for the next message.
 */
export interface PartitionRange {
  partition: number;
  /** First offset the group will read. */
  start: bigint;
  /** Offset the next produced message will get, when ingest started. */
  high: bigint;
}

export interface OffsetsHook {
  /**
   * Commits, for a group that has never run, the first offset of each partition at or after
   * `fromMs` (or the log start when fromMs is undefined), and returns each partition's range.
   */
  position(groupId: string, topic: string, fromMs: number | undefined): Promise<PartitionRange[]>;
  /**
   * Deletes the group at a clean stop: each start positions a group of its own, and without this
   * every restart would leave one behind in Kafka (until offsets.retention.minutes, 7 days).
   */
  release?(groupId: string): Promise<void>;
}

export function kafkaOffsets(kafka: Kafka, log?: Logger): OffsetsHook {
  return {
    position: (groupId, topic, fromMs) =>
      log ? untilBrokerAnswers(log, `positioning the real-time store on ${topic}`, () => position(kafka, groupId, topic, fromMs)) : position(kafka, groupId, topic, fromMs),
    async release(groupId) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.deleteGroups([groupId]);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

async function position(kafka: Kafka, groupId: string, topic: string, fromMs: number | undefined): Promise<PartitionRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const watermarks = await admin.fetchTopicOffsets(topic);
    // kafkajs answers the high watermark for partitions with nothing at or after the time.
    const byTime = fromMs === undefined ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, fromMs);
    const ranges = watermarks.map((w) => {
      const at = byTime?.find((b) => b.partition === w.partition)?.offset;
      const low = BigInt(w.low);
      const start = at === undefined ? low : BigInt(at) > low ? BigInt(at) : low;
      return { partition: w.partition, start, high: BigInt(w.high) };
    });
    // Every partition, even those with nothing to replay: a partition left without a committed
    // offset would be read from the log start (fromBeginning), all of it older than the window.
    const toSet = ranges.map((r) => ({ partition: r.partition, offset: r.start.toString() }));
    if (fromMs !== undefined && toSet.length > 0) await commitAsGroup(kafka, groupId, topic, toSet);
    return ranges;
  } finally {
    await admin.disconnect();
  }
}
