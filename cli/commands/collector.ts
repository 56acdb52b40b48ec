import { startCollector } from '../../collector/collector.js';
import { Authenticator } from '../../core/http/auth.js';
import { startServiceServer } from '../../core/http/service-server.js';
import { selectBus } from '../../core/bus/select-bus.js';
import { runOrExit, startRuntime, type CommonOptions, publishOwnMetrics } from '../runtime.js';

/** `pharos collector`: the host agent; needs kafka.brokers. */
export async function runCollector(opts: CommonOptions): Promise<void> {
  const rt = startRuntime('collector', opts);
  await runOrExit(rt.log, async () => {
    const { bus } = await selectBus(rt.config, rt.log, 'kafka-only', rt.registry);
    rt.onShutdown('bus', () => bus.close());
    await publishOwnMetrics(rt, bus);
    const collector = await startCollector({ config: rt.config, bus, log: rt.log, registry: rt.registry });
    rt.onShutdown('collector', () => collector.stop());
    const auth = new Authenticator(rt.config.auth);
    const server = await startServiceServer({
      name: 'collector',
      listen: rt.config.collector.listen,
      registry: rt.registry,
      auth,
      log: rt.log,
      ready: () => collector.ready(),
      // Push receivers (OTLP/HTTP, JSON lines): they read their own bodies, behind the same auth.
      mountPublic: (app) => collector.mountReceivers?.(app, auth),
    });
    rt.onShutdown('http', () => server.close());
    rt.log.info({ address: server.address }, 'collector running');
  }, rt.signal);
  await rt.stopped;
}
