import { Router, type NextFunction, type Request, type Response } from 'express';
import { startAlerting, type Alerting } from '../../alerts/alerting.js';
import { LeaderElection } from '../../alerts/leader/leader-election.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { selectBus } from '../../core/bus/select-bus.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { migrate } from '../../core/clickhouse/migrate.js';
import { systemLogsTtlDays } from '../../core/clickhouse/system-log-ttl.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import { startRealtime } from '../../pipeline/realtime/realtime-service.js';
import { runOrExit, startRuntime, type CommonOptions, publishOwnMetrics } from '../runtime.js';

/**
 * `pharos alerts`: a real-time store of its own (a replica fed from pharos.metrics), the rules
 * evaluated over it, notification, and the alerts API. Needs kafka.brokers. Several may run: they
 * elect one active evaluator through a Kafka consumer group; the others keep their store warm and
 * take over (reading alert state, notification log, silences and escalations back from Kafka)
 * when the active one dies.
 */
export async function runAlerts(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('alerts', opts);
  await runOrExit(rt.log, async () => {
    // alert_events lives in the warehouse: make sure its schema is there (idempotent).
    const admin = createClickHouse(rt.config, rt.log, 'admin');
    await migrate(admin, { database: rt.config.clickhouse.database, logsTtlDays: rt.config.clickhouse.logs_ttl_days, metricsTtlDays: rt.config.clickhouse.metrics_ttl_days, systemLogsTtlDays: systemLogsTtlDays(rt.config), log: rt.log });
    await admin.close();
    const { bus } = await selectBus(rt.config, rt.log, 'kafka-only', rt.registry);
    rt.onShutdown('bus', () => bus.close());
    await publishOwnMetrics(rt, bus);
    const realtime = await startRealtime({ bus, config: rt.config, log: rt.log, registry: rt.registry });
    rt.onShutdown('realtime', () => realtime.stop());

    let alerting: Alerting | undefined;
    const activate = async () => {
      let a: Alerting;
      try {
        a = await startAlerting({ config: rt.config, bus, head: realtime.head, log: rt.log, registry: rt.registry });
      } catch (err) {
        // Holding the active token without evaluating would keep a standby from taking over: leave.
        rt.log.fatal({ err: (err as Error).message }, 'could not become the active evaluator; exiting so a standby takes over');
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM');
        throw err;
      }
      alerting = a;
      // A threshold crossing is seen when its sample arrives (debounced per group), not an interval later.
      realtime.onAppended = () => void a.evaluator.evaluateNow();
      rt.log.info({ rules: a.evaluator.groups().reduce((n, g) => n + g.rules.length, 0) }, 'alerts active: evaluating and notifying');
    };
    const standDown = async () => {
      const a = alerting;
      alerting = undefined;
      realtime.onAppended = undefined;
      await a?.stop();
    };
    // Routes of whichever alerting is active; a standby answers 503 so a load balancer picks the active one.
    const routes = Router();
    routes.use((req: Request, res: Response, next: NextFunction) => {
      if (alerting) return alerting.routes(req, res, next);
      if (/^\/api\/v[12]\/(alerts|rules|silences?|oncall)/.test(req.path)) {
        res.status(503).json({ status: 'error', errorType: 'unavailable', error: 'this alerts instance is on standby' });
        return;
      }
      next();
    });

    if (bus instanceof KafkaBus) {
      const election = new LeaderElection({
        kafka: bus.kafka,
        topic: `${rt.config.kafka.topics.alerts}.leader`,
        groupId: rt.config.alerts.leader_group,
        sessionTimeoutMs: rt.config.alerts.leader_session_timeout_ms,
        heartbeatIntervalMs: Math.max(500, Math.floor(rt.config.alerts.leader_session_timeout_ms / 6)),
        log: rt.log,
        onElected: activate,
        onDemoted: standDown,
      });
      rt.onShutdown('alerts', () => election.stop());
      await election.start();
    } else {
      rt.onShutdown('alerts', standDown);
      await activate();
    }
    const server = await startServiceServer({
      name: 'alerts',
      listen: rt.config.alerts.listen,
      registry: rt.registry,
      auth: new Authenticator(rt.config.auth),
      log: rt.log,
      ready: () => realtime.ready(),
      mount: (app) => {
        app.use(routes);
        app.use(realtime.routes);
      },
    });
    rt.onShutdown('http', () => server.close());
    rt.log.info({ address: server.address }, 'alerts running');
  }, rt.signal);
  await rt.stopped;
}
