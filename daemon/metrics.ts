// The Prometheus registry every part registers its counters on; served at /metrics.
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(opts: { defaults?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'rackhand_' });
  return registry;
}

const REFUSED = 'rackhand_store_refused_requests_total';

/**
 * Requests refused because the store could not be reached, by the server that refused them (http:
 * a 503; dhcp: a packet left unanswered). Registered by whichever part asks first.
 */
export function storeRefusedCounter(registry: Registry): Counter<'server'> {
  return (registry.getSingleMetric(REFUSED) as Counter<'server'> | undefined)
    ?? new Counter({ name: REFUSED, help: 'Requests refused because the store was unavailable, by server (http, dhcp)', labelNames: ['server'], registers: [registry] });
}
