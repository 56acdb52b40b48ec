/**
 * Log search over 10 million `otel_logs` rows on the embedded engine (chDB), through the query
 * layer the dashboard uses (pipeline/warehouse/log-search.ts). Run: `npm run bench:warehouse-search`
 * (figures only, no assertions).
 *
 * 1. a fresh chDB database, schema by the real migrations (core/clickhouse/migrate.ts);
 * 2. `otel_logs` filled by one `INSERT … SELECT FROM numbers(N)` inside the engine (N =
 *    BENCH_SEARCH_ROWS, default 10,000,000): the rows go through the same table, index and parts as
 *    the writer's, without the hour a Kafka replay of 10 M records would take here. Bodies have the
 *    shapes real logs have (access lines, logfmt, JSON, debug counters, Java-style warnings and
 *    errors), ~190 bytes on average, over 12 services, 40 hosts and 24 hours, each line with its
 *    own request or trace id;
 *    error lines carry `ERR_CODE_<hex>` codes, so the tokens `ERR` and `CODE` are everywhere and
 *    only the last one is rare. A handful of needles are planted: a rare token, and the phrase
 *    `ERR_CODE_7f3a` in a sentence;
 * 3. each search as the dashboard sends it (range = the last 24 h + a minute, newest first, first
 *    page of 100): the first (cold) run, then the median of BENCH_SEARCH_RUNS more (default 7).
 *    What was read comes from `EXPLAIN indexes = 1` of the same SQL: granules (8,192 rows each)
 *    the body index kept. chDB keeps no `system.query_log`, and its result summary counts result
 *    rows, not rows read.
 *
 * BENCH_SEARCH_INDEX=exporter puts the exporter's body index back (one bloom filter per 8
 * granules, migration 001) to compare with migration 007's (one per granule).
 *
 * Results: bench/results/warehouse-search.json (warehouse-search-exporter-index.json for the
 * comparison). The temp directory is removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClickHouse, type ClickHouseClient } from '../core/clickhouse/client.js';
import { migrate } from '../core/clickhouse/migrate.js';
import { validateConfig } from '../core/config/load.js';
import { silentLogger } from '../core/log.js';
import { ClickHouseLogSearch } from '../pipeline/warehouse/log-search.js';
import { machine, printMachine, type MachineInfo } from './lib/machine.js';
import { percentile } from './lib/percentile.js';
import { writeResults } from './lib/results.js';

export const RARE_TOKEN = 'zqxv7f3aRareToken';
export const PHRASE = 'ERR_CODE_7f3a';
const DATABASE = 'bench_search';
const NS_PER_S = 1_000_000_000n;
const DAY_NS = 86_400n * NS_PER_S;
/** Migration 007's index on Body (the exporter's is `idx_body`). */
const BODY_INDEX = 'idx_body_tokens';
/** `index_granularity` of otel_logs. */
const GRANULE_ROWS = 8192;

export interface SearchBenchOptions {
  rows?: number;
  /** Timed runs after the cold one. */
  runs?: number;
  /** Where chDB keeps its data; a temp directory (removed at the end) when absent. */
  dataDir?: string;
  /**
   * 'exporter' puts back the OpenTelemetry exporter's body index (one filter per 8 granules,
   * as migration 001 creates it) after the migrations, to compare with migration 007's.
   */
  bodyIndex?: 'current' | 'exporter';
  /** Progress lines; silent when absent. */
  print?: (line: string) => void;
}

export interface SearchFigures {
  text: string;
  hits: number;
  cold_ms: number;
  median_ms: number;
  runs_ms: number[];
  /** Granules the body index kept / granules after the time range, from EXPLAIN indexes = 1. */
  granules?: { kept: number; total: number };
}

export interface SearchBenchResult {
  machine: MachineInfo;
  body_index: string;
  rows: number;
  parts: number;
  fill_s: number;
  body_bytes: { uncompressed: number; compressed: number };
  body_index_bytes: number;
  rare_token: SearchFigures;
  phrase: SearchFigures;
}

export async function searchBench(opts: SearchBenchOptions = {}): Promise<SearchBenchResult> {
  const rows = opts.rows ?? 10_000_000;
  const runs = opts.runs ?? 7;
  const print = opts.print ?? (() => {});
  const ownDir = opts.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'pharos-bench-search-')) : undefined;
  const config = validateConfig({ data_dir: opts.dataDir ?? ownDir!, clickhouse: { database: DATABASE } });
  const log = silentLogger();
  const admin = createClickHouse(config, log, 'admin');
  const query = createClickHouse(config, log, 'query');
  try {
    const m = machine();
    await admin.command({ query: `DROP DATABASE IF EXISTS ${DATABASE}` });
    await migrate(admin, { database: DATABASE, logsTtlDays: 30, log });
    if (opts.bodyIndex === 'exporter') {
      await admin.command({ query: `ALTER TABLE ${DATABASE}.otel_logs DROP INDEX ${BODY_INDEX}` });
      await admin.command({ query: `ALTER TABLE ${DATABASE}.otel_logs ADD INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8` });
    }

    const endNs = (BigInt(Date.now()) * 1_000_000n) / NS_PER_S * NS_PER_S;
    const started = performance.now();
    await admin.command({ query: fillSql(rows, endNs), clickhouse_settings: { max_partitions_per_insert_block: '10' } });
    const fillS = (performance.now() - started) / 1000;
    // The parts of a bulk insert merge for a while afterwards, on the same 2 cores the searches
    // need: searches are timed once that settled, as over data written hours before.
    const settleS = await mergesSettled(admin);
    const stats = await tableStats(admin);
    print(`body index: ${stats.bodyIndexType}`);
    print(
      `filled otel_logs with ${stats.rows.toLocaleString('en')} rows in ${fillS.toFixed(1)} s, merges settled ${settleS.toFixed(0)} s later: ${stats.parts} parts, Body ${mib(stats.bodyUncompressed)} MiB ` +
        `(${mib(stats.bodyCompressed)} MiB compressed), body index ${mib(stats.bodyIndex)} MiB`,
    );

    const search = new ClickHouseLogSearch(query, DATABASE);
    // As the dashboard asks for "the last 24 hours": every row is inside.
    const range = { fromNs: endNs - DAY_NS, toNs: endNs + 60n * NS_PER_S, limit: 100 };
    const timed = async (text: string): Promise<SearchFigures> => {
      const times: number[] = [];
      let hits = 0;
      for (let i = 0; i <= runs; i++) {
        const t = performance.now();
        hits = (await search.searchPage({ ...range, text })).rows.length;
        times.push(performance.now() - t);
      }
      const figures: SearchFigures = {
        text,
        hits,
        cold_ms: Math.round(times[0]!),
        median_ms: Math.round(percentile(times.slice(1), 50)),
        runs_ms: times.map((x) => Math.round(x)),
      };
      const granules = await bodyIndexGranules(query, search, { ...range, text });
      if (granules) figures.granules = granules;
      print(
        `search ${JSON.stringify(text)}: ${hits} hits, cold ${figures.cold_ms} ms, median of ${runs} ${figures.median_ms} ms` +
          (granules ? `; body index kept ${granules.kept} of ${granules.total} granules (≤ ${(granules.kept * GRANULE_ROWS).toLocaleString('en')} rows read)` : ''),
      );
      return figures;
    };
    const rare = await timed(RARE_TOKEN);
    const phrase = await timed(`"${PHRASE}"`);
    return {
      machine: m,
      body_index: stats.bodyIndexType,
      rows: stats.rows,
      parts: stats.parts,
      fill_s: Math.round(fillS * 10) / 10,
      body_bytes: { uncompressed: stats.bodyUncompressed, compressed: stats.bodyCompressed },
      body_index_bytes: stats.bodyIndex,
      rare_token: rare,
      phrase,
    };
  } finally {
    await Promise.allSettled([admin.close(), query.close()]);
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  }
}

/**
 * One pseudo-random 64-bit value per row (`h`) and slices of it pick every varying part, so the
 * data is the same on every run. Row `number` is `(rows - 1 - number) * step` before `endNs`.
 */
export function fillSql(rows: number, endNs: bigint): string {
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${rows}`);
  const stepNs = DAY_NS / BigInt(rows);
  // About ten needles of each kind whatever the row count; never on the same row.
  const every = Math.max(2, Math.floor(rows / 10));
  const services = ['checkout', 'cart', 'payments', 'orders', 'inventory', 'search', 'auth', 'gateway', 'users', 'shipping', 'notifications', 'recommendations'];
  const paths = ['/api/v1/orders', '/api/v1/cart/items', '/api/v1/users/me', '/healthz', '/static/js/app.3f9c1b.js', '/api/v1/search', '/api/v2/payments/authorize', '/login', '/api/v1/inventory/sku'];
  const codes = ['1a2b', '3c4d', '5e6f', '0a9b', 'b00c', 'dead', 'c0de', '42aa', '9f01', 'e7e7'];
  const arr = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
  return `INSERT INTO ${DATABASE}.otel_logs (Timestamp, TraceId, SpanId, SeverityText, SeverityNumber, ServiceName, Body, ResourceAttributes, ScopeName, LogAttributes)
SELECT
    fromUnixTimestamp64Nano(toInt64(${endNs} - (${rows} - number) * ${stepNs})) AS Timestamp,
    if(h % 3 = 0, lower(hex(cityHash64(number, 't'))) || lower(hex(cityHash64(number, 'u'))), '') AS TraceId,
    if(h % 3 = 0, lower(hex(cityHash64(number, 's'))), '') AS SpanId,
    ['DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'ERROR'][kind + 1] AS SeverityText,
    [5, 9, 9, 9, 9, 9, 13, 17][kind + 1] AS SeverityNumber,
    service AS ServiceName,
    multiIf(
        number % ${every} = ${Math.floor(every / 3)}, concat('cache miss storm on shard ', toString(h % 64), ': evicted ', toString(h % 9000), ' keys, marker ${RARE_TOKEN} seen by ', host, ' request_id=', rid),
        number % ${every} = ${Math.floor((2 * every) / 3)}, concat('payment failed: gateway said ${PHRASE} for order ', toString(number), ' after 3 retries; card declined, request_id=', rid),
        kind = 0, concat('DEBUG pool=primary-db stats: active=', toString(h % 50), ' idle=', toString(intDiv(h, 50) % 50), ' waiting=0 created=', toString(h % 100000), ' host=', host, ' thread=worker-', toString(h % 16), ' request_id=', rid),
        kind <= 3, concat('10.', toString(b1), '.', toString(b2), '.', toString(b3), ' - - [', formatDateTime(toDateTime(intDiv(${endNs} - (${rows} - number) * ${stepNs}, 1000000000)), '%d/%b/%Y:%H:%i:%S +0000'), '] "', ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'][h % 6 + 1], ' ', path, ' HTTP/1.1" ', toString(status), ' ', toString(h % 48000), ' "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36" rt=0.', toString(h % 900), ' request_id=', rid),
        kind = 4, concat('level=info ts=', toString(toDateTime(intDiv(${endNs} - (${rows} - number) * ${stepNs}, 1000000000))), ' caller=handler.go:', toString(100 + h % 300), ' msg="handled request" method=POST path=', path, ' status=', toString(status), ' duration_ms=', toString(h % 900), '.', toString(h % 10), ' user_id=', toString(h % 1000000), ' request_id=', rid),
        kind = 5, concat('{"level":"info","msg":"slow query","db":"', service, '","table":"line_items","rows":', toString(h % 20000), ',"elapsed_ms":', toString(h % 2000), ',"host":"', host, '","trace_id":"', lower(hex(cityHash64(number, 't'))), lower(hex(cityHash64(number, 'u'))), '"}'),
        kind = 6, concat('WARN [http-nio-8080-exec-', toString(h % 200), '] c.s.', service, '.RetryPolicy - attempt ', toString(h % 5 + 1), ' of 5 to ', path, ' timed out after ', toString(h % 3000), ' ms; backing off, request_id=', rid),
        concat('ERROR [worker-', toString(h % 32), '] com.shop.', service, '.Gateway - charge failed for order ', toString(h % 10000000), ': ERR_CODE_', ${arr(codes)}[h % ${codes.length} + 1], ' upstream returned 502 after ', toString(h % 5000), ' ms (request_id=', rid, ')')
    ) AS Body,
    map('service.name', service, 'host.name', host, 'os.type', 'linux', 'deployment.environment', 'production') AS ResourceAttributes,
    'pharos.bench' AS ScopeName,
    map('log.file.path', concat('/var/log/', service, '/current.log'), 'request.id', rid) AS LogAttributes
FROM
(
    SELECT
        number,
        cityHash64(number) AS h,
        toUInt8(intDiv(h, 1000) % 8) AS kind,
        ${arr(services)}[intDiv(h, 7) % ${services.length} + 1] AS service,
        concat('node-', toString(intDiv(h, 11) % 40)) AS host,
        ${arr(paths)}[intDiv(h, 13) % ${paths.length} + 1] AS path,
        [200, 200, 200, 200, 200, 201, 204, 304, 404, 500][intDiv(h, 17) % 10 + 1] AS status,
        intDiv(h, 19) % 256 AS b1,
        intDiv(h, 23) % 256 AS b2,
        intDiv(h, 29) % 256 AS b3,
        lower(hex(cityHash64(number, 'r'))) AS rid
    FROM numbers(${rows})
)`;
}

/** Seconds until no merge of otel_logs has run for 3 polls in a row (at most 5 minutes). */
async function mergesSettled(client: ClickHouseClient): Promise<number> {
  const started = performance.now();
  let quiet = 0;
  while (quiet < 3 && performance.now() - started < 300_000) {
    const rs = await client.query({ query: `SELECT count() AS n FROM system.merges WHERE database = '${DATABASE}' AND table = 'otel_logs'`, format: 'JSONEachRow' });
    quiet = Number((await rs.json<{ n: string }>())[0]!.n) === 0 ? quiet + 1 : 0;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return (performance.now() - started) / 1000;
}

async function tableStats(client: ClickHouseClient): Promise<{ rows: number; parts: number; bodyUncompressed: number; bodyCompressed: number; bodyIndex: number; bodyIndexType: string }> {
  const one = async <T>(sql: string): Promise<T> => (await (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>())[0]!;
  const parts = await one<{ rows: string; parts: string }>(`SELECT sum(rows) AS rows, count() AS parts FROM system.parts WHERE database = '${DATABASE}' AND table = 'otel_logs' AND active`);
  const body = await one<{ u: string; c: string }>(
    `SELECT sum(data_uncompressed_bytes) AS u, sum(data_compressed_bytes) AS c FROM system.columns WHERE database = '${DATABASE}' AND table = 'otel_logs' AND name = 'Body'`,
  );
  const index = await one<{ b: string; t: string; g: string }>(
    `SELECT data_compressed_bytes AS b, type_full AS t, granularity AS g FROM system.data_skipping_indices WHERE database = '${DATABASE}' AND table = 'otel_logs' AND expr = 'Body'`,
  );
  return {
    rows: Number(parts.rows),
    parts: Number(parts.parts),
    bodyUncompressed: Number(body.u),
    bodyCompressed: Number(body.c),
    bodyIndex: Number(index?.b ?? 0),
    bodyIndexType: index ? `${index.t} GRANULARITY ${index.g}` : 'none',
  };
}

/** Granules kept by the body index, from the plan of the exact SQL the search runs. */
async function bodyIndexGranules(client: ClickHouseClient, search: ClickHouseLogSearch, params: Parameters<ClickHouseLogSearch['build']>[0]): Promise<{ kept: number; total: number } | undefined> {
  const { sql, values } = search.build(params);
  const rs = await client.query({ query: `EXPLAIN indexes = 1, json = 1 ${sql.replace(/\nSETTINGS[^]*$/, '')}`, query_params: values, format: 'TabSeparatedRaw' });
  const plan = JSON.parse(await rs.text()) as unknown;
  let found: { kept: number; total: number } | undefined;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.Type === 'Skip' && typeof o.Name === 'string' && o.Name.startsWith('idx_body') && typeof o['Initial Granules'] === 'number') {
      found = { kept: o['Selected Granules'] as number, total: o['Initial Granules'] as number };
    }
    Object.values(o).forEach(walk);
  };
  walk(plan);
  return found;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

async function main(): Promise<void> {
  const m = machine();
  printMachine(m);
  const result = await searchBench({
    rows: Number(process.env.BENCH_SEARCH_ROWS ?? 10_000_000),
    runs: Number(process.env.BENCH_SEARCH_RUNS ?? 7),
    bodyIndex: process.env.BENCH_SEARCH_INDEX === 'exporter' ? 'exporter' : 'current',
    print: (line) => console.log(line),
  });
  const name = result.body_index.endsWith('GRANULARITY 8') ? 'warehouse-search-exporter-index' : 'warehouse-search';
  console.log(`results written to ${writeResults(name, result)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
