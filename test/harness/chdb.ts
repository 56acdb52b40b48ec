/** A chDB warehouse of a test file's own, in a temp directory removed after the file's tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createClickHouse, type ClickHouseClient } from '../../core/clickhouse/client.js';
import { validateConfig } from '../../core/config/load.js';
import type { PharosConfig } from '../../core/config/schema.js';
import { silentLogger } from '../../core/log.js';

export interface TempChDB {
  dir: string;
  config: PharosConfig;
  admin: ClickHouseClient;
  /** A query's rows as JSON objects. */
  rows<T>(query: string): Promise<T[]>;
}

export function tempChDB(prefix: string): TempChDB {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const config = validateConfig({ data_dir: dir });
  const admin = createClickHouse(config, silentLogger(), 'admin');
  afterAll(async () => {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    config,
    admin,
    rows: async <T>(query: string) => (await admin.query({ query, format: 'JSONEachRow' })).json<T>(),
  };
}
