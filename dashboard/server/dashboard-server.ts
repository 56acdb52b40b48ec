/**
 * The dashboard process: the REST API under /api, the live WebSocket at /api/live, and the
 * built React app at every other path, on the common service server (probes, /metrics, auth).
 */
import type { SqlConsole } from '../../core/clickhouse/sql-console.js';
import type { PharosConfig } from '../../core/config/schema.js';
import type { Authenticator } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import type { Logger } from '../../core/log.js';
import type { LogSearch } from '../../core/model/log-search.js';
import type { Registry } from '../../core/telemetry/registry.js';
import { attachLiveSocket, type LiveHub } from './live/live-socket.js';
import { logsRoutes } from './routes/logs.js';
import { selfMetricsRoutes } from './routes/self-metrics.js';
import { sqlRoutes } from './routes/sql.js';
import { whoamiRoutes } from './routes/whoami.js';
import { defaultStaticDir, mountStaticApp } from './static-app.js';

export interface DashboardOptions {
  config: PharosConfig;
  log: Logger;
  registry: Registry;
  auth: Authenticator;
  logs: LogSearch;
  ready: () => boolean;
  /** The built web app; default `dashboard.static_dir`, else `dashboard/web/dist` of this checkout. */
  staticDir?: string;
  /** How often the live channel asks LogSearch for new rows. */
  livePollMs?: number;
  /** More authenticated routes (under `pharos all`: the real-time store's Prometheus API). */
  extraRoutes?: import('express').Router;
  /** The analysts' SQL console (`/api/sql`); absent: those paths answer 404. */
  sql?: SqlConsole;
}

export interface Dashboard {
  /** `host:port` actually bound. */
  address: string;
  /** The live WebSocket hub: the process attaches its bus, real-time head and alerts to it. */
  live: LiveHub;
  close(): Promise<void>;
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const log = opts.log.child({ component_kind: 'service', component_id: 'dashboard' });
  const staticDir = opts.staticDir ?? opts.config.dashboard.static_dir ?? defaultStaticDir();
  let live: LiveHub | undefined;

  const service = await startServiceServer({
    name: 'dashboard',
    listen: opts.config.dashboard.listen,
    registry: opts.registry,
    auth: opts.auth,
    log,
    ready: opts.ready,
    mountPublic: (app) => mountStaticApp(app, staticDir),
    mount: (app, server) => {
      app.use(whoamiRoutes());
      app.use(logsRoutes({ logs: opts.logs }));
      app.use(selfMetricsRoutes({ registry: opts.registry }));
      if (opts.sql) app.use(sqlRoutes({ sql: opts.sql }));
      if (opts.extraRoutes) app.use(opts.extraRoutes);
      live = attachLiveSocket({ server, auth: opts.auth, logs: opts.logs, log, registry: opts.registry, config: opts.config.dashboard.live, ...(opts.livePollMs ? { pollMs: opts.livePollMs } : {}) });
    },
  });
  log.info({ address: service.address, static_dir: staticDir }, 'dashboard listening');
  if (!live) {
    await service.close();
    throw new Error('the service server did not mount the dashboard routes');
  }
  const liveHub = live;

  return {
    address: service.address,
    live: liveHub,
    async close() {
      // WebSockets first: upgraded sockets are no longer the HTTP server's to close.
      await live?.close();
      await service.close();
    },
  };
}
