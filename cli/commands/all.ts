import { resolve } from 'node:path';
import { startCollector } from '../../collector/collector.js';
import { defaultSelfInputs } from '../../collector/default-inputs.js';
import { describeBusPlan, selectBus } from '../../core/bus/select-bus.js';
import { createClickHouse, describeClickHouse } from '../../core/clickhouse/client.js';
import { openSqlConsole } from '../../core/clickhouse/sql-console.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { systemLogsTtlDays } from '../../core/clickhouse/system-log-ttl.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import { startDashboard } from '../../dashboard/server/dashboard-server.js';
import { ClickHouseLogSearch } from '../../pipeline/warehouse/log-search.js';
import { startWarehouseWriter } from '../../pipeline/warehouse/writer.js';
import { startRealtime, type RealtimeService } from '../../pipeline/realtime/realtime-service.js';
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
import { startAlerting } from '../../alerts/alerting.js';
import { runOrExit, startRuntime, type CommonOptions, publishOwnMetrics } from '../runtime.js';

const ownLogFile = (dataDir: string) => resolve(dataDir, 'logs', 'pharos.log');

/**
 * `pharos all` (what `npm start` runs): every component in one process, the embedded ClickHouse
 * engine under data_dir. The dashboard starts first so a newcomer sees it while the bus comes up.
 */
export async function runAll(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('all', opts, (c) => ownLogFile(c.data_dir));
  let pipelineReady = false;
  await runOrExit(rt.log, async () => {
    const { config, log, registry } = rt;
    log.info({ clickhouse: describeClickHouse(config), data_dir: resolve(config.data_dir) }, 'starting pharos (all components in one process)');
    log.info(`bus plan: ${describeBusPlan(config, 'all-in-one')}`);
    const admin = createClickHouse(config, log, 'admin');
    await migrate(admin, { database: config.clickhouse.database, logsTtlDays: config.clickhouse.logs_ttl_days, metricsTtlDays: config.clickhouse.metrics_ttl_days, systemLogsTtlDays: systemLogsTtlDays(config), log });
    const query = createClickHouse(config, log, 'query');
    const ingest = createClickHouse(config, log, 'ingest');
    rt.onShutdown('clickhouse', async () => {
      await Promise.allSettled([admin.close(), query.close(), ingest.close()]);
    });
    const sqlConsole = openSqlConsole(config, log, query);
    rt.onShutdown('sql console', () => sqlConsole.close());

    // The dashboard is up before the bus: the real-time and alerting routes are added to `late`
    // once they exist, and until then their paths answer 503.
    let lateReady = false;
    let realtime: RealtimeService | undefined;
    const late = Router();
    const realtimeRoutes = Router();
    realtimeRoutes.use((req, res, next) => {
      if (!lateReady && /^\/api\/v[12]\//.test(req.path)) {
        res.status(503).json({ status: 'error', errorType: 'unavailable', error: 'the real-time store and alerting are starting' });
        return;
      }
      next();
    });
    realtimeRoutes.use(deliveryRoutes({ report: deliveryReporter(query, config.clickhouse.database) }));
    realtimeRoutes.use(logsExtraRoutes({ search: new ClickHouseLogSearch(query, config.clickhouse.database) }));
    realtimeRoutes.use(alertHistoryRoutes({ read: clickHouseAlertHistory(query, config.clickhouse.database) }));
    realtimeRoutes.use(dashboardsRoutes({ store: new ClickHouseDashboardStore(query, config.clickhouse.database), defaults: loadDefaultDashboards() }));
    realtimeRoutes.use(exportRoutes({ search: new ClickHouseLogSearch(query, config.clickhouse.database) }));
    realtimeRoutes.use(
      metricsRangeRoutes({
        realtime: () => (realtime ? { querier: realtime.ingest.querier, windowMs: config.pipeline.realtime.window_ms } : undefined),
        warehouse: new MetricRangeReader(query, config.clickhouse.database),
        timeoutMs: config.pipeline.realtime.query_timeout_ms,
      }),
    );
    realtimeRoutes.use(late);
    const dashboard = await startDashboard({
      extraRoutes: realtimeRoutes,
      config,
      log,
      registry,
      auth: new Authenticator(config.auth),
      logs: new ClickHouseLogSearch(query, config.clickhouse.database),
      sql: sqlConsole.console,
      ready: () => pipelineReady && (realtime?.ready() ?? true),
      ...(config.dashboard.static_dir ? { staticDir: config.dashboard.static_dir } : {}),
    });
    rt.onShutdown('dashboard', () => dashboard.close());
    if (rt.signal.aborted) return;
    log.info({ address: dashboard.address }, `dashboard on http://${dashboard.address}/`);

    const selected = await selectBus(config, log, 'all-in-one', registry);
    if (selected.localBroker) {
      const broker = selected.localBroker;
      rt.onShutdown('local kafka', () => broker.stop());
    }
    rt.onShutdown('bus', () => selected.bus.close());
    await publishOwnMetrics(rt, selected.bus);
    if (rt.signal.aborted) return;
    // The live tail reads the bus itself: a line reaches viewers before the warehouse has it.
    const liveFeed = await dashboard.live.attachBus(selected.bus, { logs: config.kafka.topics.logs, alerts: config.kafka.topics.alerts });
    rt.onShutdown('live tail', () => liveFeed.stop());

    const writer = await startWarehouseWriter({ bus: selected.bus, clickhouse: ingest, config, log, registry });
    rt.onShutdown('warehouse', () => writer.stop());
    if (config.pipeline.realtime.enabled) {
      const store = await startRealtime({ bus: selected.bus, config, log, registry });
      rt.onShutdown('realtime', () => store.stop());
      realtime = store;
      late.use(store.routes);
      const alerting = await startAlerting({ config, bus: selected.bus, head: store.head, log, registry });
      // A threshold crossing is seen when its sample arrives (debounced per group), not an interval later.
      dashboard.live.attachHead(store.head);
      store.onAppended = () => {
        void alerting.evaluator.evaluateNow();
        dashboard.live.seriesAppended();
      };
      rt.onShutdown('alerts', () => alerting.stop());
      late.use(alerting.routes);
    }
    lateReady = true;


    const extraFiles = config.collector.self_logs ? defaultSelfInputs(config, config.log.file ?? ownLogFile(config.data_dir)) : [];
    const collector = await startCollector({ config, bus: selected.bus, log, registry, extraFiles });
    rt.onShutdown('collector', () => collector.stop());
    // The collector's own port (collector.listen, 4318): OTLP/HTTP and JSON-lines push, probes, /metrics.
    const collectorAuth = new Authenticator(config.auth);
    const collectorServer = await startServiceServer({ name: 'collector', listen: config.collector.listen, registry, auth: collectorAuth, log, ready: () => collector.ready(), mountPublic: (app) => collector.mountReceivers?.(app, collectorAuth) });
    rt.onShutdown('collector http', () => collectorServer.close());
    if (rt.signal.aborted) return;
    pipelineReady = true;
    log.info(
      { files: [...config.collector.files.flatMap((f) => f.include), ...extraFiles.flatMap((f) => f.include)].length, bus: selected.bus.kind },
      `pharos is running: open http://${dashboard.address}/`,
    );
  }, rt.signal);
  await rt.stopped;
}
