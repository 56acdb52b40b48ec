/**
 * The end-of-run checks of `pharos chaos`: what was generated against what the warehouse, the
 * real-time store and the page receiver hold. Each check says what it expected, what it found,
 * and the first few missing or repeated numbers, so a failure points at the data.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Every line `chaos run=<run> seq=1..written` is in otel_logs exactly once. */
export async function checkLogs(client: ClickHouseClient, database: string, run: string, written: number): Promise<CheckResult> {
  const seqs = `SELECT toUInt64(extract(Body, 'seq=([0-9]+)')) AS seq, count() AS n FROM \`${database}\`.otel_logs WHERE startsWith(Body, ${quote(`chaos run=${run} `)}) GROUP BY seq`;
  const [summary] = await rows<{ distinct_seqs: string; repeated: string; extra_copies: string }>(
    client,
    `SELECT countIf(seq BETWEEN 1 AND ${written}) AS distinct_seqs, countIf(n > 1) AS repeated, sum(n - 1) AS extra_copies FROM (${seqs})`,
  );
  const found = Number(summary?.distinct_seqs ?? 0);
  const repeated = Number(summary?.repeated ?? 0);
  const missing = written - found;
  let detail = `${written} lines generated, ${found} distinct in otel_logs, ${missing} missing, ${repeated} repeated (${Number(summary?.extra_copies ?? 0)} extra copies)`;
  if (missing > 0) {
    const firstMissing = await rows<{ seq: string }>(client, `SELECT number + 1 AS seq FROM numbers(${written}) WHERE seq NOT IN (SELECT seq FROM (${seqs})) ORDER BY seq LIMIT 10`);
    detail += `; first missing: ${firstMissing.map((r) => r.seq).join(', ')}`;
  }
  if (repeated > 0) {
    const firstRepeated = await rows<{ seq: string; n: string }>(client, `SELECT seq, n FROM (${seqs}) WHERE n > 1 ORDER BY seq LIMIT 10`);
    detail += `; first repeated: ${firstRepeated.map((r) => `${r.seq}×${r.n}`).join(', ')}`;
  }
  return { name: 'logs in the warehouse exactly once', ok: missing === 0 && repeated === 0, detail };
}

/**
 * Every `chaos_seq{run, series}` sample (value = tick number 1..ticks) is in metric_samples
 * exactly once. Repeats of ticks the generator had to send twice (`ambiguous`) are its own doing
 * and reported apart.
 */
export async function checkWarehouseMetrics(client: ClickHouseClient, database: string, metric: string, run: string, series: number, ticks: number, ambiguous: ReadonlySet<number>): Promise<CheckResult> {
  const counts = await rows<{ v: number; n: string }>(
    client,
    `SELECT toUInt64(Value) AS v, count() AS n FROM \`${database}\`.metric_samples WHERE MetricName = ${quote(metric)} AND Labels['run'] = ${quote(run)} GROUP BY v ORDER BY v`,
  );
  const byTick = new Map(counts.map((r) => [Number(r.v), Number(r.n)]));
  const missing: number[] = [];
  const repeated: number[] = [];
  let generatorRepeats = 0;
  for (let t = 1; t <= ticks; t++) {
    const n = byTick.get(t) ?? 0;
    if (n < series) missing.push(t);
    else if (n > series) {
      if (ambiguous.has(t)) generatorRepeats++;
      else repeated.push(t);
    }
  }
  const detail =
    `${ticks * series} samples generated (${series} series × ${ticks} ticks); ticks incomplete: ${missing.length}` +
    (missing.length ? ` (first: ${missing.slice(0, 10).join(', ')})` : '') +
    `; ticks repeated: ${repeated.length}` +
    (repeated.length ? ` (first: ${repeated.slice(0, 10).join(', ')})` : '') +
    (generatorRepeats ? `; ${generatorRepeats} ticks repeated after an ambiguous produce by the generator (not counted)` : '');
  return { name: 'metric samples in the warehouse exactly once', ok: missing.length === 0 && repeated.length === 0, detail };
}

/** The real-time store (rebuilt from Kafka after every pipeline restart) holds every tick of every series. */
export async function checkRealtime(pipelineBase: string, metric: string, run: string, series: number, ticks: number, windowS: number, atS: number): Promise<CheckResult> {
  const query = `count_over_time(${metric}{run="${run}"}[${windowS}s])`;
  const url = `${pipelineBase}/api/v1/query?query=${encodeURIComponent(query)}&time=${atS}`;
  const name = 'metric samples in the real-time store';
  try {
    const res = await fetch(url);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') return { name, ok: false, detail: `${query}: ${body.error ?? res.status}` };
    const counts = (body.data?.result ?? []).map((r) => Number(r.value[1]));
    const short = counts.filter((c) => c !== ticks).length + Math.max(0, series - counts.length);
    return { name, ok: short === 0 && counts.length === series, detail: `${series} series expected with ${ticks} samples each; found ${counts.length} series, counts ${[...new Set(counts)].join('/') || 'none'}` };
  } catch (err) {
    return { name, ok: false, detail: `${url}: ${(err as Error).message}` };
  }
}

export function checkPages(alertname: string, firing: number, resolved: number): CheckResult {
  return {
    name: 'the chaos alert paged once and resolved once',
    ok: firing === 1 && resolved === 1,
    detail: `${alertname}: ${firing} firing notification(s), ${resolved} resolve(s); expected 1 and 1`,
  };
}
