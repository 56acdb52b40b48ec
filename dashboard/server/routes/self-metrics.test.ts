import express from 'express';
import { describe, expect, it } from 'vitest';
import { counter, createRegistry, gauge } from '../../../core/telemetry/registry.js';
import { selfMetricsRoutes, summarize } from './self-metrics.js';

function registryWithTraffic() {
  const registry = createRegistry();
  const received = counter(registry, 'pharos_component_received_events_total', 'x', ['component_kind', 'component_id', 'component_type']);
  received.labels({ component_kind: 'source', component_id: 'files', component_type: 'file' }).inc(30);
  received.labels({ component_kind: 'source', component_id: 'host', component_type: 'host_metrics' }).inc(12);
  // A sink's intake is not ingest: counting it would double every event.
  received.labels({ component_kind: 'sink', component_id: 'bus', component_type: 'kafka' }).inc(42);
  const errors = counter(registry, 'pharos_component_errors_total', 'x', ['component_kind', 'component_id', 'component_type', 'error_type', 'stage']);
  errors.labels({ component_kind: 'source', component_id: 'files', component_type: 'file', error_type: 'io', stage: 'read' }).inc(2);
  counter(registry, 'pharos_warehouse_insert_errors_total', 'x', ['table']).labels({ table: 'logs' }).inc(1);
  counter(registry, 'pharos_warehouse_rows_inserted_total', 'x', ['table']).labels({ table: 'logs' }).inc(40);
  gauge(registry, 'pharos_realtime_series', 'x', [], function collect() {
    this.set(79);
  });
  return registry;
}

describe('GET /api/self/metrics-summary', () => {
  it('sums the sources, both kinds of errors, and reads the series gauge through its collect callback', async () => {
    expect(await summarize(registryWithTraffic(), 1234)).toEqual({
      at: 1234,
      eventsReceived: 42,
      eventsSent: 0,
      rowsInserted: 40,
      samplesAppended: 0,
      errors: 3,
      series: 79,
    });
  });

  it('says "no series" rather than zero when this process runs no real-time store', async () => {
    expect((await summarize(createRegistry(), 0)).series).toBeNull();
  });

  it('answers in the API envelope for a viewer', async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals.principal = { name: 'v', role: 'viewer', anonymous: false };
      next();
    });
    app.use(selfMetricsRoutes({ registry: registryWithTraffic(), now: () => 99 }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/api/self/metrics-summary`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'success', data: { at: 99, eventsReceived: 42, series: 79 } });
    } finally {
      server.close();
    }
  });
});
