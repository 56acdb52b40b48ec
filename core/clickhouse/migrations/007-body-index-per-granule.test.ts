import { describe, expect, test } from 'vitest';
import { tempChDB } from '../../../test/harness/chdb.js';
import { validateConfig } from '../../config/load.js';
import { silentLogger } from '../../log.js';
import { waitFor } from '../../../test/harness/wait.js';
import { createClickHouse } from '../client.js';
import { migrate } from '../migrate.js';

const { dir, admin, rows } = tempChDB('pharos-migration-007');
const log = silentLogger();

/** The indexes on Body: name → type and granularity. */
async function bodyIndexes(db: string): Promise<Record<string, string>> {
  const list = await rows<{ name: string; type_full: string; granularity: string }>(
    `SELECT name, type_full, granularity FROM system.data_skipping_indices WHERE database = '${db}' AND table = 'otel_logs' AND expr = 'Body'`,
  );
  return Object.fromEntries(list.map((i) => [i.name, `${i.type_full} GRANULARITY ${i.granularity}`]));
}

/** Granules an index keeps / has to look at for a token. */
async function granules(db: string, token: string, index: string): Promise<string | undefined> {
  const plan = await rows<{ explain: string }>(`EXPLAIN indexes = 1 SELECT Body FROM ${db}.otel_logs WHERE hasToken(Body, '${token}')`);
  const at = plan.findIndex((l) => l.explain.trim() === `Name: ${index}`);
  if (at < 0) return undefined;
  return plan.slice(at).find((l) => l.explain.trim().startsWith('Granules:'))?.explain.trim().slice('Granules: '.length);
}

/**
 * 81,920 rows (10 granules, one part) of distinct tokens, one of them carrying `needle`. All in
 * the first 82 s of today: one row per second back from now crossed midnight, split into two
 * daily partitions, and the granule counts changed with the time of day the test ran.
 */
async function fill(db: string): Promise<void> {
  await admin.command({
    query: `INSERT INTO ${db}.otel_logs (Timestamp, ServiceName, Body)
SELECT addMilliseconds(toDateTime64(toStartOfDay(now()), 9), number), 'svc', if(number = 40000, 'found the needle here', concat('request ', toString(number), ' id ', hex(cityHash64(number))))
FROM numbers(81920)`,
  });
}

/** The state of a database migrated before 007: the exporter's index, one filter per 8 granules. */
async function asBefore007(db: string): Promise<void> {
  await admin.command({ query: `ALTER TABLE ${db}.otel_logs DROP INDEX idx_body_tokens` });
  await admin.command({ query: `ALTER TABLE ${db}.otel_logs ADD INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8` });
  await admin.command({ query: `ALTER TABLE ${db}.schema_migrations DELETE WHERE version = 7`, clickhouse_settings: { mutations_sync: '2' } });
}

const NEW_INDEX = { idx_body_tokens: 'tokenbf_v1(32768, 3, 0) GRANULARITY 1' };

async function mutationsDone(db: string): Promise<boolean> {
  const [r] = await rows<{ n: string }>(`SELECT count() AS n FROM system.mutations WHERE database = '${db}' AND table = 'otel_logs' AND NOT is_done`);
  return Number(r!.n) === 0;
}

describe('migration 007: the body bloom filter per granule', () => {
  test('a fresh database gets one filter per granule', async () => {
    await migrate(admin, { database: 'm7_fresh', logsTtlDays: 30, log });
    expect(await bodyIndexes('m7_fresh')).toEqual(NEW_INDEX);
  });

  test('an existing table gets the new index, built for the parts it already has', async () => {
    const db = 'm7_existing';
    await migrate(admin, { database: db, logsTtlDays: 30, log });
    await asBefore007(db);
    await fill(db);
    // One filter for 8 granules: the needle's filter keeps 8 of the 10 granules, or all of them
    // when the other filter answers a false positive.
    expect(['8/10', '10/10']).toContain(await granules(db, 'needle', 'idx_body'));

    expect((await migrate(admin, { database: db, logsTtlDays: 30, log })).applied).toEqual([7]);
    expect(await bodyIndexes(db)).toEqual(NEW_INDEX);
    await waitFor('the index materialized on the existing part', () => mutationsDone(db), 30_000);
    expect(await granules(db, 'needle', 'idx_body_tokens')).toBe('1/10');
    const [hit] = await rows<{ n: string }>(`SELECT count() AS n FROM ${db}.otel_logs WHERE hasToken(Body, 'needle')`);
    expect(Number(hit!.n)).toBe(1);
  });

  test('interrupted after the index was added but before it was built, the next start completes it', async () => {
    const db = 'm7_half';
    await migrate(admin, { database: db, logsTtlDays: 30, log });
    await asBefore007(db);
    await fill(db);
    // Statement 1 of 007 ran; the MATERIALIZE, the DROP and the record did not.
    await admin.command({ query: `ALTER TABLE ${db}.otel_logs ADD INDEX idx_body_tokens Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1` });
    // Without index files the part is read whole: slower, still right.
    expect(await granules(db, 'needle', 'idx_body_tokens')).toBe('10/10');

    expect((await migrate(admin, { database: db, logsTtlDays: 30, log })).applied).toEqual([7]);
    await waitFor('the index materialized on the existing part', () => mutationsDone(db), 30_000);
    expect(await granules(db, 'needle', 'idx_body_tokens')).toBe('1/10');
    expect(await bodyIndexes(db)).toEqual(NEW_INDEX);
    expect((await migrate(admin, { database: db, logsTtlDays: 30, log })).applied).toEqual([]);
  });

  test('two processes migrating at once both succeed and leave the new index built', async () => {
    const db = 'm7_race';
    await migrate(admin, { database: db, logsTtlDays: 30, log });
    await asBefore007(db);
    await fill(db);
    // As `pharos pipeline` and `pharos alerts` starting together: two connections, one schema.
    const other = createClickHouse(validateConfig({ data_dir: dir }), log, 'admin');
    try {
      const results = await Promise.all([migrate(admin, { database: db, logsTtlDays: 30, log }), migrate(other, { database: db, logsTtlDays: 30, log })]);
      expect(results.flatMap((r) => r.applied)).toContain(7);
    } finally {
      await other.close();
    }
    expect(await bodyIndexes(db)).toEqual(NEW_INDEX);
    await waitFor('the index materialized on the existing part', () => mutationsDone(db), 30_000);
    expect(await granules(db, 'needle', 'idx_body_tokens')).toBe('1/10');
  });
});
