/**
 * One prom-client Registry per process, passed in (never prom-client's global register, so each
 * test builds its own). Components create metrics through these helpers so names stay uniform.
 */
import client from 'prom-client';

export type Registry = client.Registry;
export const { Counter, Gauge, Histogram, Registry: RegistryClass } = client;

export function createRegistry(defaultLabels: Record<string, string> = {}): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels(defaultLabels);
  client.collectDefaultMetrics({ register: registry, prefix: 'pharos_process_' });
  return registry;
}

/** Returns the metric registered under `name` or creates it: components built twice in a process share series. */
export function counter<L extends string>(registry: client.Registry, name: string, help: string, labelNames: readonly L[] = []): client.Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Counter<L>;
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  collect?: (this: client.Gauge<L>) => void | Promise<void>,
): client.Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Gauge<L>;
  return new client.Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) });
}

export function histogram<L extends string>(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets: number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
): client.Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Histogram<L>;
  return new client.Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
