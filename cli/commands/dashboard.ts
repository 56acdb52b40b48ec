import { createClickHouse, describeClickHouse } from '../../core/clickhouse/client.js';
import { openSqlConsole } from '../../core/clickhouse/sql-console.js';
import { Authenticator } from '../../core/http/auth.js';
import { startDashboard } from '../../dashboard/server/dashboard-server.js';
import { ClickHouseLogSearch } from '../../pipeline/warehouse/log-search.js';
import { runOrExit, startRuntime, type CommonOptions } from '../runtime.js';
import { Router } from 'express';
import { deliveryRoutes } from '../../dashboard/server/routes/delivery.js';
import { logsExtraRoutes } from '../../dashboard/server/routes/logs-extra.js';
import { deliveryReporter } from '../../pipeline/warehouse/delivery.js';
import { alertHistoryRoutes, clickHouseAlertHistory } from '../../dashboard/server/routes/alert-history.js';
import { dashboardsRoutes } from '../../dashboard/server/routes/dashboards.js';
import { ClickHouseDashboardStore } from '../../dashboard/server/routes/dashboards-store.js';
import { exportRoutes } from '../../dashboard/server/routes/export.js';
import { metricsRangeRoutes } from '../../dashboard/server/routes/metrics-range.js';
import { loadDefaultDashboards } from '../../dashboard/defaults/default-dashboards.js';
import { MetricRangeReader } from '../../pipeline/warehouse/metric-range.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { createKafka } from '../../core/kafka/client.js';

/** `pharos dashboard`: the web app and its API, reading the warehouse. */
export async function runDashboard(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('dashboard', opts);
  await runOrExit(rt.log, async () => {
    if (!rt.config.clickhouse.url) {
      rt.log.warn('dashboard alone on the embedded chDB engine reads the data of this process only: set clickhouse.url to share a ClickHouse server with the pipeline');
    }
    const clickhouse = createClickHouse(rt.config, rt.log, 'query');
    rt.onShutdown('clickhouse', () => clickhouse.close());
    const sqlConsole = openSqlConsole(rt.config, rt.log, clickhouse);
    rt.onShutdown('sql console', () => sqlConsole.close());
    rt.log.info({ clickhouse: describeClickHouse(rt.config) }, 'warehouse');
    const warehouseRoutes = Router();
    warehouseRoutes.use(deliveryRoutes({ report: deliveryReporter(clickhouse, rt.config.clickhouse.database) }));
    warehouseRoutes.use(logsExtraRoutes({ search: new ClickHouseLogSearch(clickhouse, rt.config.clickhouse.database) }));
    warehouseRoutes.use(alertHistoryRoutes({ read: clickHouseAlertHistory(clickhouse, rt.config.clickhouse.database) }));
    warehouseRoutes.use(dashboardsRoutes({ store: new ClickHouseDashboardStore(clickhouse, rt.config.clickhouse.database), defaults: loadDefaultDashboards() }));
    warehouseRoutes.use(exportRoutes({ search: new ClickHouseLogSearch(clickhouse, rt.config.clickhouse.database) }));
    // Alone, the dashboard has no real-time store: every range is read from the warehouse.
    warehouseRoutes.use(metricsRangeRoutes({ warehouse: new MetricRangeReader(clickhouse, rt.config.clickhouse.database) }));
    const dashboard = await startDashboard({
      extraRoutes: warehouseRoutes,
      config: rt.config,
      log: rt.log,
      registry: rt.registry,
      auth: new Authenticator(rt.config.auth),
      logs: new ClickHouseLogSearch(clickhouse, rt.config.clickhouse.database),
      sql: sqlConsole.console,
      ready: () => true,
      ...(rt.config.dashboard.static_dir ? { staticDir: rt.config.dashboard.static_dir } : {}),
    });
    rt.onShutdown('dashboard', () => dashboard.close());
    // With brokers, the live tail and alert stream read the bus; without, the tail polls the warehouse.
    const { brokers } = rt.config.kafka;
    if (brokers.length > 0) {
      // Not selectBus: the dashboard only reads, so it neither creates topics nor starts a local broker.
      // The registry gives its live-tail consumer the same lag gauge as the pipeline's.
      const bus = new KafkaBus(createKafka(rt.config.kafka, rt.log, brokers), brokers, rt.log, rt.registry);
      rt.onShutdown('bus', () => bus.close());
      const liveFeed = await dashboard.live.attachBus(bus, { logs: rt.config.kafka.topics.logs, alerts: rt.config.kafka.topics.alerts });
      rt.onShutdown('live tail', () => liveFeed.stop());
    } else {
      rt.log.info('no kafka.brokers configured: the live tail polls the warehouse (about a second behind)');
    }
    rt.log.info({ address: dashboard.address }, `dashboard on http://${dashboard.address}/`);
  }, rt.signal);
  await rt.stopped;
}
