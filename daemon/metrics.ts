// The Prometheus registry every part registers its counters on; served at /metrics.
import { Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(opts: { defaults?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'rackhand_' });
  return registry;
}
