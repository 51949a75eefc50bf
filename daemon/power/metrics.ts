// Power metrics on the process registry: one counter per outcome and a latency histogram, by
// driver and action, so a BMC that starts failing or slowing shows on /metrics.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface PowerMetrics {
  observe(driver: string, action: string, outcome: 'ok' | 'failed' | 'retry' | 'cancelled', seconds?: number): void;
}

export function createPowerMetrics(registry: Registry): PowerMetrics {
  const calls = new Counter({
    name: 'rackhand_power_operations_total', help: 'Power operations by driver, action and outcome (retry: one transient failure retried; cancelled: the caller went away)',
    labelNames: ['driver', 'action', 'outcome'], registers: [registry],
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
