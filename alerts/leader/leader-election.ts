/**
 * One active evaluator, the others standing by, by Kafka group membership: every `pharos alerts`
 * joins one consumer group on a one-partition topic, and whoever the group assigns partition 0
 * is active. When the active one dies, the broker notices after `sessionTimeoutMs`, rebalances,
 * and a standby gets the partition. No messages are ever read; membership is the lock.
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../core/log.js';
import { stickyActiveAssigner } from './sticky-assigner.js';

export interface LeaderElectionOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  /** How long the broker waits for a dead member's heartbeat; bounds the takeover time. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  log: Logger;
  /** Became active: start evaluating and notifying. Demotion waits for it to finish. */
  onElected(): Promise<void>;
  /** No longer active (rebalanced away, or the consumer crashed): stop notifying at once. */
  onDemoted(): Promise<void>;
}

export class LeaderElection {
  private consumer: Consumer | undefined;
  private active = false;
  private joined = false;
  /** Transitions in order: an election is never overtaken by the demotion that follows it. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: LeaderElectionOptions) {}

  isActive(): boolean {
    return this.active;
  }

  async start(): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(this.o.topic)) {
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic: this.o.topic, numPartitions: 1, replicationFactor: -1 }] }).catch((err: unknown) => {
          if (!/already exists/i.test((err as Error).message)) throw err;
        });
      }
    } finally {
      await admin.disconnect();
    }
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      sessionTimeout: this.o.sessionTimeoutMs,
      rebalanceTimeout: this.o.sessionTimeoutMs,
      heartbeatInterval: this.o.heartbeatIntervalMs,
      allowAutoTopicCreation: false,
      partitionAssigners: [stickyActiveAssigner(() => this.active)],
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = e.payload.memberAssignment[this.o.topic] ?? [];
      this.set(assigned.includes(0), `group joined as ${e.payload.memberId}${e.payload.isLeader ? ' (group leader)' : ''}`);
    });
    consumer.on(consumer.events.CRASH, (e) => this.set(false, `membership lost: ${e.payload.error.message}`));
    consumer.on(consumer.events.STOP, () => this.set(false, 'membership stopped'));
    await consumer.connect();
    await consumer.subscribe({ topics: [this.o.topic], fromBeginning: false });
    await consumer.run({ eachMessage: async () => {} });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
    this.set(false, 'stopping');
    await this.chain;
  }

  private set(active: boolean, why: string): void {
    if (!this.joined) {
      this.joined = true;
      if (!active) this.o.log.info({ group: this.o.groupId, why }, 'this evaluator is on standby');
    }
    if (active === this.active) return;
    this.active = active;
    this.o.log.info({ group: this.o.groupId, why }, active ? 'this evaluator is now active' : 'this evaluator is now on standby');
    this.chain = this.chain
      .then(() => (active ? this.o.onElected() : this.o.onDemoted()))
      .catch((err: unknown) => this.o.log.error({ err: (err as Error).message }, active ? 'becoming active failed' : 'standing down failed'));
  }
}
