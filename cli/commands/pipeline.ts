import { createClickHouse, describeClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { systemLogsTtlDays } from '../../core/clickhouse/system-log-ttl.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import { selectBus } from '../../core/bus/select-bus.js';
import { startWarehouseWriter } from '../../pipeline/warehouse/writer.js';
import { startRealtime } from '../../pipeline/realtime/realtime-service.js';
import { runOrExit, startRuntime, type CommonOptions, publishOwnMetrics } from '../runtime.js';

/** `pharos pipeline`: Kafka consumers; today the warehouse writer (logs → ClickHouse). */
export async function runPipeline(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('pipeline', opts);
  await runOrExit(rt.log, async () => {
    const admin = createClickHouse(rt.config, rt.log, 'admin');
    rt.log.info({ clickhouse: describeClickHouse(rt.config) }, 'warehouse');
    await migrate(admin, { database: rt.config.clickhouse.database, logsTtlDays: rt.config.clickhouse.logs_ttl_days, metricsTtlDays: rt.config.clickhouse.metrics_ttl_days, systemLogsTtlDays: systemLogsTtlDays(rt.config), log: rt.log });
    await admin.close();
    const { bus } = await selectBus(rt.config, rt.log, 'kafka-only', rt.registry);
    rt.onShutdown('bus', () => bus.close());
    await publishOwnMetrics(rt, bus);
    const clickhouse = createClickHouse(rt.config, rt.log, 'ingest');
    rt.onShutdown('clickhouse', () => clickhouse.close());
    const writer = await startWarehouseWriter({ bus, clickhouse, config: rt.config, log: rt.log, registry: rt.registry });
    rt.onShutdown('warehouse', () => writer.stop());
    const realtime = rt.config.pipeline.realtime.enabled ? await startRealtime({ bus, config: rt.config, log: rt.log, registry: rt.registry }) : undefined;
    if (realtime) rt.onShutdown('realtime', () => realtime.stop());
    const server = await startServiceServer({
      name: 'pipeline',
      listen: rt.config.pipeline.listen,
      registry: rt.registry,
      auth: new Authenticator(rt.config.auth),
      log: rt.log,
      ready: () => realtime?.ready() ?? true,
      ...(realtime ? { mount: (app: import('express').Express) => app.use(realtime.routes) } : {}),
    });
    rt.onShutdown('http', () => server.close());
    rt.log.info({ address: server.address }, 'pipeline running');
  }, rt.signal);
  await rt.stopped;
}
