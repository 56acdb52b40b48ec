/**
 * The one ClickHouse client factory. An empty `clickhouse.url` means the embedded chDB engine
 * under `<data_dir>/clickhouse`, reached through the same `@clickhouse/client` API and SQL as a
 * server, so nothing above this file knows which one it talks to.
 *
 * Every purpose gets its own client: chDB runs one query at a time per connection, so an
 * analyst's slow query on the writer's connection would hold ingestion for its whole duration.
 * A second chDB connection on the same data path runs alongside (DESIGN.md, Warehouse).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { PharosConfig } from '../config/schema.js';
import { PharosError, redactUrl } from '../errors.js';
import type { Logger } from '../log.js';

export type { ClickHouseClient };

type ChdbConnection = NonNullable<ClickHouseClientConfigOptions['connection']>;

export type ClickHousePurpose = 'ingest' | 'query' | 'admin';

/**
 * HTTP request timeouts of a server connection. Interactive queries also carry their own
 * `max_execution_time` in the SQL; inserts of a large batch and migrations (ALTER) take longer.
 */
const REQUEST_TIMEOUT_MS: Record<ClickHousePurpose, number> = {
  ingest: 120_000,
  query: 30_000,
  admin: 300_000,
};

export function createClickHouse(config: PharosConfig, log: Logger, purpose: ClickHousePurpose): ClickHouseClient {
  const ch = config.clickhouse;
  const target = describeClickHouse(config);
  if (ch.url === '') {
    const path = resolve(config.data_dir, 'clickhouse');
    mkdirSync(path, { recursive: true });
    let connection: ChdbConnection;
    try {
      // chdb types the connection against @clickhouse/client-common, @clickhouse/client against
      // its bundled copy of the same interface: identical at run time, distinct to the compiler.
      connection = createChdbConnection({ path }) as unknown as ChdbConnection;
    } catch (err) {
      // libchdb binds one data directory per process: a second, different path is refused here.
      throw new PharosError('clickhouse_unavailable', `cannot open ${target} for ${purpose}: ${(err as Error).message}`, false, { cause: err });
    }
    log.info({ purpose, clickhouse: target }, 'clickhouse connection opened');
    return createClient({ connection });
  }
  const password = ch.password ?? (ch.password_file ? readPasswordFile(ch.password_file) : '');
  log.info({ purpose, clickhouse: target, username: ch.username }, 'clickhouse connection opened');
  return createClient({
    url: ch.url,
    username: ch.username,
    password,
    // The admin client creates the database itself, so it must not name one that may not exist yet.
    ...(purpose === 'admin' ? {} : { database: ch.database }),
    request_timeout: REQUEST_TIMEOUT_MS[purpose],
    application: `pharos-${purpose}`,
  });
}

/**
 * A second connection to the warehouse `client` talks to, for statements that must not queue
 * behind its own: chDB runs one statement at a time per connection, so the writer's ledger reads
 * waited behind its inserts (a tenth of the connection's time at 25,000-row batches, measured).
 * A server client runs statements side by side over its socket pool: it is its own companion.
 * Whatever does not look like either (a test's stand-in) is returned as is too.
 */
export function companionClient(client: ClickHouseClient): { client: ClickHouseClient; close(): Promise<void> } {
  // chdb/connection's session info; not public API of @clickhouse/client: checked by shape.
  const session = (client as unknown as { connection?: { chdb?: { session?: { path?: unknown; isTemp?: unknown } } } }).connection?.chdb?.session;
  if (typeof session?.path !== 'string' || session.isTemp === true) return { client, close: async () => {} };
  const companion = createClient({ connection: createChdbConnection({ path: session.path }) as unknown as ChdbConnection });
  return { client: companion, close: () => companion.close() };
}

/** For log lines and `pharos config check`: where the warehouse lives, credentials removed. */
export function describeClickHouse(config: PharosConfig): string {
  if (config.clickhouse.url === '') return `embedded chDB at ${config.data_dir.replace(/\/+$/, '')}/clickhouse`;
  return redactUrl(config.clickhouse.url);
}

function readPasswordFile(file: string): string {
  try {
    // Mounted secrets usually end with a newline that is not part of the password.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new PharosError('invalid_config', `clickhouse.password_file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, false, {
      cause: err,
    });
  }
}
