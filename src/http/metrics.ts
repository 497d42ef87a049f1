import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRIC_PREFIX = 'ctrelay_';

/**
 * A registry per process role (capture, apply) rather than prom-client's global one, so tests can
 * run several in one process without "metric already registered" clashes. Holds the default
 * process metrics (CPU, memory, event loop lag, GC) under the `ctrelay_` prefix.
 */
export function createMetricsRegistry(labels?: Record<string, string>): Registry {
  const registry = new Registry();
  if (labels) registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
