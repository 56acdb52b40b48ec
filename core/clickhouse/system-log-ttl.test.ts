/**
 * No ClickHouse server can be installed on these machines (Debian ships 18.16, older than TTL
 * itself; no registry package ships a server binary), so the server's `system` database is stood
 * in for: the plan is tested on lists of tables as a server reports them, and the ALTERs run for
 * real on chDB against a database of tables defined like a server's system logs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { validateConfig } from '../config/load.js';
import { createLogger, silentLogger } from '../log.js';
import { createClickHouse } from './client.js';
import { migrate } from './migrate.js';
import { planSystemLogTtl, reconcileSystemLogTtl, systemLogsTtlDays, ttlOf } from './system-log-ttl.js';

/** engine_full of a server's system.query_log with a TTL in its config (as 25.x prints it). */
const QUERY_LOG = 'MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (event_date, event_time, initial_query_id) TTL event_date + toIntervalDay(30) SETTINGS index_granularity = 8192';
const NO_TTL = 'MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (event_date, event_time) SETTINGS index_granularity = 8192';

describe('ttlOf', () => {
  test('reads the TTL clause before SETTINGS, at the end, or finds none', () => {
    expect(ttlOf(QUERY_LOG)).toBe('event_date + toIntervalDay(30)');
    expect(ttlOf('MergeTree ORDER BY t TTL event_date + toIntervalDay(3)')).toBe('event_date + toIntervalDay(3)');
    expect(ttlOf(NO_TTL)).toBeUndefined();
  });
});

describe('planSystemLogTtl', () => {
  test('sets a differing or missing TTL, keeps an equal one, leaves a hand-written one, notes absent tables', () => {
    const plan = planSystemLogTtl(
      [
        { name: 'query_log', engine_full: QUERY_LOG },
        { name: 'part_log', engine_full: NO_TTL },
        { name: 'trace_log', engine_full: QUERY_LOG.replace('toIntervalDay(30)', 'toIntervalDay(7)') },
        { name: 'metric_log', engine_full: QUERY_LOG.replace('toIntervalDay(30)', "toIntervalDay(30) TO VOLUME 'cold'") },
        { name: 'processes_log', engine_full: NO_TTL },
      ],
      7,
    );
    expect(plan).toEqual([
      { table: 'query_log', action: 'set', fromDays: 30, toDays: 7, sql: 'ALTER TABLE `system`.query_log MODIFY TTL event_date + toIntervalDay(7)' },
      { table: 'part_log', action: 'set', fromDays: null, toDays: 7, sql: 'ALTER TABLE `system`.part_log MODIFY TTL event_date + toIntervalDay(7)' },
      { table: 'trace_log', action: 'keep', days: 7 },
      { table: 'metric_log', action: 'custom', ttl: "event_date + toIntervalDay(30) TO VOLUME 'cold'" },
      { table: 'text_log', action: 'missing' },
      { table: 'asynchronous_metric_log', action: 'missing' },
    ]);
  });

  test('refuses a day count that is not a positive whole number', () => {
    expect(() => planSystemLogTtl([], 0)).toThrow(/whole number of days/);
    expect(() => planSystemLogTtl([], 1.5)).toThrow(/whole number of days/);
  });
});

describe('systemLogsTtlDays', () => {
  test('the configured days on a server, nothing on chDB or when 0', () => {
    expect(systemLogsTtlDays(validateConfig({}))).toBeUndefined();
    expect(systemLogsTtlDays(validateConfig({ clickhouse: { url: 'http://127.0.0.1:8123' } }))).toBe(7);
    expect(systemLogsTtlDays(validateConfig({ clickhouse: { url: 'http://127.0.0.1:8123', system_logs_ttl_days: 3 } }))).toBe(3);
    expect(systemLogsTtlDays(validateConfig({ clickhouse: { url: 'http://127.0.0.1:8123', system_logs_ttl_days: 0 } }))).toBeUndefined();
  });
});

describe('reconcileSystemLogTtl on the engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-syslog-ttl-'));
  const admin = createClickHouse(validateConfig({ data_dir: dir }), silentLogger(), 'admin');
  afterAll(async () => {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function capture(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
    const out: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        out.push(String(chunk));
        done();
      },
    });
    const log = createLogger({ level: 'info', destination });
    return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
  }

  async function ttl(db: string, table: string): Promise<string | undefined> {
    const rs = await admin.query({ query: `SELECT engine_full FROM system.tables WHERE database = '${db}' AND name = '${table}'`, format: 'JSONEachRow' });
    return ttlOf((await rs.json<{ engine_full: string }>())[0]!.engine_full);
  }

  test('changes what differs, logs old → new, warns and goes on past a refused ALTER, and is quiet the second time', async () => {
    const db = 'fake_system';
    await admin.command({ query: `CREATE DATABASE ${db}` });
    const columns = '(event_date Date, event_time DateTime, query String)';
    await admin.command({ query: `CREATE TABLE ${db}.query_log ${columns} ENGINE = MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (event_date, event_time) TTL event_date + INTERVAL 30 DAY` });
    await admin.command({ query: `CREATE TABLE ${db}.part_log ${columns} ENGINE = MergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (event_date, event_time)` });
    // An engine without TTL refuses the ALTER, as a server refuses a user without the grant.
    await admin.command({ query: `CREATE TABLE ${db}.trace_log ${columns} ENGINE = Memory` });
    await admin.command({ query: `INSERT INTO ${db}.query_log VALUES (today(), now(), 'SELECT 1')` });

    const first = capture();
    const plan = await reconcileSystemLogTtl(admin, { days: 7, log: first.log, database: db });
    expect(plan.map((s) => [s.table, s.action])).toEqual([
      ['query_log', 'set'],
      ['part_log', 'set'],
      ['trace_log', 'set'],
      ['metric_log', 'missing'],
      ['text_log', 'missing'],
      ['asynchronous_metric_log', 'missing'],
    ]);
    expect(await ttl(db, 'query_log')).toBe('event_date + toIntervalDay(7)');
    expect(await ttl(db, 'part_log')).toBe('event_date + toIntervalDay(7)');
    const lines = first.lines();
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'fake_system.query_log TTL changed', from_days: 30, to_days: 7 }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'fake_system.part_log TTL changed', from_days: null, to_days: 7 }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, table: 'fake_system.trace_log', msg: expect.stringContaining('cannot change the TTL') }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, tables: ['fake_system.metric_log', 'fake_system.text_log', 'fake_system.asynchronous_metric_log'] }));
    const [row] = await (await admin.query({ query: `SELECT count() AS n FROM ${db}.query_log`, format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(row!.n)).toBe(1);

    const second = capture();
    const again = await reconcileSystemLogTtl(admin, { days: 7, log: second.log, database: db });
    expect(again.filter((s) => s.action === 'keep').map((s) => s.table)).toEqual(['query_log', 'part_log']);
    expect(second.lines().some((l) => String(l.msg).endsWith('TTL changed'))).toBe(false);

    const third = capture();
    await reconcileSystemLogTtl(admin, { days: 14, log: third.log, database: db });
    expect(await ttl(db, 'query_log')).toBe('event_date + toIntervalDay(14)');
    expect(third.lines()).toContainEqual(expect.objectContaining({ msg: 'fake_system.query_log TTL changed', from_days: 7, to_days: 14 }));
  });

  test('migrate() with a system log TTL never fails the start where the tables are absent (as on chDB)', async () => {
    const cap = capture();
    const result = await migrate(admin, { database: 'syslog_mig', logsTtlDays: 30, systemLogsTtlDays: 7, log: cap.log });
    expect(result.applied.length).toBeGreaterThan(0);
    expect(cap.lines()).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringContaining('system log tables not found') }));
  });
});
