/**
 * Several warehouse writers share the partitions of one consumer group, against the run's real
 * Kafka broker and chDB: "a rebalance loses and duplicates nothing" (issue 4).
 *
 * While records are produced without pause to a 4-partition topic:
 * 1. writer A runs alone;
 * 2. writer B joins the group (rebalance: the partitions are split between A and B);
 * 3. A stops cleanly (rebalance: B takes every partition);
 * 4. writer C joins (rebalance), and then crashes at the worst moment: right after one of its
 *    inserts was acknowledged by ClickHouse and before the batch's offsets are committed. The
 *    crash is in-process (both writers must write into the same chDB data path, which only one
 *    process can open): from that moment C's ClickHouse calls never return and its Kafka sockets
 *    are cut, so it neither commits, nor heartbeats, nor leaves the group; the broker notices when
 *    C's session (6 s here) expires and hands its partitions to B, which replays them from the
 *    last committed offsets.
 * Then production stops, B catches up, and every record must be in `otel_logs` exactly once:
 * row count = records produced = distinct record ids. A writer may run several members of the
 * group (it runs one; older versions ran several); who holds partitions is read from the group by client id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssignerProtocol, Kafka, logLevel, type ConsumerConfig, type ISocketFactory, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createClickHouse, type ClickHouseClient } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { encodeLogs, wireHeaders } from '../../core/codec/codec.js';
import { validateConfig } from '../../core/config/load.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { createLogger, silentLogger } from '../../core/log.js';
import type { LogRecord } from '../../core/model/records.js';
import { createRegistry, type Registry } from '../../core/telemetry/registry.js';
import { startWarehouseWriter } from '../../pipeline/warehouse/writer.js';
import { createTopics, testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';

const PARTITIONS = 4;
const HOSTS = 16;
const RECORDS_PER_MESSAGE = 25;
const log = process.env.REBALANCE_DEBUG ? createLogger({ level: 'debug', destination: process.stderr }) : silentLogger();
const dir = mkdtempSync(join(tmpdir(), 'pharos-rebalance-'));
const DATABASE = `rebalance_${Date.now().toString(36)}`;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;
let brokers: string[];
let config: PharosConfig;
let admin: ClickHouseClient;

beforeAll(async () => {
  brokers = testBrokers();
  const topics = { logs: uniqueTopic('rebalance-logs'), metrics: uniqueTopic('rebalance-metrics'), deadletter: uniqueTopic('rebalance-dlq') };
  await createTopics(brokers, [topics.logs, topics.metrics, topics.deadletter], PARTITIONS);
  config = validateConfig({
    data_dir: dir,
    kafka: { brokers, topics, partitions: PARTITIONS },
    clickhouse: { database: DATABASE },
    pipeline: { warehouse: { group_id: uniqueTopic('pharos-warehouse') } },
  });
  admin = createClickHouse(config, log, 'admin');
  await migrate(admin, { database: DATABASE, logsTtlDays: 3650, log });
});

afterAll(async () => {
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Records `from` .. `from + count - 1`; `rid` is the id every stored row must have exactly once. */
function message(from: number, count: number): { key: Buffer; value: Buffer; headers: Record<string, string> } {
  const host = `host-${from % HOSTS}`;
  const records: LogRecord[] = Array.from({ length: count }, (_, i) => ({
    timeUnixNano: NOW_NS + BigInt(from + i) * 1000n,
    observedTimeUnixNano: NOW_NS,
    severityNumber: 9,
    severityText: 'INFO',
    body: `request ${from + i} handled`,
    resource: { 'service.name': 'rebalance', 'host.name': host },
    attributes: { rid: from + i },
    traceId: '',
    spanId: '',
    flags: 0,
  }));
  const bytes = encodeLogs(records);
  return { key: Buffer.from(host), value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: wireHeaders() };
}

/** Produces a message every few milliseconds until stopped; counts what the broker acknowledged. */
function startProducing(producer: Producer, topic: string): { produced: () => number; stop: () => Promise<number> } {
  let next = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      await producer.send({ topic, acks: -1, messages: [message(next, RECORDS_PER_MESSAGE)] });
      next += RECORDS_PER_MESSAGE;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    produced: () => next,
    stop: async () => {
      running = false;
      await loop;
      return next;
    },
  };
}

/**
 * A ClickHouse client that can be made to "die": once armed, the next data insert reaches the
 * engine and is acknowledged there, but its caller never hears back, and no later call of any
 * kind (rows or ledger) returns. `release()` (cleanup only) rejects every call left hanging.
 */
function crashableClient(real: ClickHouseClient): { client: ClickHouseClient; arm: () => void; died: Promise<void>; release: () => void } {
  let armed = false;
  let dead = false;
  let onDied!: () => void;
  const died = new Promise<void>((r) => (onDied = r));
  let releaseHung!: (err: Error) => void;
  const hung = new Promise<never>((_, reject) => (releaseHung = reject));
  hung.catch(() => {});
  const gate = async <T>(call: () => Promise<T>, dataInsert: boolean): Promise<T> => {
    if (dead) return hung;
    const result = await call();
    if (!dead && armed && dataInsert) {
      dead = true;
      onDied();
    }
    return dead ? hung : result;
  };
  const wrap = <T extends object>(target: T, gated: (prop: string | symbol, fn: (...args: unknown[]) => Promise<unknown>) => ((...args: unknown[]) => Promise<unknown>) | undefined, extra: Record<string | symbol, unknown> = {}): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop in extra) return extra[prop];
        const v = Reflect.get(t, prop, t) as unknown;
        if (typeof v !== 'function') return v;
        const bound = (v as (...args: unknown[]) => Promise<unknown>).bind(t);
        return gated(prop, bound) ?? bound;
      },
    });
  // The writer's rows reach chDB through chdb-node's raw insert on the connection (raw-insert.ts).
  // The session is hidden: the writer would open a second connection on its path for the ledger
  // (companionClient), which this gate could not stop; without it the ledger uses this client.
  const connection = (real as unknown as { connection?: { chdb?: object } }).connection;
  const chdb = connection?.chdb ? wrap(connection.chdb, (prop, fn) => (prop === 'rawInsert' ? (...a) => gate(() => fn(...a), true) : undefined), { session: undefined }) : undefined;
  const client = wrap(
    real,
    (prop, fn) => {
      if (prop === 'query' || prop === 'command' || prop === 'exec') return (...a) => gate(() => fn(...a), false);
      // The ledger goes through insert(); on a server so do the rows.
      if (prop === 'insert') return (...a) => gate(() => fn(...a), !String((a[0] as { table?: string }).table).endsWith('warehouse_batches'));
      return undefined;
    },
    connection && chdb ? { connection: new Proxy(connection, { get: (t, p) => (p === 'chdb' ? chdb : Reflect.get(t, p, t)) }) } : {},
  );
  return { client, arm: () => (armed = true), died, release: () => releaseHung(new Error('crashed writer released for cleanup')) };
}

/** Sockets kafkajs opens through it can all be cut at once, and none opens afterwards. */
function cuttableSockets(): { socketFactory: ISocketFactory; cut: () => void } {
  const open = new Set<Socket>();
  let isCut = false;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    if (isCut) {
      const s = new Socket();
      process.nextTick(() => s.destroy(new Error('network cut (test)')));
      return s;
    }
    const s = connect({ host, port }, onConnect);
    open.add(s);
    s.on('close', () => open.delete(s));
    return s;
  };
  return {
    socketFactory,
    cut: () => {
      isCut = true;
      for (const s of open) s.destroy();
    },
  };
}

interface RunningWriter {
  name: string;
  registry: Registry;
  stop: () => Promise<void>;
}

/** A writer as `pharos pipeline` runs it: its own Kafka client, group member and ClickHouse connection. */
async function startWriter(name: string, opts: { clickhouse?: ClickHouseClient; socketFactory?: ISocketFactory; sessionTimeout?: number } = {}): Promise<RunningWriter> {
  const kafka = new Kafka({
    clientId: `rebalance-${name}`,
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 2000 },
    ...(opts.socketFactory ? { socketFactory: opts.socketFactory } : {}),
  });
  // Heartbeats every 500 ms: members learn of a rebalance quickly. A short session only where a
  // crash must be noticed within the test's time bound (the broker's minimum is 6 s).
  const consumer = kafka.consumer.bind(kafka);
  kafka.consumer = (c: ConsumerConfig) => consumer({ ...c, heartbeatInterval: 500, ...(opts.sessionTimeout ? { sessionTimeout: opts.sessionTimeout } : {}) });
  const bus = new KafkaBus(kafka, brokers, log);
  const own = opts.clickhouse ? undefined : createClickHouse(config, log, 'ingest');
  const registry = createRegistry();
  const writer = await startWarehouseWriter({ bus, clickhouse: opts.clickhouse ?? own!, config, log, registry });
  return {
    name,
    registry,
    stop: async () => {
      await writer.stop();
      await bus.close();
      await own?.close();
    },
  };
}

async function rowsInserted(w: RunningWriter): Promise<number> {
  const { values } = await w.registry.getSingleMetric('pharos_warehouse_rows_inserted_total')!.get();
  return values.filter((v) => v.labels.table === 'otel_logs').reduce((sum, v) => sum + v.value, 0);
}

async function stored(): Promise<{ rows: number; distinct: number }> {
  const rs = await admin.query({ query: `SELECT count() AS n, uniqExact(LogAttributes['rid']) AS u FROM ${DATABASE}.otel_logs`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: string; u: string }>();
  return { rows: Number(row!.n), distinct: Number(row!.u) };
}

/** Messages of the logs topic the group has not committed yet. */
async function lag(kafka: Kafka): Promise<number> {
  const kadmin = kafka.admin();
  await kadmin.connect();
  try {
    const topic = config.kafka.topics.logs;
    const ends = await kadmin.fetchTopicOffsets(topic);
    const [committed] = await kadmin.fetchOffsets({ groupId: config.pipeline.warehouse.group_id, topics: [topic] });
    return ends.reduce((sum, e) => sum + Number(e.high) - Math.max(0, Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1')), 0);
  } finally {
    await kadmin.disconnect();
  }
}

/**
 * Writers (told apart by their Kafka client id) of which a member holds at least one partition,
 * once the group is stable. A writer may run several members (it runs one; older versions ran several).
 */
async function writersWithPartitions(kafka: Kafka): Promise<string[]> {
  const kadmin = kafka.admin();
  await kadmin.connect();
  try {
    const { groups } = await kadmin.describeGroups([config.pipeline.warehouse.group_id]);
    if (groups[0]?.state !== 'Stable') return [];
    const holding = groups[0].members.filter((m) => {
      const assigned = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {};
      return Object.values(assigned).some((partitions) => partitions.length > 0);
    });
    return [...new Set(holding.map((m) => m.clientId))].sort();
  } finally {
    await kadmin.disconnect();
  }
}

const holders = (names: string[]) => async (kafka: Kafka) => (await writersWithPartitions(kafka)).join() === names.map((n) => `rebalance-${n}`).join();

describe('warehouse writers sharing a consumer group', () => {
  test('join, clean leave and crash rebalances lose and duplicate nothing', async () => {
    const kafka = new Kafka({ clientId: 'rebalance-test', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const stream = startProducing(producer, config.kafka.topics.logs);
    const cleanups: Array<() => Promise<unknown>> = [async () => stream.stop(), () => producer.disconnect()];
    try {
      // 1. A alone.
      const a = await startWriter('a');
      cleanups.push(a.stop);
      await waitFor('writer A storing rows', async () => (await rowsInserted(a)) > 0);

      // 2. B joins: the group rebalances and both take partitions.
      const b = await startWriter('b');
      cleanups.push(b.stop);
      await waitFor('writer B storing rows', async () => (await rowsInserted(b)) > 0, 40_000);
      await waitFor('A and B both holding partitions', () => holders(['a', 'b'])(kafka), 30_000, 250);
      const aBefore = await rowsInserted(a);
      await waitFor('A still storing rows beside B', async () => (await rowsInserted(a)) > aBefore, 30_000);

      // 3. A leaves cleanly: B takes every partition.
      await a.stop();
      cleanups.splice(cleanups.indexOf(a.stop), 1);
      const bAfterA = await rowsInserted(b);
      await waitFor('B alone holding every partition', () => holders(['b'])(kafka), 30_000, 250);
      await waitFor('B storing rows alone', async () => (await rowsInserted(b)) > bAfterA, 30_000);

      // 4. C joins, then dies between an acknowledged insert and its offset commit.
      const crash = crashableClient(createClickHouse(config, log, 'ingest'));
      const net = cuttableSockets();
      const c = await startWriter('c', { clickhouse: crash.client, socketFactory: net.socketFactory, sessionTimeout: 6_000 });
      await waitFor('writer C storing rows', async () => (await rowsInserted(c)) > 0, 40_000);
      void crash.died.then(net.cut);
      crash.arm();
      await waitFor('C crashing after an insert', () => Promise.race([crash.died.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 200))]), 30_000);
      cleanups.push(async () => {
        crash.release();
        // Its consumer may still be retrying the cut network: bounded, never blocks the cleanup.
        await Promise.race([c.stop().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
      });
      // Keep producing while the broker waits out C's session, then stop.
      const atCrash = stream.produced();
      await waitFor('more records produced after the crash', () => stream.produced() >= atCrash + 500, 30_000);
      const produced = await stream.stop();

      // B takes C's partitions once C's session expired, replays them from the last commit, and
      // commits everything: only then can no late insert change the count.
      await waitFor('B alone again after C crashed', () => holders(['b'])(kafka), 40_000, 250);
      await waitFor('the group committed every message', async () => (await lag(kafka)) === 0, 60_000, 250);
      expect(await stored()).toEqual({ rows: produced, distinct: produced });
      // C's last insert reached the engine but C never counted it (its caller never heard back);
      // B's replay of that unit went in again and ClickHouse dropped the copy: the counted offers
      // cover every record at least once (more when the replayed unit had several chunks).
      const offered = (await rowsInserted(a)) + (await rowsInserted(b)) + (await rowsInserted(c));
      expect(offered).toBeGreaterThanOrEqual(produced);
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    }
  }, 180_000);
});
