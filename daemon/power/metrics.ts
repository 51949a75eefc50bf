// Power metrics on the process registry: one counter per outcome and a latency histogram, by
// driver and action, so a BMC that starts failing or slowing shows on /metrics.
// Redfish sessions show too: a login count that climbs with every call means sessions are not
// being kept (a BMC that keeps forgetting them, or a bug), which real BMCs log and cap.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { redfishSessions, type RedfishSessions } from './redfish-session.js';

export interface PowerMetrics {
  observe(driver: string, action: string, outcome: 'ok' | 'failed' | 'retry' | 'unanswered' | 'cancelled', seconds?: number): void;
}

export function createPowerMetrics(registry: Registry, sessions: RedfishSessions = redfishSessions): PowerMetrics {
  const calls = new Counter({
    name: 'rackhand_power_operations_total',
    help: 'Power operations by driver, action and outcome (retry: one transient failure retried; unanswered: a change whose answer was lost, not re-sent; cancelled: the caller went away)',
    labelNames: ['driver', 'action', 'outcome'], registers: [registry],
  });
  new Gauge({
    name: 'rackhand_redfish_sessions_open', help: 'Redfish sessions Rackhand holds (one per BMC and user while in use)', registers: [registry],
    collect() { this.set(sessions.open); },
  });
  new Counter({
    name: 'rackhand_redfish_logins_total', help: 'Redfish session logins (a new one after the BMC dropped a session, or after 60 s idle)', registers: [registry],
    collect() { this.reset(); this.inc(sessions.counters.logins); },
  });
  const seconds = new Histogram({
    name: 'rackhand_power_operation_seconds', help: 'Power operation time, queueing excluded, polling included',
    labelNames: ['driver', 'action'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [registry],
  });
  return {
    observe(driver, action, outcome, s) {
      calls.inc({ driver, action, outcome });
      if (s !== undefined && outcome !== 'retry') seconds.observe({ driver, action }, s);
    },
  };
}
