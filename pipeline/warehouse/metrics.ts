/** The writer's own metrics, one series per target table. */
import { counter, gauge, histogram, type Registry } from '../../core/telemetry/registry.js';

export interface WarehouseMetrics {
  rowsInserted: ReturnType<typeof counter<'table'>>;
  insertErrors: ReturnType<typeof counter<'table'>>;
  deadletters: ReturnType<typeof counter<'reason'>>;
  insertDuration: ReturnType<typeof histogram<'table'>>;
  lastInsert: ReturnType<typeof gauge<'table'>>;
}

export const WAREHOUSE_TABLES = ['otel_logs', 'metric_samples'] as const;

export function warehouseMetrics(registry: Registry): WarehouseMetrics {
  const m: WarehouseMetrics = {
    rowsInserted: counter(registry, 'pharos_warehouse_rows_inserted_total', 'Rows acknowledged by ClickHouse, by table (re-sent rows it deduplicated included).', ['table']),
    insertErrors: counter(registry, 'pharos_warehouse_insert_errors_total', 'Inserts ClickHouse failed or refused; the batch is retried from the same offset.', ['table']),
    deadletters: counter(registry, 'pharos_warehouse_deadletters_total', 'Messages sent to the dead-letter topic, by reason.', ['reason']),
    insertDuration: histogram(registry, 'pharos_warehouse_insert_duration_seconds', 'Duration of one insert into ClickHouse.', ['table'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    lastInsert: gauge(registry, 'pharos_warehouse_last_insert_timestamp_seconds', 'When ClickHouse last acknowledged an insert, seconds since the epoch.', ['table']),
  };
  // Series exist from the start, so a rate() over them is 0 rather than absent.
  for (const table of WAREHOUSE_TABLES) {
    m.rowsInserted.labels(table).inc(0);
    m.insertErrors.labels(table).inc(0);
  }
  m.deadletters.labels('decode_failed').inc(0);
  return m;
}
