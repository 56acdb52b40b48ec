import { startAlerting } from '../../alerts/alerting.js';
import { selectBus } from '../../core/bus/select-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import { startRealtime } from '../../pipeline/realtime/realtime-service.js';
import { runOrExit, startRuntime, type CommonOptions } from '../runtime.js';

/**
 * `pharos alerts`: a real-time store of its own (a replica fed from pharos.metrics), the rules
 * evaluated over it, notification, and the alerts API. Needs kafka.brokers.
 */
export async function runAlerts(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('alerts', opts);
  await runOrExit(rt.log, async () => {
    // alert_events lives in the warehouse: make sure its schema is there (idempotent).
    const admin = createClickHouse(rt.config, rt.log, 'admin');
    await migrate(admin, { database: rt.config.clickhouse.database, logsTtlDays: rt.config.clickhouse.logs_ttl_days, metricsTtlDays: rt.config.clickhouse.metrics_ttl_days, log: rt.log });
    await admin.close();
    const { bus } = await selectBus(rt.config, rt.log, 'kafka-only');
    rt.onShutdown('bus', () => bus.close());
    const realtime = await startRealtime({ bus, config: rt.config, log: rt.log, registry: rt.registry });
    rt.onShutdown('realtime', () => realtime.stop());
    const alerting = await startAlerting({ config: rt.config, bus, head: realtime.head, log: rt.log, registry: rt.registry });
    // A threshold crossing is seen when its sample arrives (debounced per group), not an interval later.
    realtime.onAppended = () => void alerting.evaluator.evaluateNow();
    rt.onShutdown('alerts', () => alerting.stop());
    const server = await startServiceServer({
      name: 'alerts',
      listen: rt.config.alerts.listen,
      registry: rt.registry,
      auth: new Authenticator(rt.config.auth),
      log: rt.log,
      ready: () => realtime.ready(),
      mount: (app) => {
        app.use(alerting.routes);
        app.use(realtime.routes);
      },
    });
    rt.onShutdown('http', () => server.close());
    rt.log.info({ address: server.address }, 'alerts running');
  }, rt.signal);
  await rt.stopped;
}
