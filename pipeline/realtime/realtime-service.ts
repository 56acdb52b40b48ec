/**
 * The real-time store as a service: the TSDB head fed from the metrics topic, and the routes
 * that read it (the Prometheus query API and `/api/v1/status/tsdb`). Whoever mounts the routes
 * puts them behind the auth layer; readiness waits until the replay of the window caught up.
 */
import { Router } from 'express';
import type { Bus } from '../../core/bus/bus.js';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import type { PharosConfig } from '../../core/config/schema.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/telemetry/registry.js';
import { promApiRouter, tsdbStatusRouter } from './api/prom-api.js';
import { startRealtimeIngest, type RealtimeIngest } from './ingest.js';
import { kafkaOffsets } from './kafka-offsets.js';
import { Head } from './tsdb/index.js';

export interface RealtimeService {
  head: Head;
  /** Set by alerting: called whenever new samples were appended. */
  onAppended: ((count: number) => void) | undefined;
  ingest: RealtimeIngest;
  /** Mount behind `requireRole('viewer')`. */
  routes: Router;
  ready(): boolean;
  stop(): Promise<void>;
}

export async function startRealtime(opts: { bus: Bus; config: PharosConfig; log: Logger; registry: Registry }): Promise<RealtimeService> {
  const rc = opts.config.pipeline.realtime;
  const log = opts.log.child({ component_kind: 'service', component_id: 'realtime' });
  const head = new Head({
    windowMs: rc.window_ms,
    outOfOrderToleranceMs: rc.out_of_order_tolerance_ms,
    ...(rc.max_series_per_metric > 0 ? { maxSeriesPerMetric: rc.max_series_per_metric } : {}),
  });
  let service!: RealtimeService;
  const ingest = await startRealtimeIngest({
    onAppended: (n) => service.onAppended?.(n),
    bus: opts.bus,
    head,
    topic: opts.config.kafka.topics.metrics,
    node: opts.config.node_name,
    log,
    registry: opts.registry,
    ...(opts.bus instanceof KafkaBus ? { offsets: kafkaOffsets(opts.bus.kafka, opts.log) } : {}),
  });
  const routes = Router();
  routes.use(tsdbStatusRouter(head));
  routes.use(promApiRouter({ querier: () => ingest.querier, timeoutMs: rc.query_timeout_ms, maxSamples: rc.max_samples }));
  service = {
    head,
    onAppended: undefined,
    ingest,
    routes,
    ready: () => ingest.caughtUp(),
    stop: () => ingest.stop(),
  };
  return service;
}
