/**
 * Saved dashboards in ClickHouse (`dashboards`, migration 006): ClickHouse is the durable store
 * every Pharos process already shares, so a dashboard saved through one dashboard process is seen
 * by all. Each save appends a row with the next version; reads take the newest row per id, so
 * they do not depend on when ReplacingMergeTree merges.
 *
 * Writes in this process are serialized, which makes "the version you edited is still the
 * newest" (optimistic locking) exact here; two processes writing the same dashboard at the same
 * instant both succeed, the later version wins.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { PharosError } from '../../../core/errors.js';
import type { DashboardModel } from '../../defaults/dashboard-model.js';

export interface StoredDashboard {
  id: string;
  version: number;
  title: string;
  description?: string;
  model: DashboardModel;
  updatedAt: string;
  updatedBy: string;
}

export type StoredSummary = Omit<StoredDashboard, 'model'>;

export interface DashboardStore {
  list(): Promise<StoredSummary[]>;
  get(id: string): Promise<StoredDashboard | undefined>;
  create(model: DashboardModel, by: string): Promise<StoredDashboard>;
  /** `expectedVersion`: refuse when someone saved since (a `conflict` error). */
  update(id: string, model: DashboardModel, by: string, expectedVersion?: number): Promise<StoredDashboard | undefined>;
  delete(id: string, by: string): Promise<boolean>;
}

export class VersionConflict extends Error {
  constructor(readonly current: number) {
    super(`the dashboard was saved by someone else since (now version ${current}); reload it and apply your change again`);
  }
}

interface Row {
  Id: string;
  v: string | number;
  title: string;
  model: string;
  updatedAt: string | number;
  updatedBy: string;
  deleted: number;
}

export class ClickHouseDashboardStore implements DashboardStore {
  private readonly table: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: ClickHouseClient,
    database: string,
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new PharosError('invalid_config', `invalid database name ${JSON.stringify(database)}`);
    this.table = `\`${database}\`.dashboards`;
  }

  async list(): Promise<StoredSummary[]> {
    const rows = await this.latest();
    return rows.filter((r) => !Number(r.deleted)).map((r) => summary(r));
  }

  async get(id: string): Promise<StoredDashboard | undefined> {
    const [row] = await this.latest(id);
    if (!row || Number(row.deleted)) return undefined;
    return { ...summary(row), model: JSON.parse(row.model) as DashboardModel };
  }

  create(model: DashboardModel, by: string): Promise<StoredDashboard> {
    return this.serial(() => this.write(randomUUID(), 1, model, by, 0));
  }

  update(id: string, model: DashboardModel, by: string, expectedVersion?: number): Promise<StoredDashboard | undefined> {
    return this.serial(async () => {
      const [row] = await this.latest(id);
      if (!row || Number(row.deleted)) return undefined;
      const current = Number(row.v);
      if (expectedVersion !== undefined && expectedVersion !== current) throw new VersionConflict(current);
      return this.write(id, current + 1, model, by, 0);
    });
  }

  delete(id: string, by: string): Promise<boolean> {
    return this.serial(async () => {
      const [row] = await this.latest(id);
      if (!row || Number(row.deleted)) return false;
      await this.write(id, Number(row.v) + 1, JSON.parse(row.model) as DashboardModel, by, 1);
      return true;
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async latest(id?: string): Promise<Row[]> {
    const rs = await this.client.query({
      // Aliases differ from the columns: ClickHouse would read `Version` in argMax as the alias.
      query: `SELECT Id, max(Version) AS v, argMax(Title, Version) AS title, argMax(Model, Version) AS model,
       toUnixTimestamp64Milli(argMax(UpdatedAt, Version)) AS updatedAt, argMax(UpdatedBy, Version) AS updatedBy, argMax(Deleted, Version) AS deleted
FROM ${this.table}
${id === undefined ? '' : 'WHERE Id = {id:String}'}
GROUP BY Id
ORDER BY title, Id
SETTINGS output_format_json_quote_64bit_integers = 0`,
      ...(id === undefined ? {} : { query_params: { id } }),
      format: 'JSONEachRow',
    });
    return rs.json<Row>();
  }

  private async write(id: string, version: number, model: DashboardModel, by: string, deleted: 0 | 1): Promise<StoredDashboard> {
    const at = Date.now();
    await this.client.insert({
      table: this.table,
      values: [{ Id: id, Version: version, Title: model.title, Model: JSON.stringify(model), UpdatedAt: at, UpdatedBy: by, Deleted: deleted }],
      format: 'JSONEachRow',
      // Integer milliseconds into DateTime64(3), the same on chDB and a server.
      clickhouse_settings: { date_time_input_format: 'basic' },
    });
    return { id, version, title: model.title, ...(model.description ? { description: model.description } : {}), model, updatedAt: new Date(at).toISOString(), updatedBy: by };
  }
}

function summary(r: Row): StoredSummary {
  const description = (JSON.parse(r.model) as Partial<DashboardModel>).description;
  return { id: r.Id, version: Number(r.v), title: r.title, ...(description ? { description } : {}), updatedAt: new Date(Number(r.updatedAt)).toISOString(), updatedBy: r.updatedBy };
}
