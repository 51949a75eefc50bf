// What the operator sees of a store outage: one log line when it starts, one when it ends (with its
// length), and the gauge rackhand_store_available (1 up, 0 away), however many requests were
// refused meanwhile (those are counted in rackhand_store_refused_requests_total, not logged).
import { Gauge, type Registry } from 'prom-client';
import type { StoreAvailabilityView } from './core/store/availability.js';
import type { Logger } from './log.js';

export function watchStore(view: StoreAvailabilityView | undefined, registry: Registry, logger: Logger): void {
  new Gauge({
    name: 'rackhand_store_available', help: 'Whether the store (database) answers: 1 yes, 0 no', registers: [registry],
    collect() { this.set(view?.available === false ? 0 : 1); },
  });
  view?.listen({
    down(outage) {
      logger.error({ store_error: outage.reason },
        'the store is unavailable: the API answers 503, DHCP renews only leases already durable and takes no new ones; reconnecting with backoff');
    },
    up(_outage, ms) {
      logger.warn({ outage_ms: ms }, `the store is available again after ${(ms / 1000).toFixed(1)} s`);
    },
  });
}
