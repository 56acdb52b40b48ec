/**
 * What an analyst's statement may be, decided by ClickHouse's own parser and analyser rather
 * than by a parser of ours: a hand-written SQL parser would disagree with the engine somewhere,
 * and every disagreement is a way around the guard.
 *
 * The steps, each run through the engine (`inspectStatement`):
 * 1. `formatQuery({q:String})`: the text travels as a query parameter, so it is parsed and never
 *    run. One statement or a refusal (chDB would run `SELECT 1; DROP TABLE x` as two), and the
 *    canonical text that every later step and the run itself use: no comments, nothing the
 *    checks did not see.
 * 2. `SELECT explain FROM (EXPLAIN AST <canonical>)`: ClickHouse takes only a SELECT there, and
 *    refuses FORMAT and INTO OUTFILE in it. The tree says whether a SETTINGS clause, a table
 *    function or a function that reads outside the tables (file(), dictGet(), …) is used.
 * 3. `EXPLAIN QUERY TREE` of it, under the same read-only limits and scope as the run: every
 *    table it reads, resolved to `database.table` (CTEs, `IN table`, subqueries), is checked
 *    against the allow-list.
 *
 * Step 3 executes scalar subqueries while analysing (measured on chDB 26.7), which is why the
 * syntactic refusals of step 2, and of tables named outright, come first.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { PharosError } from '../errors.js';
import { ENVIRONMENT_ATTRIBUTE, ENVIRONMENT_LABEL, SERVICE_LABEL, type LabelScope } from '../http/scope.js';

/** Why a statement was refused; the audit log's `Reason` starts with it. */
export type RefusalKind =
  | 'empty'
  | 'too_long'
  | 'syntax'
  | 'stacked_statements'
  | 'not_select'
  | 'output_clause'
  | 'settings'
  | 'table_function'
  | 'function'
  | 'table'
  | 'scope';

export class SqlRefusal extends PharosError {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super('bad_request', message);
    this.name = 'SqlRefusal';
  }
}

/** Services and environments a principal may see (`Principal.scope`); an absent key does not restrict. */
export type SqlScope = LabelScope;

export interface SqlPolicy {
  /** The Pharos database: bare names of `allowedTables` live there, and bare names in SQL resolve there. */
  database: string;
  /** `table` (in `database`) or `db.table`. */
  allowedTables: readonly string[];
}

export interface InspectedStatement {
  /** ClickHouse's formatting of the statement: what is run. */
  canonical: string;
  /** Every table it reads, `database.table`, sorted. */
  tables: string[];
}

export const MAX_STATEMENT_CHARS = 100_000;

/** ClickHouse's dummy table of `SELECT 1`: always readable. */
const DUMMY_TABLE = 'system.one';

/**
 * Functions that read something other than the tables of the query: files on the server's disk
 * (`file` works as a scalar function even with readonly = 1, seen on chDB), dictionaries (whose
 * source may be any table), Join tables, models, the server's config and certificates.
 */
const DENIED_FUNCTIONS = /^(file|dict[a-z]*|joinget[a-z]*|catboostevaluate|modelevaluate|naivebayesclassifier|getserversetting|getmacro|showcertificate|filesystem[a-z]*|hascolumnintable)$/;

/** Functions whose second argument may name a table (`x IN db.t`). */
const IN_FUNCTIONS = new Set(['in', 'notin', 'globalin', 'globalnotin', 'nullin', 'notnullin', 'globalnullin', 'globalnotnullin']);

/**
 * The columns a scope restricts, per table, by the rules of core/http/scope.ts that every other
 * route follows: logs by `ServiceName` and the environment resource attribute, metric series and
 * alerts by their `job` and environment labels. A table missing here cannot be read under a scope.
 * A row that does not say its service or environment is outside a scope that restricts it.
 */
const METRIC_SCOPE = { service: `Labels['${SERVICE_LABEL}']`, environment: `Labels['${ENVIRONMENT_LABEL}']` };
export const SCOPE_COLUMNS: Readonly<Record<string, { service: string; environment: string }>> = {
  otel_logs: { service: 'ServiceName', environment: `ResourceAttributes['${ENVIRONMENT_ATTRIBUTE}']` },
  metric_samples: METRIC_SCOPE,
  metric_rollup_1m: METRIC_SCOPE,
  metric_rollup_1h: METRIC_SCOPE,
  alert_events: METRIC_SCOPE,
};

/**
 * Runs the three steps on `client`. Refusals throw SqlRefusal; a statement ClickHouse cannot
 * analyse (unknown column, type error) throws the client's error, for the caller to report as the
 * analyst's mistake rather than as a refusal.
 *
 * @param analysisSettings the SETTINGS clause body the run will use (read-only, limits, scope):
 *   step 3 may execute scalar subqueries and must be held to the same rules.
 */
export async function inspectStatement(client: ClickHouseClient, sql: string, policy: SqlPolicy, scope: SqlScope | undefined, analysisSettings: string): Promise<InspectedStatement> {
  if (sql.trim() === '') throw new SqlRefusal('empty', 'the statement is empty: write a SELECT');
  if (sql.length > MAX_STATEMENT_CHARS) throw new SqlRefusal('too_long', `the statement is ${sql.length} characters long, over the limit of ${MAX_STATEMENT_CHARS}`);

  const canonical = await canonicalize(client, sql);
  const ast = await selectAst(client, canonical);
  checkAst(ast, policy);

  let treeLines: string[];
  const rs = await client.query({ query: `EXPLAIN QUERY TREE SELECT * FROM (\n${canonical}\n)\nSETTINGS ${analysisSettings}`, format: 'JSONEachRow' });
  treeLines = (await rs.json<{ explain: string }>()).map((r) => r.explain);
  const tables = resolvedTables(treeLines);
  checkTables(tables, policy, scope);
  return { canonical, tables: [...tables.tables].sort() };
}

/** Step 1: one statement, in ClickHouse's formatting. */
async function canonicalize(client: ClickHouseClient, sql: string): Promise<string> {
  try {
    const rs = await client.query({ query: 'SELECT formatQuery({q:String}) AS f', query_params: { q: sql }, format: 'JSONEachRow' });
    const [row] = await rs.json<{ f: string }>();
    if (!row || row.f.trim() === '') throw new SqlRefusal('empty', 'the statement is empty: write a SELECT');
    return row.f;
  } catch (err) {
    if (err instanceof SqlRefusal) throw err;
    const message = clickHouseMessage(err).replace(/\.?\s*:?\s*In scope SELECT formatQuery\([\s\S]*$/, '');
    if (/Multi-statements are not allowed/i.test(message)) {
      throw new SqlRefusal('stacked_statements', `only one statement can run at a time; ClickHouse found more than one (${message})`);
    }
    if (/Empty query/i.test(message)) throw new SqlRefusal('empty', 'the statement is empty: write a SELECT');
    throw new SqlRefusal('syntax', `syntax error: ${message}`);
  }
}

/** Step 2: the AST of a SELECT, or a refusal saying what else the statement is. */
async function selectAst(client: ClickHouseClient, canonical: string): Promise<AstNode> {
  let lines: string[];
  try {
    const rs = await client.query({ query: `SELECT explain FROM (EXPLAIN AST\n${canonical}\n)`, format: 'JSONEachRow' });
    lines = (await rs.json<{ explain: string }>()).map((r) => r.explain);
  } catch (err) {
    const keyword = statementKeyword(canonical);
    if (keyword === 'SELECT' || keyword === 'WITH') {
      // ClickHouse refuses a SELECT here only for its output options.
      throw new SqlRefusal('output_clause', `FORMAT and INTO OUTFILE are not allowed: the console chooses the output format and nothing is written on the server (${clickHouseMessage(err)})`);
    }
    throw new SqlRefusal('not_select', `only a read-only SELECT can run here; this is ${article(keyword)} ${keyword} statement`);
  }
  const root = parseExplainTree(lines);
  if (root.type !== 'SelectWithUnionQuery') throw new SqlRefusal('not_select', `only a read-only SELECT can run here; ClickHouse reads this as ${root.type}`);
  return root;
}

/** The first keyword of ClickHouse's formatting (only for messages: the AST decides). */
function statementKeyword(canonical: string): string {
  return (/^\s*\(*\s*([A-Za-z]+)/.exec(canonical)?.[1] ?? 'unknown').toUpperCase();
}

function article(word: string): string {
  return /^[AEIOU]/.test(word) ? 'an' : 'a';
}

export interface AstNode {
  /** First word of the EXPLAIN line: `Function`, `TableIdentifier`, `Set`, … */
  type: string;
  /** The rest, without `(alias …)` and `(children N)`: a function's or identifier's name. */
  name: string;
  /** `(alias x)` of the line, if any. */
  alias: string | undefined;
  children: AstNode[];
}

/** Builds the tree of `EXPLAIN AST` (or QUERY TREE) output, one node a line, nested by indentation. */
export function parseExplainTree(lines: readonly string[]): AstNode {
  const root: AstNode = { type: '', name: '', alias: undefined, children: [] };
  const stack: Array<{ depth: number; node: AstNode }> = [{ depth: -1, node: root }];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const depth = line.length - line.trimStart().length;
    const text = line.trim();
    const space = text.indexOf(' ');
    const type = space < 0 ? text : text.slice(0, space);
    let rest = space < 0 ? '' : text.slice(space + 1);
    rest = rest.replace(/ ?\(children \d+\)$/, '');
    const aliasMatch = / \(alias ([^)]*)\)$/.exec(rest);
    if (aliasMatch) rest = rest.slice(0, aliasMatch.index);
    const node: AstNode = { type, name: rest.trim(), alias: aliasMatch?.[1], children: [] };
    while (stack.length > 1 && stack[stack.length - 1]!.depth >= depth) stack.pop();
    stack[stack.length - 1]!.node.children.push(node);
    stack.push({ depth, node });
  }
  if (root.children.length !== 1) throw new PharosError('internal', `EXPLAIN answered ${root.children.length} top-level nodes, expected 1`);
  return root.children[0]!;
}

/** Step 2's refusals, over the syntax tree. */
export function checkAst(root: AstNode, policy: SqlPolicy): void {
  const allowed = allowedTableSet(policy);
  const aliases = new Set<string>();
  walk(root, undefined, (node) => {
    if (node.alias !== undefined) aliases.add(node.alias);
    if (node.type === 'WithElement') aliases.add(node.name);
  });
  walk(root, undefined, (node, parent) => {
    if (node.type === 'Set') {
      throw new SqlRefusal('settings', 'a SETTINGS clause is not allowed: the console sets the limits (read-only, time, rows) and the scope');
    }
    if (node.type === 'Function' && parent?.type === 'TableExpression') {
      throw new SqlRefusal('table_function', `table function ${node.name}() is not allowed: read the allowed tables (${policy.allowedTables.join(', ')})`);
    }
    if (node.type === 'Function' && DENIED_FUNCTIONS.test(node.name.toLowerCase())) {
      throw new SqlRefusal('function', `function ${node.name}() is not allowed: it reads data outside the allowed tables`);
    }
    if (node.type === 'TableIdentifier' && node.name.includes('.') && !allowed.has(node.name)) {
      throw new SqlRefusal('table', notAllowedMessage([node.name], policy));
    }
    if (node.type === 'Function' && IN_FUNCTIONS.has(node.name.toLowerCase())) {
      // `x IN t`: the analyser reads table t, possibly inside a scalar subquery it executes while
      // analysing, so the name is checked before analysis. A bare name may also be an alias.
      const target = node.children[0]?.children[1];
      if (target?.type === 'Identifier') {
        const name = target.name;
        const qualified = name.includes('.') ? name : `${policy.database}.${name}`;
        if (!allowed.has(qualified) && !(!name.includes('.') && aliases.has(name))) {
          throw new SqlRefusal('table', notAllowedMessage([qualified], policy));
        }
      }
    }
  });
}

function walk(node: AstNode, parent: AstNode | undefined, visit: (node: AstNode, parent: AstNode | undefined) => void): void {
  visit(node, parent);
  for (const child of node.children) walk(child, node, visit);
}

/** Step 3's findings: tables (`db.table`) and table functions named in `EXPLAIN QUERY TREE`. */
export function resolvedTables(lines: readonly string[]): { tables: Set<string>; tableFunctions: Set<string> } {
  const tables = new Set<string>();
  const tableFunctions = new Set<string>();
  for (const line of lines) {
    const t = line.trim();
    if (t.startsWith('TABLE id:')) {
      const m = /, table_name: (.+?)(?:, [a-z_]+: .*)?$/.exec(t);
      // Unreadable means unchecked: refuse rather than pass.
      tables.add(m?.[1] ?? `(unreadable: ${t})`);
    } else if (t.startsWith('TABLE_FUNCTION id:')) {
      tableFunctions.add(/table_function_name: ([^,]+)/.exec(t)?.[1] ?? `(unreadable: ${t})`);
    }
  }
  return { tables, tableFunctions };
}

function checkTables(found: { tables: Set<string>; tableFunctions: Set<string> }, policy: SqlPolicy, scope: SqlScope | undefined): void {
  const [fn] = found.tableFunctions;
  if (fn !== undefined) throw new SqlRefusal('table_function', `table function ${fn}() is not allowed: read the allowed tables (${policy.allowedTables.join(', ')})`);
  const allowed = allowedTableSet(policy);
  const refused = [...found.tables].filter((t) => !allowed.has(t));
  if (refused.length > 0) throw new SqlRefusal('table', notAllowedMessage(refused, policy));
  if (scopeIsSet(scope)) {
    const unscopable = [...found.tables].filter((t) => t !== DUMMY_TABLE && scopeColumnsOf(t, policy) === undefined);
    if (unscopable.length > 0) {
      throw new SqlRefusal('scope', `your token is limited to some services or environments, and ${unscopable.join(', ')} has no column to limit it by`);
    }
  }
}

function notAllowedMessage(tables: readonly string[], policy: SqlPolicy): string {
  const list = tables.join(', ');
  const system = tables.some((t) => /^(system|information_schema|INFORMATION_SCHEMA)\./.test(t));
  return `table ${list} ${tables.length > 1 ? 'are' : 'is'} not allowed${system ? ' (system tables are not readable here unless allow-listed)' : ''}; the console reads ${policy.allowedTables.join(', ')} (sql_console.allowed_tables)`;
}

/** Allow-list entries as `db.table`, the dummy table included. */
export function allowedTableSet(policy: SqlPolicy): Set<string> {
  const set = new Set<string>([DUMMY_TABLE]);
  for (const t of policy.allowedTables) set.add(t.includes('.') ? t : `${policy.database}.${t}`);
  return set;
}

export function scopeIsSet(scope: SqlScope | undefined): scope is SqlScope {
  return scope !== undefined && (scope.service !== undefined || scope.environment !== undefined);
}

function scopeColumnsOf(table: string, policy: SqlPolicy): { service: string; environment: string } | undefined {
  const prefix = `${policy.database}.`;
  return table.startsWith(prefix) ? SCOPE_COLUMNS[table.slice(prefix.length)] : undefined;
}

/**
 * The value of ClickHouse's `additional_table_filters` for a scope: a filter per scoped table
 * that the engine adds to every read of it, wherever the table appears in the statement. Keys
 * are given bare and database-qualified (both spellings resolve to the table; measured on chDB).
 * Undefined when the scope restricts nothing.
 */
export function scopeTableFilters(scope: SqlScope | undefined, policy: SqlPolicy): string | undefined {
  if (!scopeIsSet(scope)) return undefined;
  const entries: string[] = [];
  for (const [table, columns] of Object.entries(SCOPE_COLUMNS)) {
    const conditions: string[] = [];
    if (scope.service !== undefined) conditions.push(membership(columns.service, scope.service));
    if (scope.environment !== undefined) conditions.push(membership(columns.environment, scope.environment));
    const filter = conditions.map((c) => `(${c})`).join(' AND ');
    for (const key of [table, `${policy.database}.${table}`]) entries.push(`${sqlString(key)}: ${sqlString(filter)}`);
  }
  return `{${entries.join(', ')}}`;
}

/** `column IN (…)`; an empty list lets nothing through. */
function membership(column: string, values: readonly string[]): string {
  if (values.length === 0) return '0';
  return `${column} IN (${values.map(sqlString).join(', ')})`;
}

/** A ClickHouse string literal: backslash and quote escaped, so any text stays one literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** ClickHouse's message of a client error, first line. */
export function clickHouseMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim();
}
