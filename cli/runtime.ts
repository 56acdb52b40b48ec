/**
 * What every `pharos` subcommand does around its component: load and validate the config (a
 * config error stops the process naming the key), build the root logger and the process's one
 * metrics registry, and stop everything in reverse order on SIGINT/SIGTERM.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../core/config/load.js';
import type { PharosConfig } from '../core/config/schema.js';
import { createLogger, type Logger } from '../core/log.js';
import { createRegistry, type Registry } from '../core/telemetry/registry.js';

export interface Runtime {
  config: PharosConfig;
  log: Logger;
  registry: Registry;
  /** Registers a closer; closers run in reverse order at shutdown. */
  onShutdown(name: string, close: () => Promise<void>): void;
  /** Resolves when a signal asked the process to stop and every closer ran. */
  stopped: Promise<void>;
  /** Aborted as soon as a signal asks the process to stop: a startup still under way gives up. */
  signal: AbortSignal;
}

export interface CommonOptions {
  config?: string;
}

const SHUTDOWN_TIMEOUT_MS = 15_000;

export function loadConfigOrExit(file: string | undefined): PharosConfig {
  try {
    return loadConfig({ file });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pharos: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

export function startRuntime(component: string, opts: CommonOptions, logFileDefault?: (c: PharosConfig) => string): Runtime {
  const config = loadConfigOrExit(opts.config);
  const logFile = config.log.file ?? logFileDefault?.(config);
  const log = createLogger({ level: config.log.level, file: logFile ? resolve(logFile) : undefined }).child({ service: `pharos-${component}` });
  const registry = createRegistry({ component, host: config.node_name });
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping = false;
  const abort = new AbortController();
  const shutdown = async (signal: string) => {
    abort.abort();
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeout_ms: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out: exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    for (const c of closers.reverse()) {
      try {
        await c.close();
      } catch (err) {
        log.error({ err, part: c.name }, 'error while stopping');
      }
    }
    log.info('stopped');
    resolveStopped();
    // A library handle left open must not keep a stopped process alive; unref'd, so a clean exit is not delayed.
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  const onShutdown = (name: string, close: () => Promise<void>) => {
    // Something that finished starting after shutdown began is stopped at once.
    if (stopping) void close().catch((err) => log.error({ err, part: name }, 'error while stopping'));
    else closers.push({ name, close });
  };
  return { config, log, registry, onShutdown, stopped, signal: abort.signal };
}

/** Runs a command body, turning a startup failure into one clear line and exit code 1. */
export async function runOrExit(log: Logger | undefined, body: () => Promise<void>, signal?: AbortSignal): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (signal?.aborted) return;
    const message = err instanceof Error ? err.message : String(err);
    if (log) log.fatal({ err }, `startup failed: ${message}`);
    process.stderr.write(`pharos: ${message}\n`);
    process.exit(1);
  }
}

/**
 * Starts publishing this process's own metrics to the metrics topic (`self_metrics`), stopped
 * before the bus closes. Call right after the bus's own shutdown was registered.
 */
export async function publishOwnMetrics(rt: Runtime, bus: import('../core/bus/bus.js').Bus): Promise<void> {
  if (!rt.config.self_metrics.enabled) return;
  const { startSelfPublisher } = await import('../core/telemetry/self-publisher.js');
  const publisher = startSelfPublisher({ bus, topic: rt.config.kafka.topics.metrics, registry: rt.registry, instance: rt.config.node_name, intervalMs: rt.config.self_metrics.interval_ms, log: rt.log });
  rt.onShutdown('self-metrics', () => publisher.stop());
}
