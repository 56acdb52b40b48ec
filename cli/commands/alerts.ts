import { loadRules } from '../../alerts/alerts-service.js';
import { Authenticator, requireRole } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import { runOrExit, startRuntime, type CommonOptions } from '../runtime.js';

/** `pharos alerts`: loads the rule files and serves them; evaluation arrives with the alerting issue. */
export async function runAlerts(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('alerts', opts);
  await runOrExit(rt.log, async () => {
    const rules = loadRules(rt.config, rt.log);
    const server = await startServiceServer({
      name: 'alerts',
      listen: rt.config.alerts.listen,
      registry: rt.registry,
      auth: new Authenticator(rt.config.auth),
      log: rt.log,
      ready: () => rules.errors.length === 0,
      mount: (app) => {
        app.get('/api/v1/rules', requireRole('viewer'), (_req, res) => {
          res.json({ status: 'success', data: { groups: rules.files.flatMap((f) => f.rules.groups.map((g) => ({ ...g, file: f.file }))) } });
        });
      },
    });
    rt.onShutdown('http', () => server.close());
    rt.log.info({ address: server.address }, 'alerts running');
  }, rt.signal);
  await rt.stopped;
}
