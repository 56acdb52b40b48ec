import { createClickHouse, describeClickHouse } from '../../core/clickhouse/client.js';
import { Authenticator } from '../../core/http/auth.js';
import { startDashboard } from '../../dashboard/server/dashboard-server.js';
import { ClickHouseLogSearch } from '../../pipeline/warehouse/log-search.js';
import { runOrExit, startRuntime, type CommonOptions } from '../runtime.js';
import { Router } from 'express';
import { deliveryRoutes } from '../../dashboard/server/routes/delivery.js';
import { logsExtraRoutes } from '../../dashboard/server/routes/logs-extra.js';
import { deliveryReporter } from '../../pipeline/warehouse/delivery.js';

/** `pharos dashboard`: the web app and its API, reading the warehouse. */
export async function runDashboard(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('dashboard', opts);
  await runOrExit(rt.log, async () => {
    if (!rt.config.clickhouse.url) {
      rt.log.warn('dashboard alone on the embedded chDB engine reads the data of this process only: set clickhouse.url to share a ClickHouse server with the pipeline');
    }
    const clickhouse = createClickHouse(rt.config, rt.log, 'query');
    rt.onShutdown('clickhouse', () => clickhouse.close());
    rt.log.info({ clickhouse: describeClickHouse(rt.config) }, 'warehouse');
    const warehouseRoutes = Router();
    warehouseRoutes.use(deliveryRoutes({ report: deliveryReporter(clickhouse, rt.config.clickhouse.database) }));
    warehouseRoutes.use(logsExtraRoutes({ search: new ClickHouseLogSearch(clickhouse, rt.config.clickhouse.database) }));
    const dashboard = await startDashboard({
      extraRoutes: warehouseRoutes,
      config: rt.config,
      log: rt.log,
      registry: rt.registry,
      auth: new Authenticator(rt.config.auth),
      logs: new ClickHouseLogSearch(clickhouse, rt.config.clickhouse.database),
      ready: () => true,
      ...(rt.config.dashboard.static_dir ? { staticDir: rt.config.dashboard.static_dir } : {}),
    });
    rt.onShutdown('dashboard', () => dashboard.close());
    rt.log.info({ address: dashboard.address }, `dashboard on http://${dashboard.address}/`);
  }, rt.signal);
  await rt.stopped;
}
