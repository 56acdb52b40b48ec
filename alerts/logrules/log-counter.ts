/**
 * Counts matching log lines in the warehouse per label set: one `GROUP BY` query over
 * `otel_logs` with the filters of the log search (tokens through the body's token index, phrases
 * by position), every value a query parameter. Only label sets whose value meets the rule's
 * condition come back, as a PromQL comparison filter would return them.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { searchTerms } from '../../pipeline/warehouse/log-search.js';
import type { Labels } from '../model.js';
import { byLabel, compare, type LogRuleQuery } from './log-rule.js';

export interface LogCounter {
  /** Samples (labels → value) over the window ending at `atMs` that meet the condition. */
  evaluate(q: LogRuleQuery, atMs: number): Promise<Array<{ metric: Labels; v: number }>>;
}

const SEPARATORS = /[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+/;

export function countQuery(database: string, q: LogRuleQuery, atMs: number): { sql: string; values: Record<string, string | number> } {
  const toNs = BigInt(atMs) * 1_000_000n;
  const fromNs = BigInt(atMs - q.windowMs) * 1_000_000n;
  const values: Record<string, string | number> = {
    fromNs: fromNs.toString(),
    toNs: toNs.toString(),
    fromS: Math.floor((atMs - q.windowMs) / 1000),
    toS: Math.floor((atMs - 1) / 1000),
  };
  const where = [
    'TimestampTime >= toDateTime({fromS:UInt32})',
    'TimestampTime <= toDateTime({toS:UInt32})',
    'Timestamp >= fromUnixTimestamp64Nano({fromNs:Int64})',
    'Timestamp < fromUnixTimestamp64Nano({toNs:Int64})',
  ];
  if (q.service !== undefined) {
    values.service = q.service;
    where.push('ServiceName = {service:String}');
  }
  if (q.host !== undefined) {
    values.host = q.host;
    where.push("ResourceAttributes['host.name'] = {host:String}");
  }
  if (q.minSeverity !== undefined) {
    values.minSeverity = q.minSeverity;
    where.push('SeverityNumber >= {minSeverity:UInt8}');
  }
  let n = 0;
  for (const term of searchTerms(q.text)) {
    const tokens = term.split(SEPARATORS).filter((t) => t !== '');
    for (const token of tokens) {
      values[`t${n}`] = token;
      where.push(`hasToken(Body, {t${n++}:String})`);
    }
    if (tokens.length !== 1 || tokens[0] !== term) {
      values[`t${n}`] = term;
      where.push(`position(Body, {t${n++}:String}) > 0`);
    }
  }
  Object.entries(q.attributes).forEach(([k, v], i) => {
    values[`ak${i}`] = k;
    values[`av${i}`] = v;
    where.push(`LogAttributes[{ak${i}:String}] = {av${i}:String}`);
  });
  const cols = q.by.map((b, i) => {
    if (b === 'service') return `ServiceName AS g${i}`;
    if (b === 'host') return `ResourceAttributes['host.name'] AS g${i}`;
    if (b === 'severity') return `SeverityText AS g${i}`;
    values[`bk${i}`] = b.startsWith('attr.') ? b.slice(5) : b.slice(9);
    return `${b.startsWith('attr.') ? 'LogAttributes' : 'ResourceAttributes'}[{bk${i}:String}] AS g${i}`;
  });
  const groupBy = q.by.length ? `\nGROUP BY ${q.by.map((_, i) => `g${i}`).join(', ')}` : '';
  const sql = `SELECT ${[...cols, 'count() AS n'].join(', ')}
FROM \`${database}\`.otel_logs
WHERE ${where.join('\n  AND ')}${groupBy}
SETTINGS max_execution_time = 10, readonly = 1`;
  return { sql, values };
}

export class ClickHouseLogCounter implements LogCounter {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  async evaluate(q: LogRuleQuery, atMs: number): Promise<Array<{ metric: Labels; v: number }>> {
    const { sql, values } = countQuery(this.database, q, atMs);
    const rs = await this.client.query({ query: sql, query_params: values, format: 'JSONEachRow' });
    const rows = await rs.json<Record<string, string | number>>();
    const out: Array<{ metric: Labels; v: number }> = [];
    // With no `by`, an empty window is one row counting 0, so `< 1` (nothing logged) can fire.
    for (const row of rows) {
      const count = Number(row.n);
      const v = q.fn === 'rate' ? count / (q.windowMs / 1000) : count;
      if (!compare(v, q.op, q.threshold)) continue;
      const metric: Record<string, string> = {};
      q.by.forEach((b, i) => {
        const value = String(row[`g${i}`] ?? '');
        if (value !== '') metric[byLabel(b)] = value;
      });
      out.push({ metric, v });
    }
    return out;
  }
}
