import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { createClickHouse } from './client.js';
import { migrate } from './migrate.js';
import { checkAst, inspectStatement, parseExplainTree, resolvedTables, scopeTableFilters, sqlString, SqlRefusal, type RefusalKind, type SqlPolicy } from './sql-guard.js';

const DB = 'guard_test';
const dir = mkdtempSync(join(tmpdir(), 'pharos-sql-guard-'));
const config = validateConfig({ data_dir: dir, clickhouse: { database: DB } });
const log = silentLogger();
const admin = createClickHouse(config, log, 'admin');
const query = createClickHouse(config, log, 'query');
const policy: SqlPolicy = { database: DB, allowedTables: config.sql_console.allowed_tables };
const SETTINGS = 'readonly = 1, max_execution_time = 10';

beforeAll(async () => {
  await migrate(admin, { database: DB, logsTtlDays: 30, log });
  // chDB connections start in `default`; the console does the same USE.
  await query.command({ query: `USE ${DB}` });
});

afterAll(async () => {
  await Promise.all([admin.close(), query.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(sql: string, scope?: { service?: string[] }): Promise<SqlRefusal> {
  const err = await inspectStatement(query, sql, policy, scope, SETTINGS).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SqlRefusal)) throw new Error(`expected a refusal of ${sql}, got ${err === undefined ? 'acceptance' : String(err)}`);
  return err;
}

async function tableNames(): Promise<string[]> {
  const rs = await admin.query({ query: `SELECT name FROM system.tables WHERE database = '${DB}' ORDER BY name`, format: 'JSONEachRow' });
  return (await rs.json<{ name: string }>()).map((r) => r.name);
}

describe('inspectStatement refuses, with the reason', () => {
  test.each<[string, string]>([
    ['INSERT INTO otel_logs (Body) VALUES (\'x\')', 'INSERT'],
    ['ALTER TABLE otel_logs DELETE WHERE 1', 'ALTER'],
    ['CREATE TABLE t (x UInt8) ENGINE = Memory', 'CREATE'],
    ['DROP TABLE otel_logs', 'DROP'],
    ['TRUNCATE TABLE otel_logs', 'TRUNCATE'],
    ['OPTIMIZE TABLE otel_logs FINAL', 'OPTIMIZE'],
    ['SYSTEM FLUSH LOGS', 'SYSTEM'],
    ['KILL QUERY WHERE 1', 'KILL'],
    ['SET readonly = 0', 'SET'],
    ['GRANT SELECT ON *.* TO default', 'GRANT'],
    ['EXPLAIN SELECT 1', 'EXPLAIN'],
  ])('writes and other statements: %s', async (sql, keyword) => {
    const err = await refusal(sql);
    expect(err.kind).toBe('not_select');
    expect(err.message).toMatch(new RegExp(`only a read-only SELECT can run here; this is an? ${keyword} statement`));
  });

  test('stacked statements, and the second one never runs', async () => {
    const before = await tableNames();
    expect(before).toContain('otel_logs');
    for (const sql of ['SELECT 1; DROP TABLE otel_logs', 'SELECT 1;\nDROP TABLE otel_logs;', 'DROP TABLE otel_logs; SELECT 1']) {
      const err = await refusal(sql);
      expect(err.kind).toBe('stacked_statements');
      expect(err.message).toMatch(/only one statement can run at a time/);
    }
    expect(await tableNames()).toEqual(before);
  });

  test.each<[string, RefusalKind, RegExp]>([
    ['SELECT * FROM system.users', 'table', /table system\.users is not allowed \(system tables are not readable here unless allow-listed\)/],
    ['SELECT name FROM system.tables', 'table', /system\.tables is not allowed/],
    ['SELECT * FROM information_schema.tables', 'table', /information_schema\.tables is not allowed/],
    ['SELECT * FROM schema_migrations', 'table', /table guard_test\.schema_migrations is not allowed; the console reads otel_logs, /],
    ['SELECT * FROM sql_audit', 'table', /guard_test\.sql_audit is not allowed/],
    ['WITH s AS (SELECT * FROM system.tables) SELECT * FROM s', 'table', /system\.tables is not allowed/],
    ['SELECT count() FROM otel_logs WHERE ServiceName IN (SELECT name FROM system.users)', 'table', /system\.users is not allowed/],
    ["SELECT 1 WHERE 'default' IN system.users", 'table', /system\.users is not allowed/],
    ["SELECT (SELECT 1 WHERE 'a' IN schema_migrations)", 'table', /guard_test\.schema_migrations is not allowed/],
    ['SELECT * FROM otel_logs AS l JOIN system.parts AS p ON l.ServiceName = p.name', 'table', /system\.parts is not allowed/],
  ])('tables not in the allow-list: %s', async (sql, kind, message) => {
    const err = await refusal(sql);
    expect(err.kind).toBe(kind);
    expect(err.message).toMatch(message);
  });

  test.each<[string, string]>([
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", 'file'],
    ["SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')", 'url'],
    ["SELECT * FROM remote('127.0.0.1', system.one)", 'remote'],
    ["SELECT * FROM s3('http://127.0.0.1:1/b/k', 'CSV')", 's3'],
    ["SELECT * FROM executable('x.sh', 'TSV', 'a String')", 'executable'],
    ["SELECT * FROM merge('guard_test', '^otel')", 'merge'],
    ['SELECT * FROM numbers(10)', 'numbers'],
    ['SELECT * FROM otel_logs AS l, numbers(2) AS n', 'numbers'],
  ])('table functions: %s', async (sql, fn) => {
    const err = await refusal(sql);
    expect(err.kind).toBe('table_function');
    expect(err.message).toContain(`table function ${fn}() is not allowed`);
  });

  test.each<[string, string]>([
    ["SELECT file('/etc/passwd')", 'file'],
    ["SELECT dictGet('d', 'a', toUInt64(1))", 'dictGet'],
    ["SELECT joinGet('j', 'v', 1)", 'joinGet'],
    ['SELECT Body FROM otel_logs WHERE hasColumnInTable(\'system\', \'users\', \'name\')', 'hasColumnInTable'],
  ])('functions that read outside the tables: %s', async (sql, fn) => {
    const err = await refusal(sql);
    expect(err.kind).toBe('function');
    expect(err.message).toContain(`function ${fn}() is not allowed`);
  });

  test.each([
    'SELECT count() FROM otel_logs SETTINGS readonly = 0',
    'SELECT count() FROM otel_logs SETTINGS max_execution_time = 3600',
    "SELECT count() FROM otel_logs SETTINGS additional_table_filters = {'otel_logs': '1'}",
    'SELECT * FROM (SELECT count() FROM otel_logs SETTINGS max_result_rows = 0)',
    'SELECT 1 UNION ALL SELECT 2 SETTINGS max_threads = 64',
  ])('a SETTINGS clause, anywhere: %s', async (sql) => {
    const err = await refusal(sql);
    expect(err.kind).toBe('settings');
    expect(err.message).toMatch(/a SETTINGS clause is not allowed/);
  });

  test.each(["SELECT 1 INTO OUTFILE '/tmp/pharos-guard-outfile.txt'", 'SELECT 1 FORMAT Vertical', 'WITH 1 AS x SELECT x FORMAT JSON'])('INTO OUTFILE and FORMAT: %s', async (sql) => {
    const err = await refusal(sql);
    expect(err.kind).toBe('output_clause');
    expect(err.message).toMatch(/FORMAT and INTO OUTFILE are not allowed/);
  });

  test('syntax errors and empty statements', async () => {
    expect((await refusal('SELEC 1')).kind).toBe('syntax');
    expect((await refusal('SELECT FROM WHERE')).message).toMatch(/^syntax error: /);
    expect((await refusal('  \n')).kind).toBe('empty');
    expect((await refusal('-- just a comment')).kind).toBe('empty');
  });

  test('a scoped caller cannot read a table without a service column', async () => {
    const err = await refusal('SELECT count() FROM warehouse_batches', { service: ['api'] });
    expect(err.kind).toBe('scope');
    expect(err.message).toMatch(/guard_test\.warehouse_batches has no column to limit it by/);
  });
});

describe('inspectStatement accepts', () => {
  test('a SELECT of allowed tables, in ClickHouse formatting, comments gone, with every table it reads', async () => {
    const inspected = await inspectStatement(
      query,
      `-- errors per service
SELECT ServiceName, count() AS n /* all of them */
FROM otel_logs
WHERE ServiceName IN (SELECT Labels['job'] FROM guard_test.metric_samples)
GROUP BY ServiceName;`,
      policy,
      undefined,
      SETTINGS,
    );
    expect(inspected.tables).toEqual(['guard_test.metric_samples', 'guard_test.otel_logs']);
    expect(inspected.canonical).not.toMatch(/errors per service|all of them|;/);
    expect(inspected.canonical).toMatch(/^SELECT/);
  });

  test('CTEs, unions, joins and a SELECT without FROM', async () => {
    const inspected = await inspectStatement(
      query,
      'WITH recent AS (SELECT * FROM otel_logs) SELECT count() FROM recent UNION ALL SELECT count() FROM alert_events AS a JOIN metric_rollup_1m AS r ON a.AlertName = r.MetricName',
      policy,
      undefined,
      SETTINGS,
    );
    expect(inspected.tables).toEqual(['guard_test.alert_events', 'guard_test.metric_rollup_1m', 'guard_test.otel_logs']);
    expect((await inspectStatement(query, 'SELECT 1 AS one', policy, undefined, SETTINGS)).tables).toEqual(['system.one']);
  });

  test('system tables when allow-listed', async () => {
    const inspected = await inspectStatement(query, "SELECT name FROM system.parts WHERE database = 'guard_test'", { ...policy, allowedTables: [...policy.allowedTables, 'system.parts'] }, undefined, SETTINGS);
    expect(inspected.tables).toEqual(['system.parts']);
  });

  test('an unknown column is the analyst mistake, reported by ClickHouse, not a refusal', async () => {
    const err = await inspectStatement(query, 'SELECT NoSuchColumn FROM otel_logs', policy, undefined, SETTINGS).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(SqlRefusal);
    expect(String((err as Error).message)).toMatch(/NoSuchColumn/);
  });
});

describe('pure parts', () => {
  test('parseExplainTree nests by indentation and splits names from aliases and child counts', () => {
    const root = parseExplainTree([
      'SelectWithUnionQuery (children 1)',
      ' ExpressionList (children 1)',
      '  SelectQuery (children 2)',
      '   ExpressionList (children 1)',
      '    Function count (alias n) (children 1)',
      '     ExpressionList',
      '   TablesInSelectQuery (children 1)',
      '    TablesInSelectQueryElement (children 1)',
      '     TableExpression (children 1)',
      '      TableIdentifier db.t (alias x)',
    ]);
    const select = root.children[0]!.children[0]!;
    expect(select.type).toBe('SelectQuery');
    expect(select.children[0]!.children[0]).toMatchObject({ type: 'Function', name: 'count', alias: 'n' });
    const table = select.children[1]!.children[0]!.children[0]!.children[0]!;
    expect(table).toMatchObject({ type: 'TableIdentifier', name: 'db.t', alias: 'x' });
    expect(() => checkAst(root, { database: 'db', allowedTables: ['t'] })).not.toThrow();
    expect(() => checkAst(root, { database: 'db', allowedTables: ['u'] })).toThrow(/db\.t is not allowed/);
  });

  test('resolvedTables reads TABLE and TABLE_FUNCTION lines of EXPLAIN QUERY TREE', () => {
    const found = resolvedTables([
      'QUERY id: 0',
      '    TABLE id: 3, alias: __table1, table_name: pharos.otel_logs',
      '          TABLE id: 7, alias: __table2, table_name: system.one, final: 1',
      '    TABLE_FUNCTION id: 9, alias: __table3, table_function_name: numbers',
    ]);
    expect([...found.tables]).toEqual(['pharos.otel_logs', 'system.one']);
    expect([...found.tableFunctions]).toEqual(['numbers']);
  });

  test('scope filters quote values so that no value can end the literal', () => {
    expect(sqlString("it's a \\ test")).toBe("'it\\'s a \\\\ test'");
    const filters = scopeTableFilters({ service: ["api') OR 1=1 --"] }, { database: 'pharos', allowedTables: [] })!;
    expect(filters).toContain("'pharos.otel_logs': '(ServiceName IN (\\'api\\\\\\') OR 1=1 --\\'))'");
    expect(scopeTableFilters({ service: [] }, { database: 'pharos', allowedTables: [] })).toContain("'otel_logs': '(0)'");
    expect(scopeTableFilters(undefined, { database: 'pharos', allowedTables: [] })).toBeUndefined();
    expect(scopeTableFilters({}, { database: 'pharos', allowedTables: [] })).toBeUndefined();
  });
});
