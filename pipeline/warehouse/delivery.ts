/**
 * Delivery accounting: did every record a collector read reach the warehouse, once?
 *
 * The collector stamps each record with `pharos.source` (where it was read, e.g.
 * `file:/var/log/x.log`) and `pharos.seq` (contiguous per source) in its attributes, and
 * `host.name` in its resource. Per host and source over a time range, a missing seq is a lost
 * record and a seq stored twice a duplicate.
 *
 * Read straight from `otel_logs`, measured against a copy kept by a materialized view (a narrow
 * table ordered by host, source, seq) on chDB on this 2-core machine, 100 sources:
 * - report over 5 million rows: 5.1-5.7 s from `otel_logs`, 2.6-2.9 s from the copy; over
 *   1 million rows the per-source aggregate alone takes 150-190 ms from `otel_logs`;
 * - the view cost the writer 10-20% of its insert rate (50k-row bench: 77-80k rows/s against
 *   95k without it), even for rows without the stamps, and the writer's target is 100k rows/s.
 * A report is asked for now and then; inserts never stop. So no view, until a pre-aggregated
 * form (e.g. a roaring bitmap of seqs per source and hour) makes the read worth the write.
 * The missing-range walk (a window over distinct seqs) runs only for sources with missing seqs:
 * over 5 million rows the report takes 0.9-1.2 s when no source has a gap, 4.0-4.9 s when all do.
 *
 * Only what the range holds is known: a gap before the first seq in range, or after the last,
 * is not reported (the range may just cut through a source's stream).
 *
 * Drops: a record a collector's filter dropped is never shipped and takes no seq (it is not a
 * gap); the collector counts it in `pharos_collector_records_dropped_total{source, reason}`, which
 * reaches `metric_samples` with a `host` label (collector/drop-report.ts, and self-monitoring,
 * whose registry labels every series with its host). Per series, the drops in range are the
 * counter's increase as Prometheus' `increase()` counts it, without extrapolation: the sum of the
 * steps between consecutive samples, a step down being a reset (the whole new value counts). The step into the range starts from the series' last sample in a lookback
 * before `from`, so consecutive ranges add up; a series with no sample there starts from 0: a
 * labelled counter has no series before its first drop, and a collector that was silent longer
 * than the lookback restarted, which resets its counters. The same counter may arrive as two
 * series (the host-metrics publish and the process's self-monitoring): per host, source and
 * reason the report reads the series with the most samples, never their sum. Cost, measured on
 * chDB (2 busy cores) with 9.2 million samples over a day, 3.5 million of them the counter's (600
 * series): the whole report over empty logs takes 48-55 ms for 1 hour, 89-99 ms for 24 hours.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { PharosError } from '../../core/errors.js';
import { isUnrestricted, logScopeSql, metricLabelsScopeSql, type LabelScope } from '../../core/http/scope.js';

export interface DeliveryParams {
  fromNs: bigint;
  toNs: bigint;
  host?: string | undefined;
  source?: string | undefined;
  /**
   * Only records of these services and environments are accounted (core/http/scope.ts): a host
   * or source shows up only with what the caller may see of it.
   */
  scope?: LabelScope | undefined;
}

export interface SeqRange {
  /** First missing seq, inclusive, decimal string (seqs are UInt64). */
  from: string;
  /** Last missing seq, inclusive. */
  to: string;
}

/**
 * A host and source that delivered records or dropped some (or both) in the range. A source
 * that only dropped has `received` 0 and no seqs nor newest record (null).
 */
export interface DeliveryRow {
  host: string;
  source: string;
  received: number;
  distinctSeqs: number;
  minSeq: string | null;
  maxSeq: string | null;
  /** Seqs between minSeq and maxSeq never stored. */
  missing: number;
  /** The first few missing ranges, lowest first. */
  gaps: SeqRange[];
  /** received - distinctSeqs. */
  duplicates: number;
  /** Newest record's time, nanoseconds since the epoch, decimal string. */
  newestNs: string | null;
  /** now - newest, milliseconds (negative when a clock runs ahead). */
  ageMs: number | null;
  /** Records the collector's filters dropped in range, by reason (the rule's name); {} when none. */
  dropped: Record<string, number>;
}

export interface DeliveryReport {
  (params: DeliveryParams): Promise<DeliveryRow[]>;
}

export interface DeliveryOptions {
  /** Missing ranges listed per source at most. */
  maxGapRanges?: number;
  /** Sources reported at most (a runaway source attribute must not make a huge answer). */
  maxSources?: number;
  /** Drop reasons listed per source at most (reasons are filter rule names: few). */
  maxDropReasons?: number;
  /**
   * How far before `from` a drop counter's last sample is looked for, as the baseline of its
   * increase; well above the collector's host-metrics interval (default 1 hour).
   */
  dropLookbackMs?: number;
  now?: () => number;
}

/** The collector's drop counter (collector/drop-report.ts publishes it; delivery.test.ts holds both ends together). */
const DROPPED_RECORDS_METRIC = 'pharos_collector_records_dropped_total';
const NANOS_PER_SECOND = 1_000_000_000n;
const MAX_INT64 = 9_223_372_036_854_775_807n;
const MAX_DATETIME_SECONDS = 4_294_967_295n;

/** `deliveryReport` for one database; give it a client of purpose 'query'. */
export function deliveryReporter(client: ClickHouseClient, database: string, opts: DeliveryOptions = {}): DeliveryReport {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new PharosError('invalid_config', `invalid database name ${JSON.stringify(database)}`);
  const table = `\`${database}\`.otel_logs`;
  const maxGaps = opts.maxGapRanges ?? 5;
  const maxSources = opts.maxSources ?? 10_000;
  const maxDropReasons = opts.maxDropReasons ?? 100;
  const dropLookbackMs = opts.dropLookbackMs ?? 3_600_000;
  const now = opts.now ?? Date.now;

  return async function deliveryReport(params: DeliveryParams): Promise<DeliveryRow[]> {
    const { fromNs, toNs } = params;
    if (fromNs < 0n || toNs <= fromNs) throw new PharosError('bad_request', `time range [${fromNs}, ${toNs}) is empty or negative`);
    const to = toNs > MAX_INT64 ? MAX_INT64 : toNs;
    const values: Record<string, string | number | string[]> = {
      fromNs: fromNs.toString(),
      toNs: to.toString(),
      fromS: min(fromNs / NANOS_PER_SECOND, MAX_DATETIME_SECONDS).toString(),
      toS: min((to - 1n) / NANOS_PER_SECOND, MAX_DATETIME_SECONDS).toString(),
      maxSources,
      maxGaps,
    };
    // A record whose seq does not parse is not accounted (toUInt64OrNull drops it below).
    const where = [
      'TimestampTime >= toDateTime({fromS:UInt32})',
      'TimestampTime <= toDateTime({toS:UInt32})',
      'Timestamp >= fromUnixTimestamp64Nano({fromNs:Int64})',
      'Timestamp < fromUnixTimestamp64Nano({toNs:Int64})',
      "mapContains(LogAttributes, 'pharos.seq')",
    ];
    if (params.host !== undefined && params.host !== '') {
      values.host = params.host;
      where.push("ResourceAttributes['host.name'] = {host:String}");
    }
    if (params.source !== undefined && params.source !== '') {
      values.source = params.source;
      where.push("LogAttributes['pharos.source'] = {source:String}");
    }
    const scope = logScopeSql(params.scope);
    if (scope.sql !== '1') {
      Object.assign(values, scope.params);
      where.push(scope.sql);
    }
    const scan = (extra: string) => `SELECT ResourceAttributes['host.name'] AS host, LogAttributes['pharos.source'] AS source,
       toUInt64OrNull(LogAttributes['pharos.seq']) AS seq, Timestamp
FROM ${table}
WHERE ${[...where, ...(extra ? [extra] : [])].join('\n  AND ')}`;

    const summarySql = `SELECT host, source, count() AS received, uniqExact(seq) AS distinct_seqs,
       toString(min(seq)) AS min_seq, toString(max(seq)) AS max_seq,
       toString(toUnixTimestamp64Nano(max(Timestamp))) AS newest_ns
FROM (${scan('')})
WHERE seq IS NOT NULL
GROUP BY host, source
ORDER BY host, source
LIMIT {maxSources:UInt32}
SETTINGS max_execution_time = 30, readonly = 1`;

    // Distinct seqs in order; a step of more than one is a gap. The first seq of a source lags
    // to itself (third argument), else it would read as a gap from 0. The rename to `s` matters:
    // with the alias `seq` the IS NOT NULL would test assumeNotNull's 0 and let unparsable seqs in.
    // Only hosts and sources with missing seqs are read again (a superset of the pairs: fine,
    // a complete source has no gap to report).
    const gapsSql = `SELECT host, source, toString(prev + 1) AS gap_from, toString(seq - 1) AS gap_to
FROM (
  SELECT host, source, seq,
         lagInFrame(seq, 1, seq) OVER w AS prev
  FROM (SELECT DISTINCT host, source, assumeNotNull(s) AS seq
        FROM (SELECT host, source, seq AS s FROM (${scan("ResourceAttributes['host.name'] IN {gapHosts:Array(String)} AND LogAttributes['pharos.source'] IN {gapSources:Array(String)}")}))
        WHERE s IS NOT NULL)
  WINDOW w AS (PARTITION BY host, source ORDER BY seq ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
WHERE seq > prev + 1
ORDER BY host, source, seq
LIMIT {maxGaps:UInt32} BY host, source
SETTINGS max_execution_time = 30, readonly = 1`;

    const drops = (visible?: SummaryRow[]) =>
      dropsInRange(client, database, { fromNs, toNs: to, lookbackMs: dropLookbackMs, host: params.host, source: params.source, scope: params.scope, visible, maxReasons: maxDropReasons });
    // A restricted scope sees the drops of the sources it sees records of, so those come first;
    // otherwise both queries go out together.
    const restricted = !isUnrestricted(params.scope);
    const summaryQuery = client.query({ query: summarySql, query_params: values, format: 'JSONEachRow' }).then((r) => r.json<SummaryRow>());
    const [summary, unscopedDrops] = await Promise.all([summaryQuery, restricted ? undefined : drops()]);
    const dropRows = unscopedDrops ?? (await drops(summary));
    const incomplete = summary.filter((r) => BigInt(r.max_seq) - BigInt(r.min_seq) + 1n > BigInt(r.distinct_seqs));
    const gapRows =
      incomplete.length === 0
        ? []
        : await (
            await client.query({
              query: gapsSql,
              query_params: { ...values, gapHosts: [...new Set(incomplete.map((r) => r.host))], gapSources: [...new Set(incomplete.map((r) => r.source))] },
              format: 'JSONEachRow',
            })
          ).json<GapRow>();
    const gaps = new Map<string, SeqRange[]>();
    for (const g of gapRows) {
      const key = `${g.host}\u0000${g.source}`;
      let list = gaps.get(key);
      if (!list) gaps.set(key, (list = []));
      list.push({ from: g.gap_from, to: g.gap_to });
    }
    const nowNs = BigInt(now()) * 1_000_000n;
    const rows = summary.map((r): DeliveryRow => {
      const received = Number(r.received);
      const distinct = Number(r.distinct_seqs);
      const span = BigInt(r.max_seq) - BigInt(r.min_seq) + 1n;
      return {
        host: r.host,
        source: r.source,
        received,
        distinctSeqs: distinct,
        minSeq: r.min_seq,
        maxSeq: r.max_seq,
        missing: Number(span - BigInt(distinct)),
        gaps: gaps.get(`${r.host}\u0000${r.source}`) ?? [],
        duplicates: received - distinct,
        newestNs: r.newest_ns,
        ageMs: Number((nowNs - BigInt(r.newest_ns)) / 1_000_000n),
        dropped: {},
      };
    });
    return withDrops(rows, dropRows, maxSources);
  };
}

interface DropsQuery {
  fromNs: bigint;
  toNs: bigint;
  lookbackMs: number;
  host?: string | undefined;
  source?: string | undefined;
  scope?: LabelScope | undefined;
  /** For a restricted scope: the hosts and sources whose records the caller sees. */
  visible?: ReadonlyArray<{ host: string; source: string }> | undefined;
  maxReasons: number;
}

interface DropRow {
  host: string;
  source: string;
  reason: string;
  dropped: number;
}

/**
 * Drops per host, source and reason in [fromNs, toNs) from the drop counter's samples: one query,
 * on the samples' primary key (metric name) and day partitions, over the range and its lookback.
 *
 * Scope: the counter is Pharos's own (`job="pharos"`), so it names no service of the caller's; a
 * restricted caller sees the drops of a source whose records it may see in range, and those
 * whose labels are in its scope (core/http/scope.ts's metric rule), nothing else.
 */
async function dropsInRange(client: ClickHouseClient, database: string, q: DropsQuery): Promise<DropRow[]> {
  const metricsTable = `\`${database}\`.metric_samples`;
  const rollupTable = `\`${database}\`.metric_rollup_1h`;
  // A sample at t ms lies in [fromNs, toNs) when fromMs <= t < toMs.
  const fromMs = ceilDiv(q.fromNs, 1_000_000n);
  const toMs = ceilDiv(q.toNs, 1_000_000n);
  const lookbackFromMs = fromMs - BigInt(Math.max(0, Math.trunc(q.lookbackMs)));
  const values: Record<string, string | number | string[]> = {
    metric: DROPPED_RECORDS_METRIC,
    fromMs: fromMs.toString(),
    toMs: toMs.toString(),
    lookbackFromMs: (lookbackFromMs < 0n ? 0n : lookbackFromMs).toString(),
    maxReasons: q.maxReasons,
  };
  const where = [
    'MetricName = {metric:String}',
    'Timestamp >= fromUnixTimestamp64Milli({lookbackFromMs:Int64})',
    'Timestamp < fromUnixTimestamp64Milli({toMs:Int64})',
    'NOT Stale',
    'isFinite(Value)',
  ];
  // Labels are tested once per series, after its samples are summed up.
  const seriesWhere: string[] = [];
  if (q.host !== undefined && q.host !== '') {
    values.host = q.host;
    seriesWhere.push("labels['host'] = {host:String}");
  }
  if (q.source !== undefined && q.source !== '') {
    values.source = q.source;
    seriesWhere.push("labels['source'] = {source:String}");
  }
  if (!isUnrestricted(q.scope)) {
    const labels = metricLabelsScopeSql(q.scope, 'labels', 'drop_scope');
    Object.assign(values, labels.params);
    values.visibleHosts = (q.visible ?? []).map((v) => v.host);
    values.visibleSources = (q.visible ?? []).map((v) => v.source);
    seriesWhere.push(`((${labels.sql}) OR has(arrayZip({visibleHosts:Array(String)}, {visibleSources:Array(String)}), (labels['host'], labels['source'])))`);
  }
  // Per series: its samples in time order; the baseline is the last one before the range (0 when
  // none), then each step up counts its difference and each step down (a reset) its new value.
  // Of several series of one host, source and reason, the densest is read: its baseline lies
  // closest to the range, so the least of what it counts happened before.
  // A series' labels come from the hourly rollup (one row per series and hour), not from the
  // samples: reading the samples' Labels column made the query 2-4 times slower (3.4 million
  // samples of the counter, 600 series: 190-380 ms against 40-130 ms on chDB, 2 busy cores).
  const sql = `SELECT host, source, reason, argMax(increase, (samples, increase)) AS dropped
FROM (
  SELECT labels['host'] AS host, labels['source'] AS source, labels['reason'] AS reason, samples, increase
  FROM (
    SELECT Fingerprint, length(points) AS samples,
           arrayFilter(p -> p.1 < {fromMs:Int64}, points) AS before,
           arrayMap(p -> p.2, arrayFilter(p -> p.1 >= {fromMs:Int64}, points)) AS inside,
           arrayConcat([if(empty(before), 0., tupleElement(before[-1], 2))], inside) AS steps,
           arraySum(arrayMap((cur, prev) -> if(cur >= prev, cur - prev, cur), arrayPopFront(steps), arrayPopBack(steps))) AS increase
    FROM (
      SELECT Fingerprint, arraySort(p -> p.1, groupArray((toUnixTimestamp64Milli(Timestamp), Value))) AS points
      FROM ${metricsTable}
      WHERE ${where.join('\n        AND ')}
      GROUP BY Fingerprint
    )
    WHERE notEmpty(inside)
  ) AS series
  INNER JOIN (
    SELECT Fingerprint, any(Labels) AS labels
    FROM ${rollupTable}
    WHERE MetricName = {metric:String}
      AND BucketStart >= toStartOfHour(fromUnixTimestamp64Milli({lookbackFromMs:Int64}))
      AND BucketStart < fromUnixTimestamp64Milli({toMs:Int64})
    GROUP BY Fingerprint
  ) AS named USING Fingerprint${seriesWhere.length ? `\n  WHERE ${seriesWhere.join('\n    AND ')}` : ''}
)
GROUP BY host, source, reason
HAVING dropped > 0
ORDER BY host, source, reason
LIMIT {maxReasons:UInt32} BY host, source
SETTINGS max_execution_time = 30, readonly = 1`;
  const rows = await (await client.query({ query: sql, query_params: values, format: 'JSONEachRow' })).json<{ host: string; source: string; reason: string; dropped: number | string }>();
  return rows.map((r) => ({ host: r.host, source: r.source, reason: r.reason, dropped: Number(r.dropped) }));
}

/**
 * The drops put on their host's and source's row; a host and source that only dropped gets a row
 * of its own (while the answer holds fewer than `maxRows`). Rows stay ordered by host, source.
 */
function withDrops(rows: DeliveryRow[], drops: DropRow[], maxRows: number): DeliveryRow[] {
  if (drops.length === 0) return rows;
  const byKey = new Map(rows.map((r) => [`${r.host}\u0000${r.source}`, r]));
  const out = [...rows];
  for (const d of drops) {
    const key = `${d.host}\u0000${d.source}`;
    let row = byKey.get(key);
    if (!row) {
      if (out.length >= maxRows) continue;
      row = { host: d.host, source: d.source, received: 0, distinctSeqs: 0, minSeq: null, maxSeq: null, missing: 0, gaps: [], duplicates: 0, newestNs: null, ageMs: null, dropped: {} };
      byKey.set(key, row);
      out.push(row);
    }
    row.dropped[d.reason] = d.dropped;
  }
  return out.sort((a, b) => compare(a.host, b.host) || compare(a.source, b.source));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a >= 0n ? (a + b - 1n) / b : a / b;
}

interface SummaryRow {
  host: string;
  source: string;
  received: string | number;
  distinct_seqs: string | number;
  min_seq: string;
  max_seq: string;
  newest_ns: string;
}

interface GapRow {
  host: string;
  source: string;
  gap_from: string;
  gap_to: string;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
